package dirlock

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAcquire: a second holder is refused at once with the first's pid and
// the directory; after Release the directory is free again; a LOCK file
// left by a process that is gone (a pid inside, no flock) blocks nobody.
func TestAcquire(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created by Acquire
	first, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir) // another open file description: flock refuses it as it would another process
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v, want a *HeldError", err)
	}
	if held.PID != os.Getpid() || held.Dir != dir || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "pid ") {
		t.Errorf("error %q (pid %d, dir %q), want this process's pid %d and %s", err, held.PID, held.Dir, os.Getpid(), dir)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	again.Release()

	stale := t.TempDir()
	os.WriteFile(filepath.Join(stale, Name), []byte("999999999\n"), 0o644)
	l, err := Acquire(stale)
	if err != nil {
		t.Fatalf("Acquire over a stale LOCK file: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(stale, Name)); strings.TrimSpace(string(b)) != strings.TrimSpace(itoa(os.Getpid())) {
		t.Errorf("LOCK holds %q, want this process's pid %d", b, os.Getpid())
	}
	l.Release()
}

func itoa(n int) string {
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
