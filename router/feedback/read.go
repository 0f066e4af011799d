package feedback

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/semroute/semroute/internal/jsonlog"
)

// ReadFile reads feedback without a store, for `semroute eval --feedback`:
// path is a data directory (its feedback/feedback.log), a feedback log,
// or a saved answer of GET /v1/feedback ({"object":"list","data":[…]}),
// which is how feedback kept in PostgreSQL is read. A log is only read,
// never changed, so a running server may hold it open.
func ReadFile(path string) ([]Feedback, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("read feedback: %w", err)
	} else if fi.IsDir() {
		log := filepath.Join(path, "feedback", FeedbackFile)
		if _, err := os.Stat(log); err != nil {
			return nil, fmt.Errorf("read feedback: %s holds no %s (is it the data_dir of a server with a feedback section?)", path, filepath.Join("feedback", FeedbackFile))
		}
		path = log
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read feedback: %w", err)
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		return readList(path, t)
	}
	var out []Feedback
	err = jsonlog.Read(path, func(body []byte, off int64) error {
		var e fbEntry
		if err := json.Unmarshal(body, &e); err != nil || e.Feedback == nil {
			return fmt.Errorf("byte %d: not a feedback record: %v", off, err)
		}
		out = append(out, *e.Feedback)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read feedback: %w", err)
	}
	if len(out) == 0 && len(bytes.TrimSpace(data)) > 0 {
		return nil, fmt.Errorf("read feedback %s: no good record on line 1: not a feedback log (its lines are a checksum and a JSON record)", path)
	}
	return out, nil
}

// readList reads a saved GET /v1/feedback answer.
func readList(path string, data []byte) ([]Feedback, error) {
	var list struct {
		Object string     `json:"object"`
		Data   []Feedback `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&list); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("read feedback %s: byte %d: %w", path, se.Offset, err)
		}
		return nil, fmt.Errorf("read feedback %s: %w", path, err)
	}
	if list.Object != "list" {
		return nil, fmt.Errorf("read feedback %s: not a GET /v1/feedback answer (no \"object\": \"list\")", path)
	}
	return list.Data, nil
}
