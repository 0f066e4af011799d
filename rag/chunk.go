package rag

import (
	"strings"
	"unicode"
)

// Chunk is a piece of a document, the unit retrieval returns.
type Chunk struct {
	Doc      string `json:"doc"`
	Title    string `json:"title,omitempty"`
	Source   string `json:"source,omitempty"`
	Heading  string `json:"heading,omitempty"` // the section it is under
	Position int    `json:"position"`          // 0, 1, … within the document
	Text     string `json:"text"`
}

// ChunkOptions bound chunks, in words.
type ChunkOptions struct {
	MaxWords     int // default 160
	OverlapWords int // default 30; never more than half of MaxWords
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.MaxWords <= 0 {
		o.MaxWords = 160
	}
	if o.OverlapWords < 0 {
		o.OverlapWords = 0
	} else if o.OverlapWords == 0 {
		o.OverlapWords = 30
	}
	o.OverlapWords = min(o.OverlapWords, o.MaxWords/2)
	return o
}

// section is a heading and the paragraphs under it.
type section struct {
	heading string
	paras   []string
}

// sections splits text at Markdown headings and blank lines.
func sections(text string) []section {
	var out []section
	cur := section{}
	var para []string
	flush := func() {
		if p := strings.TrimSpace(strings.Join(para, " ")); p != "" {
			cur.paras = append(cur.paras, p)
		}
		para = para[:0]
	}
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		if h, ok := strings.CutPrefix(t, "#"); ok && (h == "" || h[0] == ' ' || h[0] == '#') {
			flush()
			if len(cur.paras) > 0 || cur.heading != "" {
				out = append(out, cur)
			}
			cur = section{heading: strings.TrimSpace(strings.TrimLeft(h, "#"))}
			continue
		}
		if t == "" {
			flush()
			continue
		}
		para = append(para, t)
	}
	flush()
	if len(cur.paras) > 0 {
		out = append(out, cur)
	}
	return out
}

// sentences splits a paragraph after ., ! or ? followed by a space and a
// capital or digit.
func sentences(p string) []string {
	var out []string
	start := 0
	rs := []rune(p)
	for i := 0; i < len(rs)-2; i++ {
		if (rs[i] == '.' || rs[i] == '!' || rs[i] == '?') && rs[i+1] == ' ' && (unicode.IsUpper(rs[i+2]) || unicode.IsDigit(rs[i+2])) {
			out = append(out, string(rs[start:i+1]))
			start = i + 2
		}
	}
	return append(out, string(rs[start:]))
}

// Split cuts a document into chunks of at most MaxWords words that follow
// its structure: a chunk never spans two sections, paragraphs stay whole
// when they fit, long paragraphs are cut between sentences, and only a
// sentence longer than a chunk is cut between words. Consecutive chunks of
// a section share OverlapWords words.
func Split(doc Document, opt ChunkOptions) []Chunk {
	opt = opt.withDefaults()
	var out []Chunk
	for _, sec := range sections(doc.Text) {
		// Units: whole paragraphs, or their sentences, or word runs.
		var units [][]string
		for _, p := range sec.paras {
			if w := strings.Fields(p); len(w) <= opt.MaxWords {
				units = append(units, w)
				continue
			}
			for _, s := range sentences(p) {
				w := strings.Fields(s)
				for len(w) > opt.MaxWords {
					units = append(units, w[:opt.MaxWords])
					w = w[opt.MaxWords:]
				}
				if len(w) > 0 {
					units = append(units, w)
				}
			}
		}
		var cur []string
		fresh := 0 // words in cur that are not overlap
		emit := func() {
			if fresh == 0 {
				return
			}
			out = append(out, Chunk{Doc: doc.ID, Title: doc.Title, Source: doc.Source, Heading: sec.heading,
				Position: len(out), Text: strings.Join(cur, " ")})
			cur = append([]string(nil), cur[max(len(cur)-opt.OverlapWords, 0):]...)
			fresh = 0
		}
		for _, u := range units {
			if len(cur)+len(u) > opt.MaxWords {
				emit()
				if len(cur)+len(u) > opt.MaxWords { // the overlap does not fit with it
					cur = cur[:0]
				}
			}
			cur = append(cur, u...)
			fresh += len(u)
		}
		emit()
	}
	return out
}
