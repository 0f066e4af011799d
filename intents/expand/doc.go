// Package expand asks a model for paraphrases of each intent's utterances,
// for a person to review before they join the intents: semroute intents
// expand writes them to a labeled file, and nothing is merged by itself.
// It sits beside the data path; its output reaches the intents through a
// person, via --examples or the config. The intent's utterances go into
// the prompt as data, JSON-encoded between delimiter lines, and an answer
// counts only when it is a JSON array of strings; each string is then
// checked on its own.
package expand
