package jsonlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAppendReplayTornAndDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	l, err := Open(path, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := l.Append(map[string]int{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`deadbeef {"n":`) // torn
	f.Close()
	var got []string
	l, err = Open(path, func(b []byte) error { got = append(got, string(b)); return nil })
	if err != nil || strings.Join(got, ",") != `{"n":0},{"n":1},{"n":2}` {
		t.Fatalf("replay %v %v", got, err)
	}
	l.Append(map[string]int{"n": 3}) // starts on a clean line after the cut
	l.Close()
	got = nil
	Open(path, func(b []byte) error { got = append(got, string(b)); return nil })
	if len(got) != 4 {
		t.Errorf("after the cut and one more record: %v", got)
	}
	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), `{"n":1}`, `{"n":9}`, 1)), 0o644)
	if _, err := Open(path, func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a damaged middle line: %v", err)
	}
}
