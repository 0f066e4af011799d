// Package embed turns text into vectors: the "embed" step of the data path
// (HTTP → pre-moderation → embed → index search → decision → …).
//
// The root package holds what every embedder shares: the [Embedder]
// interface, the [Fingerprint] that ties anything fitted on vectors to the
// embedder that made them, and the tokenizer and hashed n-gram features that
// both the offline embedder and the router's fitted head use. Providers live
// in sub-packages: [github.com/semroute/semroute/embed/local] (the embedded
// default, GloVe word vectors memory-mapped from a file made by
// `semroute model import`) and [github.com/semroute/semroute/embed/openai]
// (any OpenAI-compatible /v1/embeddings endpoint).
package embed
