package rag

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Document is a source document's text, ready to chunk.
type Document struct {
	ID     string `json:"id"`
	Title  string `json:"title,omitempty"`
	Source string `json:"source,omitempty"` // the file or URL it came from
	// Text may hold Markdown-style headings ("# …") and blank lines between
	// paragraphs; the chunker follows them.
	Text string `json:"text"`
}

// ErrBadFile marks a file that cannot be ingested; the message says why.
var ErrBadFile = errors.New("cannot ingest")

// DefaultMaxFileBytes bounds one ingested file.
const DefaultMaxFileBytes = 20 << 20

// ReadFile extracts the documents of one file by its extension: .txt,
// .md/.markdown, .html/.htm, and .jsonl corpora of {"id","title","text"}.
func ReadFile(path string, maxBytes int64) ([]Document, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFileBytes
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if info.Size() > maxBytes {
		return nil, fmt.Errorf("%w %s: %.1f MB is over the limit of %.1f MB", ErrBadFile, path, float64(info.Size())/1e6, float64(maxBytes)/1e6)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse extracts the documents of a file's bytes; name gives the format
// (by extension) and is the documents' source.
func Parse(name string, data []byte) ([]Document, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w %s: the file is empty", ErrBadFile, name)
	}
	if i := bytes.IndexByte(data[:min(len(data), 8192)], 0); i >= 0 {
		return nil, fmt.Errorf("%w %s: a binary file (NUL byte at offset %d)", ErrBadFile, name, i)
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, fmt.Errorf("%w %s: not valid UTF-8 (first bad byte at offset %d)", ErrBadFile, name, off)
	}
	id := filepath.ToSlash(name)
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	switch strings.ToLower(filepath.Ext(name)) {
	case ".txt", ".text":
		return []Document{{ID: id, Title: base, Source: name, Text: string(data)}}, nil
	case ".md", ".markdown":
		title, text := markdown(string(data))
		return []Document{{ID: id, Title: cmpOr(title, base), Source: name, Text: text}}, nil
	case ".html", ".htm":
		title, text, err := htmlText(data)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %v", ErrBadFile, name, err)
		}
		if strings.TrimSpace(text) == "" {
			return nil, fmt.Errorf("%w %s: no text outside the page's scripts, styles and navigation", ErrBadFile, name)
		}
		return []Document{{ID: id, Title: cmpOr(title, base), Source: name, Text: text}}, nil
	case ".jsonl":
		return jsonl(name, data)
	}
	return nil, fmt.Errorf("%w %s: unsupported file type %q (want .txt, .md, .html or .jsonl)", ErrBadFile, name, filepath.Ext(name))
}

func cmpOr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return strings.TrimSpace(a)
	}
	return b
}

// jsonl reads a corpus, one {"id","title","text"} a line; every bad line
// and duplicate id is reported, and the file is refused as a whole.
func jsonl(name string, data []byte) ([]Document, error) {
	var docs []Document
	var bad []string
	nbad := 0
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var d struct {
			ID    *string `json:"id"`
			Title string  `json:"title"`
			Text  *string `json:"text"`
		}
		problem := ""
		switch err := json.Unmarshal(b, &d); {
		case err != nil:
			problem = fmt.Sprintf("line %d: not a JSON object: %v", line, err)
		case d.ID == nil || strings.TrimSpace(*d.ID) == "":
			problem = fmt.Sprintf("line %d: missing id", line)
		case d.Text == nil || strings.TrimSpace(*d.Text) == "":
			problem = fmt.Sprintf("line %d: missing text", line)
		case seen[*d.ID] > 0:
			problem = fmt.Sprintf("line %d: duplicate id %q (first on line %d)", line, *d.ID, seen[*d.ID])
		default:
			seen[*d.ID] = line
			docs = append(docs, Document{ID: *d.ID, Title: d.Title, Source: name, Text: *d.Text})
		}
		if problem != "" {
			if nbad++; nbad <= 10 {
				bad = append(bad, problem)
			}
		}
	}
	if err := sc.Err(); err != nil {
		nbad++
		bad = append(bad, err.Error())
	}
	if nbad > 0 {
		more := ""
		if nbad > len(bad) {
			more = fmt.Sprintf("\n  … and %d more", nbad-len(bad))
		}
		return nil, fmt.Errorf("%w %s: %d bad line(s):\n  %s%s", ErrBadFile, name, nbad, strings.Join(bad, "\n  "), more)
	}
	return docs, nil
}

