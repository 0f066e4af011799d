package suggest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/semroute/semroute/router/judge/suggest"
	"github.com/semroute/semroute/router/judge/suggest/suggesttest"
)

func TestLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "suggestions.log")
	open := func(t *testing.T) suggest.Store {
		l, err := suggest.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l
	}
	suggesttest.Run(t, open, open)
}

// TestLogIsRewritten judges a few prompts again and again: the log is
// rewritten with one record a suggestion, and keeps every count.
func TestLogIsRewritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "suggestions.log")
	l, err := suggest.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3000 {
		if err := l.Add("refund", fmt.Sprintf("prompt %d", i%5), at.Add(time.Duration(i)*time.Second), 100); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	info, _ := os.Stat(path)
	if info.Size() > 200<<10 {
		t.Errorf("the log holds %d bytes for 5 suggestions: not rewritten", info.Size())
	}
	l, err = suggest.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	list, _ := l.List()
	if len(list) != 5 || list[0].Count != 600 || list[4].Count != 600 {
		t.Errorf("after the rewrite %+v", list)
	}
}
