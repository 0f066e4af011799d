package intents

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Example is one labeled utterance read from a file.
type Example struct {
	Text  string `json:"text"`
	Label string `json:"label"`
	Line  int    `json:"-"` // 1-based line in the file it came from
}

// ErrFormat is returned for files that are neither JSONL nor CSV.
var ErrFormat = errors.New("not a labeled JSONL or CSV file")

// maxBadRows bounds how many bad rows one error lists.
const maxBadRows = 20

// maxLine bounds one line of a labeled file.
const maxLine = 1 << 20

// ReadLabeled reads labeled examples from a JSONL file (one
// {"text": ..., "label": ...} object a line) or a CSV file with a header row
// naming the columns text and label. The format is taken from the extension
// (.jsonl, .ndjson, .json, .csv) or, failing that, from the first byte. Every
// bad row is reported, with its line number, in one error.
func ReadLabeled(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read examples: %w", err)
	}
	defer f.Close()
	exs, err := ParseLabeled(f, formatOf(path))
	if err != nil {
		return nil, fmt.Errorf("read examples %s: %w", path, err)
	}
	return exs, nil
}

// Formats of ParseLabeled.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
	FormatSniff = ""
)

func formatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL
	case ".csv":
		return FormatCSV
	}
	return FormatSniff
}

// ParseLabeled reads examples in the given format (FormatSniff: JSONL when
// the first non-blank byte is '{', CSV when the first line names the text
// and label columns).
func ParseLabeled(r io.Reader, format string) ([]Example, error) {
	br := bufio.NewReader(r)
	if format == FormatSniff {
		head, _ := br.Peek(4096)
		head = bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
		switch {
		case len(head) == 0:
			return nil, nil
		case head[0] == '{':
			format = FormatJSONL
		case bytes.Contains(bytes.ToLower(firstLine(head)), []byte("text")):
			format = FormatCSV
		default:
			return nil, fmt.Errorf("%w: want JSONL lines like {\"text\": \"...\", \"label\": \"...\"} or CSV with a header text,label", ErrFormat)
		}
	}
	if format == FormatCSV {
		return parseCSV(br)
	}
	return parseJSONL(br)
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}

// badRows collects row problems for one error.
type badRows struct {
	n    int
	msgs []string
}

func (b *badRows) add(line int, format string, args ...any) {
	b.n++
	if len(b.msgs) < maxBadRows {
		b.msgs = append(b.msgs, fmt.Sprintf("line %d: %s", line, fmt.Sprintf(format, args...)))
	}
}

func (b *badRows) err() error {
	if b.n == 0 {
		return nil
	}
	more := ""
	if b.n > len(b.msgs) {
		more = fmt.Sprintf("\n  (and %d more)", b.n-len(b.msgs))
	}
	return fmt.Errorf("%d bad rows:\n  %s%s", b.n, strings.Join(b.msgs, "\n  "), more)
}

func parseJSONL(r io.Reader) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Example
	var bad badRows
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
		}
		if len(raw) == 0 {
			continue
		}
		if !utf8.Valid(raw) {
			bad.add(line, "not valid UTF-8 at byte %d", InvalidUTF8(sc.Bytes()))
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			bad.add(line, "not a JSON object: %v", err)
			continue
		}
		ex := Example{Line: line}
		ok := true
		for k, v := range m {
			var dst *string
			switch k {
			case "text":
				dst = &ex.Text
			case "label":
				dst = &ex.Label
			default:
				bad.add(line, "unknown field %q (want text and label)", k)
				ok = false
				continue
			}
			if err := json.Unmarshal(v, dst); err != nil {
				bad.add(line, "%s must be a string", k)
				ok = false
			}
		}
		if ok && checkExample(&bad, ex) {
			out = append(out, ex)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("a line is longer than %d bytes", maxLine)
		}
		return nil, err
	}
	return out, bad.err()
}

func checkExample(bad *badRows, ex Example) bool {
	switch {
	case strings.TrimSpace(ex.Text) == "":
		bad.add(ex.Line, "missing or empty text")
	case strings.TrimSpace(ex.Label) == "":
		bad.add(ex.Line, "missing or empty label")
	default:
		return true
	}
	return false
}

func parseCSV(r io.Reader) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	ti, li := -1, -1
	var bad badRows
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\xef\xbb\xbf"))) {
		case "text":
			ti = i
		case "label":
			li = i
		default:
			bad.add(1, "unknown column %q (want text and label)", h)
		}
	}
	if ti < 0 || li < 0 {
		return nil, fmt.Errorf("%w: the header row must name the columns text and label, got %q", ErrFormat, header)
	}
	if err := bad.err(); err != nil {
		return nil, err
	}
	var out []Example
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad.add(pe.Line, "%v", pe.Err)
				if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
					break // the reader cannot resynchronise after a quoting error
				}
				continue
			}
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			bad.add(line, "%d fields, the header has %d", len(rec), len(header))
			continue
		}
		ex := Example{Text: rec[ti], Label: rec[li], Line: line}
		if !utf8.ValidString(ex.Text) || !utf8.ValidString(ex.Label) {
			if !utf8.ValidString(ex.Text) {
				bad.add(line, "the text is not valid UTF-8 at byte %d of the field", InvalidUTF8([]byte(ex.Text)))
			} else {
				bad.add(line, "the label is not valid UTF-8")
			}
			continue
		}
		if checkExample(&bad, ex) {
			out = append(out, ex)
		}
	}
	return out, bad.err()
}

// InvalidUTF8 returns the offset, from 0, of the first byte of b that
// starts no valid UTF-8 character, or -1: where to point someone whose text
// is not UTF-8.
func InvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}
