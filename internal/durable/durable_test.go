package durable

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "f.json")
	if err := ReplaceFile(path, func(w *bufio.Writer) error { _, err := w.WriteString("old"); return err }); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("no more")
	err := ReplaceFile(path, func(w *bufio.Writer) error { w.WriteString("half"); return failed })
	if !errors.Is(err, failed) {
		t.Errorf("a failed write: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old" {
		t.Errorf("after a failed write the file holds %q, want the old contents", data)
	}
	if err := ReplaceFile(path, func(w *bufio.Writer) error { _, err := w.WriteString("new"); return err }); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Errorf("the file holds %q", data)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "index.log")
	left, _ := os.CreateTemp(dir, tempPattern(path)) // as a crash mid-write leaves it
	left.Close()
	other := filepath.Join(dir, ".other.log.1.tmp")
	os.WriteFile(other, nil, 0o644)
	os.WriteFile(path, []byte("kept"), 0o644)
	if err := RemoveTemps(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left.Name()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the left temporary file: %v", err)
	}
	for _, p := range []string{other, path} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}
