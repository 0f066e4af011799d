// Package moderation will check prompts before routing and answers after the
// model (PII redaction, unsafe and jailbreak detection, per-category
// actions), and is the target of intents with `target: {moderation: ACTION}`.
// Until it lands, the router only routes such prompts; nothing is filtered.
package moderation
