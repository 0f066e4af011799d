// Package eval will score routing offline: accuracy, out-of-scope detection,
// fitted thresholds (written as a router.Thresholds file tied to the
// embedder's fingerprint) and cascade economics. The router already reads
// such files; the fitting and reports are the eval harness's issue.
package eval
