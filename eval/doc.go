// Package eval scores routing offline: accuracy, out-of-scope detection,
// top-k recall, fitted thresholds (written as a router.Thresholds file tied
// to the embedder's fingerprint), and the routing cascade: what the
// embeddings decide at each threshold, the ceiling of a judge for the rest
// (CascadeTable), and, given a model to call, what the routing judge of
// package router/judge actually does with those rows (RunJudge: accuracy,
// errors, cost and latency, with no cache). It also measures model
// cascades (EvalCascade), RAG retrieval and the moderation detector.
package eval
