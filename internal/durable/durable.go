// Package durable replaces files so that a crash leaves the old file or
// the new one, never a mix or nothing. The intents file (router/gateway),
// a thresholds file (router) and a rewritten log (internal/jsonlog) are
// written this way; it has its own folder because it belongs to none of
// them.
package durable

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ReplaceFile writes what write writes to a temporary file in path's
// directory, fsyncs it, renames it over path and fsyncs the directory.
// When it returns nil, path holds the new contents durably; otherwise path
// is as it was.
func ReplaceFile(path string, write func(w *bufio.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing to remove
	w := bufio.NewWriterSize(tmp, 1<<20)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func tempPattern(path string) string { return "." + filepath.Base(path) + ".*.tmp" }

// RemoveTemps removes the temporary files of ReplaceFile(path) that a crash
// left behind. Only the process that writes path may call it.
func RemoveTemps(path string) error {
	temps, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	if err != nil {
		return err
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
