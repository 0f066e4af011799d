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
	"slices"
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
// bad row is reported, with its line number, in one error. Other fields and
// columns are ignored; ReadLabeledWith names them, and reads other names
// for text and label.
func ReadLabeled(path string) ([]Example, error) {
	l, err := ReadLabeledWith(path, Fields{})
	return l.Examples, err
}

// Fields name the text and label fields (JSONL) or columns (CSV) of a
// labeled file; an empty name means "text" or "label".
type Fields struct {
	Text, Label string
}

func (f Fields) withDefaults() Fields {
	if f.Text == "" {
		f.Text = "text"
	}
	if f.Label == "" {
		f.Label = "label"
	}
	return f
}

// Labeled is what a labeled file holds.
type Labeled struct {
	Examples []Example
	// Ignored names the other fields (sorted) or columns (in header
	// order), which are read past: ids, raw text and metadata are common in
	// public data.
	Ignored []string
}

// ignored collects the names of ignored fields, once each.
type ignored struct {
	seen  map[string]bool
	names []string
}

func (ig *ignored) add(name string) {
	if ig.seen == nil {
		ig.seen = map[string]bool{}
	}
	if !ig.seen[name] {
		ig.seen[name] = true
		ig.names = append(ig.names, name)
	}
}

// ReadLabeledWith is ReadLabeled with the text and label under the names f
// gives, also reporting which other fields the file had.
func ReadLabeledWith(path string, f Fields) (Labeled, error) {
	file, err := os.Open(path)
	if err != nil {
		return Labeled{}, fmt.Errorf("read examples: %w", err)
	}
	defer file.Close()
	l, err := ParseLabeledWith(file, formatOf(path), f)
	if err != nil {
		return Labeled{}, fmt.Errorf("read examples %s: %w", path, err)
	}
	return l, nil
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
// column).
func ParseLabeled(r io.Reader, format string) ([]Example, error) {
	l, err := ParseLabeledWith(r, format, Fields{})
	return l.Examples, err
}

// ParseLabeledWith is ParseLabeled with the text and label under the names
// f gives, also reporting which other fields the file had.
func ParseLabeledWith(r io.Reader, format string, f Fields) (Labeled, error) {
	f = f.withDefaults()
	if f.Text == f.Label {
		return Labeled{}, fmt.Errorf("the text and the label cannot both be the field %q", f.Text)
	}
	br := bufio.NewReader(r)
	if format == FormatSniff {
		head, _ := br.Peek(4096)
		head = bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
		switch {
		case len(head) == 0:
			return Labeled{}, nil
		case head[0] == '{':
			format = FormatJSONL
		case bytes.Contains(bytes.ToLower(firstLine(head)), bytes.ToLower([]byte(f.Text))):
			format = FormatCSV
		default:
			return Labeled{}, fmt.Errorf("%w: want JSONL lines like {%q: \"...\", %q: \"...\"} or CSV with a header %s,%s",
				ErrFormat, f.Text, f.Label, f.Text, f.Label)
		}
	}
	if format == FormatCSV {
		return parseCSV(br, f)
	}
	return parseJSONL(br, f)
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

func parseJSONL(r io.Reader, f Fields) (Labeled, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var out []Example
	var bad badRows
	var ig ignored
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
			case f.Text:
				dst = &ex.Text
			case f.Label:
				dst = &ex.Label
			default:
				ig.add(k)
				continue
			}
			if err := json.Unmarshal(v, dst); err != nil {
				bad.add(line, "%s must be a string", k)
				ok = false
			}
		}
		if ok && checkExample(&bad, ex, f) {
			out = append(out, ex)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Labeled{}, fmt.Errorf("a line is longer than %d bytes", maxLine)
		}
		return Labeled{}, err
	}
	slices.Sort(ig.names) // map order: sorted, so the names come out the same each run
	return Labeled{Examples: out, Ignored: ig.names}, bad.err()
}

func checkExample(bad *badRows, ex Example, f Fields) bool {
	switch {
	case strings.TrimSpace(ex.Text) == "":
		bad.add(ex.Line, "missing or empty %s", f.Text)
	case strings.TrimSpace(ex.Label) == "":
		bad.add(ex.Line, "missing or empty %s", f.Label)
	default:
		return true
	}
	return false
}

func parseCSV(r io.Reader, f Fields) (Labeled, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Labeled{}, nil
		}
		return Labeled{}, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	ti, li, ig, err := csvColumns(header, f)
	if err != nil {
		return Labeled{}, err
	}
	var out []Example
	var bad badRows
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
			return Labeled{}, err
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
		if checkExample(&bad, ex, f) {
			out = append(out, ex)
		}
	}
	return Labeled{Examples: out, Ignored: ig}, bad.err()
}

// csvColumns finds the text and label columns of a CSV header (names
// compared trimmed and case-blind) and names the others.
func csvColumns(header []string, f Fields) (ti, li int, others []string, err error) {
	ti, li = -1, -1
	var ig ignored
	for i, h := range header {
		name := strings.TrimSpace(strings.TrimPrefix(h, "\xef\xbb\xbf"))
		var dst *int
		switch {
		case strings.EqualFold(name, f.Text):
			dst = &ti
		case strings.EqualFold(name, f.Label):
			dst = &li
		default:
			ig.add(name)
			continue
		}
		if *dst >= 0 {
			return 0, 0, nil, fmt.Errorf("%w: the header names the column %q twice (columns %d and %d)", ErrFormat, name, *dst+1, i+1)
		}
		*dst = i
	}
	if ti < 0 || li < 0 {
		return 0, 0, nil, fmt.Errorf("%w: the header row must name the columns %s and %s, got %q", ErrFormat, f.Text, f.Label, header)
	}
	return ti, li, ig.names, nil
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
