// Package classify is the head that both the router and moderation's
// safety detector score with: a softmax over dense vectors and hashed
// n-gram features, fitted by SGD (head.go), blended with a dense logistic
// regression (dense.go) at a weight chosen, with a default threshold, by
// cross-validation on the training texts (calibrate.go). Set groups
// labeled texts by class as both fit on them (trimmed, without repeats or
// texts that have no features), Input is a text's embed path, TopN ranks
// the classes, and Classifier puts them together for a caller that needs
// no exemplar index or nearest-utterance search (moderation). It sits
// under intents, as what a set of labeled utterances is fitted into, and
// imports only embed and internal/simd: moderation imports neither router
// nor index, and nothing under internal/ imports a step of the data path.
package classify
