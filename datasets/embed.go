package datasets

import _ "embed"

// Safety holds the moderation exemplars written for semroute
// (moderation/safety.jsonl): the semantic safety detector's default.
//
//go:embed moderation/safety.jsonl
var Safety []byte
