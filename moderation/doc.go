// Package moderation checks prompts before routing and answers after the
// model: PII (emails, phone numbers, Luhn-checked cards, checksummed IBANs,
// US SSNs, IP addresses, API and private keys) with readable redaction;
// unsafe requests and jailbreak attempts by rules and by a head fitted on
// exemplars of each category (datasets/moderation), with a threshold per
// category (the head is intents/classify's, which the router uses too, so
// this package imports neither router nor index). The service applies a policy per category: block, redact,
// flag or hand off to people (package handoff).
package moderation
