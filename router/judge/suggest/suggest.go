package suggest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// Suggestion is one judged prompt and the intent the judge chose for it.
type Suggestion struct {
	ID     string `json:"id"`
	Intent string `json:"intent"`
	Text   string `json:"text"`
	// Count is how many times the prompt was judged to this intent.
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// Store keeps suggestions.
type Store interface {
	// Add records that text was judged to intent at the time at: a new
	// suggestion, or one more sighting of it. Past limit suggestions the
	// least recently seen are dropped.
	Add(intent, text string, at time.Time, limit int) error
	// List returns the suggestions, most often seen first (then the most
	// recently seen).
	List() ([]Suggestion, error)
	Get(id string) (Suggestion, error)
	// Remove drops a suggestion (accepted or dismissed).
	Remove(id string) error
	Close() error
}

// ErrNotFound is returned for an unknown suggestion id.
var ErrNotFound = errors.New("no such suggestion")

// MaxText bounds a suggestion's text: a longer prompt is not kept (it
// would not make a useful utterance).
const MaxText = 2000

// ID names a suggestion by its intent and text, so that every replica
// gives the same prompt the same id.
func ID(intent, text string) string {
	h := sha256.Sum256([]byte(intent + "\x00" + text))
	return "S" + hex.EncodeToString(h[:10])
}

// less orders List: most seen first, then the most recent.
func less(a, b Suggestion) int {
	switch {
	case a.Count != b.Count:
		if a.Count > b.Count {
			return -1
		}
		return 1
	case !a.LastSeen.Equal(b.LastSeen):
		if a.LastSeen.After(b.LastSeen) {
			return -1
		}
		return 1
	}
	if a.ID < b.ID {
		return -1
	}
	return 1
}