// markdown drops link targets, images, emphasis and HTML comments, keeps
// headings (the chunker follows them) and returns the first heading as the
// title.
func markdown(s string) (title, text string) {
	var b strings.Builder
	inFence := false
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			inFence = !inFence
			continue
		}
		if !inFence {
			if h, ok := strings.CutPrefix(t, "#"); ok && title == "" {
				title = strings.TrimSpace(strings.TrimLeft(h, "#"))
			}
			line = stripInline(line)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return title, b.String()
}

// stripInline turns [text](url) into text, drops images and emphasis marks.
func stripInline(s string) string {
	var b strings.Builder
	// link finds the "](" and ")" of a link opened at i. Once one is
	// missing, no later bracket can find it either: looking again for
	// every "[" made a line of brackets quadratic.
	links := true
	link := func(i int) (j, k int, ok bool) {
		if !links {
			return 0, 0, false
		}
		if j = strings.Index(s[i:], "]("); j > 0 {
			if k = strings.IndexByte(s[i+j:], ')'); k > 0 {
				return j, k, true
			}
		}
		links = j != -1 && k != -1
		return 0, 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '!' && i+1 < len(s) && s[i+1] == '[':
			if j, k, ok := link(i); ok {
				i += j + k
				continue
			}
		case c == '[':
			if j, k, ok := link(i); ok {
				b.WriteString(s[i+1 : i+j])
				i += j + k
				continue
			}
		case c == '*' || c == '_' && (i == 0 || s[i-1] == ' ' || i+1 == len(s) || s[i+1] == ' ') || c == '`':
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// skipped are elements whose text is boilerplate or code, not content.
var skipped = map[string]bool{"script": true, "style": true, "noscript": true, "nav": true, "header": true,
	"footer": true, "aside": true, "form": true, "button": true, "svg": true, "template": true, "iframe": true, "title": true, "meta": true, "link": true}

var blocks = map[string]bool{"p": true, "div": true, "section": true, "article": true, "main": true, "li": true,
	"ul": true, "ol": true, "table": true, "tr": true, "br": true, "blockquote": true, "pre": true, "dd": true, "dt": true}

// htmlText extracts a page's text: headings as "# …" lines, blocks as
// paragraphs, boilerplate elements dropped.
func htmlText(data []byte) (title, text string, err error) {
	doc, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "title" && n.FirstChild != nil && title == "" {
				title = strings.TrimSpace(n.FirstChild.Data)
			}
			if skipped[n.Data] {
				return
			}
			if len(n.Data) == 2 && n.Data[0] == 'h' && n.Data[1] >= '1' && n.Data[1] <= '6' {
				var h strings.Builder
				textOf(n, &h)
				b.WriteString("\n\n" + strings.Repeat("#", int(n.Data[1]-'0')) + " " + strings.Join(strings.Fields(h.String()), " ") + "\n\n")
				return
			}
			if blocks[n.Data] {
				b.WriteString("\n\n")
				defer b.WriteString("\n\n")
			}
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	// Collapse runs of spaces within paragraphs.
	var out []string
	for _, para := range strings.Split(b.String(), "\n\n") {
		if p := strings.Join(strings.Fields(para), " "); p != "" {
			out = append(out, p)
		}
	}
	return title, strings.Join(out, "\n\n"), nil
}

func textOf(n *html.Node, b *strings.Builder) {
	if n.Type == html.TextNode {
		b.WriteString(n.Data)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		textOf(c, b)
	}
}
