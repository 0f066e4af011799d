package rag

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: any uploaded bytes, under any of the four formats, give
// documents or an error that marks the file as one that cannot be
// ingested and says why; the documents split into chunks within the bound.
func FuzzParse(f *testing.F) {
	f.Add(".md", []byte("# Returns\n\nYou can return items within 30 days.\n\n## Refunds\nRefunds take 5 days. Really."))
	f.Add(".html", []byte("<html><head><title>T</title><script>x()</script></head><body><h1>A</h1><p>one two</p><nav>skip</nav></body></html>"))
	f.Add(".jsonl", []byte(`{"id":"a","title":"A","text":"alpha beta"}`+"\n"+`{"id":"b","text":"gamma"}`))
	f.Add(".txt", []byte("plain text. with sentences! and more?"))
	f.Fuzz(func(t *testing.T, ext string, data []byte) {
		docs, err := Parse("doc"+ext, data)
		if err != nil {
			if !errors.Is(err, ErrBadFile) || len(err.Error()) < len(ErrBadFile.Error())+5 {
				t.Fatalf("error %q: want ErrBadFile with a reason", err)
			}
			return
		}
		if len(docs) == 0 {
			t.Fatal("no documents and no error")
		}
		for _, d := range docs {
			if d.ID == "" {
				t.Fatalf("a document without an ID: %+v", d)
			}
			for _, c := range Split(d, ChunkOptions{MaxWords: 8, OverlapWords: 3}) {
				if n := len(strings.Fields(c.Text)); n == 0 || n > 8 {
					t.Fatalf("a chunk of %d words: %q", n, c.Text)
				}
			}
		}
	})
}
