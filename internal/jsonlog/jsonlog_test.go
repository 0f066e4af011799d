package jsonlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// TestFailedWriteIsCut: a write that stops part way (a full disk) leaves
// no stump for the next record to share a line with, so every record
// acknowledged after it replays; a failed fsync stops the log taking more.
func TestFailedWriteIsCut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	l, err := Open(path, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { writeString, syncFile = (*os.File).WriteString, (*os.File).Sync }()
	if err := l.Append(map[string]int{"n": 0}); err != nil {
		t.Fatal(err)
	}
	writeString = func(f *os.File, s string) (int, error) {
		n, _ := f.WriteString(s[:len(s)/2])
		return n, syscall.ENOSPC
	}
	if err := l.Append(map[string]int{"n": 1}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a failed write: %v", err)
	}
	writeString = (*os.File).WriteString
	for i := 2; i <= 3; i++ {
		if err := l.Append(map[string]int{"n": i}); err != nil {
			t.Fatalf("after a failed write: %v", err)
		}
	}
	syncFile = func(*os.File) error { return syscall.EIO }
	if err := l.Append(map[string]int{"n": 4}); !errors.Is(err, syscall.EIO) {
		t.Fatalf("a failed fsync: %v", err)
	}
	syncFile = (*os.File).Sync
	if err := l.Append(map[string]int{"n": 5}); err == nil || !strings.Contains(err.Error(), "opened again") {
		t.Errorf("after a failed fsync: %v", err)
	}
	l.Close()
	var got []string
	if _, err := Open(path, func(b []byte) error { got = append(got, string(b)); return nil }); err != nil {
		t.Fatal(err)
	}
	// Record 4 reached the file although its fsync failed; it was not
	// acknowledged, and replaying it loses nothing.
	if strings.Join(got, ",") != `{"n":0},{"n":2},{"n":3},{"n":4}` {
		t.Errorf("replayed %v", got)
	}
}

// TestReplace: a replaced log holds the new records, and appends go after
// them.
func TestReplace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	l, _ := Open(path, func([]byte) error { return nil })
	for i := range 5 {
		l.Append(map[string]int{"n": i})
	}
	if err := l.Replace(func(add func(any) error) error { return add(map[string]int{"sum": 10}) }); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(map[string]int{"n": 5}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	var got []string
	if _, err := Open(path, func(b []byte) error { got = append(got, string(b)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != `{"sum":10},{"n":5}` {
		t.Errorf("replayed %v", got)
	}
}

// TestAppendAllReadAt: a batch is one write; each record is found again at
// the offset AppendAll gave, through Read (read-only) and OpenOffsets.
func TestAppendAllReadAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	l, err := Open(path, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	l.Append(map[string]int{"n": 0})
	offs, err := l.AppendAll([]any{map[string]int{"n": 1}, map[string]string{"s": "two"}})
	if err != nil || len(offs) != 2 || offs[0] == 0 || offs[1] <= offs[0] {
		t.Fatalf("offsets %v %v", offs, err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	if body, err := ReadAt(f, offs[1]); err != nil || string(body) != `{"s":"two"}` {
		t.Errorf("ReadAt %q %v", body, err)
	}
	if _, err := ReadAt(f, offs[1]+1); err == nil {
		t.Error("ReadAt in the middle of a record gave no error")
	}
	var seen []int64
	if err := Read(path, func(_ []byte, off int64) error { seen = append(seen, off); return nil }); err != nil || len(seen) != 3 || seen[1] != offs[0] || seen[2] != offs[1] {
		t.Errorf("Read offsets %v %v, want 0,%v", seen, err, offs)
	}
	l.Close()
	seen = nil
	l, err = OpenOffsets(path, func(_ []byte, off int64) error { seen = append(seen, off); return nil })
	if err != nil || len(seen) != 3 || seen[2] != offs[1] || l.Size() <= offs[1] {
		t.Errorf("OpenOffsets %v %v", seen, err)
	}
	l.Close()
}
