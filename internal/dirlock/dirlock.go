package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Name is the lock file's name inside the directory.
const Name = "LOCK"

// HeldError is the error of Acquire when another process holds the
// directory.
type HeldError struct {
	Dir string
	PID int // 0 when the holder had not written it yet
}

func (e *HeldError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("another process (pid %d)", e.PID)
	}
	return fmt.Sprintf("lock data_dir %s: it is in use by %s; one semroute process at a time may write a data_dir: stop that one, or give this one another index.data_dir", e.Dir, who)
}

// Lock is a held directory.
type Lock struct {
	f *os.File
}

// Acquire creates dir if needed and locks it for this process, or returns
// a *HeldError naming the holder's pid at once, without waiting.
func Acquire(dir string) (*Lock, error) {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock data_dir %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, Name), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock data_dir %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &HeldError{Dir: dir, PID: readPID(f)}
		}
		return nil, fmt.Errorf("lock data_dir %s: %w", dir, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(pid, 0)
	}
	if err != nil {
		f.Close() // releases the lock
		return nil, fmt.Errorf("lock data_dir %s: write the pid: %w", dir, err)
	}
	return &Lock{f: f}, nil
}

// Release empties the lock file and unlocks it. Exiting releases it too.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	l.f.Truncate(0)
	err := l.f.Close() // closing the only descriptor drops the flock
	l.f = nil
	return err
}

func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	return pid
}
