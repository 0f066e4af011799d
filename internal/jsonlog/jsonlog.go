// Package jsonlog is the crash-safe append-only log that the handoff
// queue (moderation/handoff), the spend ledger (router/spend) and the
// default index (index/chromem) keep in the data directory. It has its own
// folder because it belongs to none of them: all need the same guarantees.
//
// Each record is one line: the CRC-32C of the JSON body in hex, a space,
// the body. Append writes and fsyncs before it returns, so a record whose
// Append returned nil survives a crash. Open replays the records; a torn
// last line (a crash in the middle of a write) is cut off, while a bad line
// with good ones after it means damage, and Open refuses the file.
package jsonlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/semroute/semroute/internal/durable"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Log is an open log. Append is not safe for concurrent use: callers hold
// their own lock around it and the state it updates.
type Log struct {
	f      *os.File
	path   string
	size   int64 // the end of the last good record
	broken error // why the log takes no more records (see Append)
}

// The file operations Append makes; tests replace them to fail.
var (
	writeString = (*os.File).WriteString
	syncFile    = (*os.File).Sync
)

// Open opens (or creates) the log at path and calls apply with the body of
// every good record, in order.
func Open(path string, apply func(body []byte) error) (*Log, error) {
	return open(path, func(body []byte, _ int64) error { return apply(body) })
}

func open(path string, apply func(body []byte, off int64) error) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	good, err := replay(f, apply)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &Log{f: f, path: path, size: good}, nil
}

func replay(r io.Reader, apply func(body []byte, off int64) error) (int64, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var off, good int64
	var bad error
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 && errors.Is(err, io.EOF) {
			break
		}
		start := off
		off += int64(len(b))
		if err != nil { // no newline: torn
			break
		}
		body, perr := check(b)
		if perr != nil {
			bad = fmt.Errorf("line %d: %v", line, perr)
			continue
		}
		if bad != nil {
			return 0, fmt.Errorf("%v, but good lines follow it: the log is damaged, not torn", bad)
		}
		if err := apply(body, start); err != nil {
			return 0, fmt.Errorf("line %d: %w", line, err)
		}
		good = off
	}
	return good, nil
}

func check(b []byte) ([]byte, error) {
	sum, body, ok := bytes.Cut(bytes.TrimSuffix(b, []byte("\n")), []byte(" "))
	if !ok {
		return nil, errors.New("no checksum")
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil || uint32(want) != crc32.Checksum(body, castagnoli) {
		return nil, errors.New("checksum mismatch")
	}
	return body, nil
}

// Append writes v as a record and fsyncs it.
//
// A write that fails part way (a full disk) is cut off again, so that the
// next record starts on a line of its own: written after the stump, it
// would share its line, fail its checksum, and be cut as a torn tail or
// make the log damaged. When the cut fails too, or fsync fails (after which
// what the disk holds is unknown), the log refuses every further record
// until it is opened again.
func (l *Log) Append(v any) error {
	if l.broken != nil {
		return fmt.Errorf("%s takes no more records until it is opened again: %w", l.path, l.broken)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	line := record(body)
	if _, err := writeString(l.f, line); err != nil {
		if terr := l.f.Truncate(l.size); terr != nil {
			l.broken = fmt.Errorf("write: %w; cutting the partial record: %w", err, terr)
		} else if _, serr := l.f.Seek(l.size, io.SeekStart); serr != nil {
			l.broken = fmt.Errorf("write: %w; seek: %w", err, serr)
		}
		return fmt.Errorf("write %s: %w", l.path, err)
	}
	if err := syncFile(l.f); err != nil {
		l.broken = fmt.Errorf("fsync: %w", err)
		return fmt.Errorf("fsync %s: %w", l.path, err)
	}
	l.size += int64(len(line))
	return nil
}

// record is body as a line of the log.
func record(body []byte) string {
	return fmt.Sprintf("%08x %s\n", crc32.Checksum(body, castagnoli), body)
}

// Rewrite replaces the log at path with the records that write adds, all
// or nothing (durable.ReplaceFile). A log open on path keeps the old file;
// open path again to append to the new one.
func Rewrite(path string, write func(add func(v any) error) error) error {
	return durable.ReplaceFile(path, func(w *bufio.Writer) error {
		return write(func(v any) error {
			body, err := json.Marshal(v)
			if err != nil {
				return err
			}
			_, err = w.WriteString(record(body))
			return err
		})
	})
}

// Replace rewrites the open log with the records that write adds, all or
// nothing (Rewrite), and appends after them from then on. When it fails
// the old log is whole and still in use, except that if the new file
// cannot be opened once in place, the log takes no more records (the old
// file is gone from the directory: what it took would be lost).
func (l *Log) Replace(write func(add func(v any) error) error) error {
	if l.broken != nil {
		return fmt.Errorf("%s takes no more records until it is opened again: %w", l.path, l.broken)
	}
	if err := Rewrite(l.path, write); err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_RDWR, 0)
	var size int64
	if err == nil {
		size, err = f.Seek(0, io.SeekEnd)
	}
	if err != nil {
		l.broken = fmt.Errorf("open the rewritten log: %w", err)
		return l.broken
	}
	l.f.Close()
	l.f, l.size = f, size
	return nil
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// AppendAll writes vs as records with one write and one fsync, and
// returns where each record starts in the file (for ReadAt). It is
// Append for a batch: a group commit shares one fsync among the records
// of many requests. On failure none of vs is acknowledged (a partial
// write is cut off as in Append).
func (l *Log) AppendAll(vs []any) ([]int64, error) {
	if l.broken != nil {
		return nil, fmt.Errorf("%s takes no more records until it is opened again: %w", l.path, l.broken)
	}
	var sb strings.Builder
	offs := make([]int64, len(vs))
	for i, v := range vs {
		body, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		offs[i] = l.size + int64(sb.Len())
		sb.WriteString(record(body))
	}
	if _, err := writeString(l.f, sb.String()); err != nil {
		if terr := l.f.Truncate(l.size); terr != nil {
			l.broken = fmt.Errorf("write: %w; cutting the partial records: %w", err, terr)
		} else if _, serr := l.f.Seek(l.size, io.SeekStart); serr != nil {
			l.broken = fmt.Errorf("write: %w; seek: %w", err, serr)
		}
		return nil, fmt.Errorf("write %s: %w", l.path, err)
	}
	if err := syncFile(l.f); err != nil {
		l.broken = fmt.Errorf("fsync: %w", err)
		return nil, fmt.Errorf("fsync %s: %w", l.path, err)
	}
	l.size += int64(sb.Len())
	return offs, nil
}

// Size is where the next record will start.
func (l *Log) Size() int64 { return l.size }

// ReadAt returns the body of the record that starts at off in r (an
// offset AppendAll or Offsets gave), checked against its checksum.
func ReadAt(r io.ReaderAt, off int64) ([]byte, error) {
	br := bufio.NewReader(io.NewSectionReader(r, off, 1<<62))
	b, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("read the record at byte %d: %w", off, err)
	}
	body, err := check(b)
	if err != nil {
		return nil, fmt.Errorf("the record at byte %d: %w", off, err)
	}
	return body, nil
}

// Read replays the log at path without changing it, for a reader beside
// the process that appends (a torn last line is skipped, not cut). apply
// gets each good record's body and the byte offset it starts at.
func Read(path string, apply func(body []byte, off int64) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := replay(f, apply); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// OpenOffsets is Open, with the byte offset each replayed record starts at.
func OpenOffsets(path string, apply func(body []byte, off int64) error) (*Log, error) {
	return open(path, apply)
}
