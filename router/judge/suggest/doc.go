// Package suggest keeps the prompts the routing judge placed (router/judge)
// as suggested utterances of the intents it chose, for a person to accept
// into the intent or dismiss: nothing is added to an intent without that.
// The text of each prompt is kept here by design, as it is the point; it
// is never logged.
//
// A Store is the log in the data directory (Log, one process) or
// PostgreSQL (suggestpg, shared by replicas); both pass suggesttest.
// A store holds at most a bound of suggestions, dropping the least
// recently seen past it.
package suggest
