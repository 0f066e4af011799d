package rag

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/index/pgvector/pgtest"
)

func TestParseFormats(t *testing.T) {
	docs, err := Parse("guide.md", []byte("# Guide\n\nSee [the site](http://x.example) and ![logo](l.png) **now**.\n\n## Part two\n\n```\ncode *stays*\n```\n"))
	if err != nil || len(docs) != 1 {
		t.Fatal(docs, err)
	}
	d := docs[0]
	if d.Title != "Guide" || !strings.Contains(d.Text, "See the site and  now.") || strings.Contains(d.Text, "http://") || !strings.Contains(d.Text, "code *stays*") {
		t.Errorf("markdown: %+v", d)
	}
	page := `<html><head><title>Returns</title><style>p{}</style><script>var x=1</script></head><body>
<nav>Home | Shop | Cart</nav><header>Big Shop</header>
<h1>Returns policy</h1><p>Items can be returned   within 30 days.</p><div>Keep the <b>receipt</b>.</div>
<footer>© Big Shop</footer></body></html>`
	docs, err = Parse("returns.html", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	d = docs[0]
	if d.Title != "Returns" || !strings.Contains(d.Text, "# Returns policy") || !strings.Contains(d.Text, "Items can be returned within 30 days.") ||
		!strings.Contains(d.Text, "Keep the receipt.") {
		t.Errorf("html text: %q", d.Text)
	}
	for _, junk := range []string{"var x", "Home | Shop", "Big Shop", "p{}"} {
		if strings.Contains(d.Text, junk) {
			t.Errorf("html kept boilerplate %q: %q", junk, d.Text)
		}
	}
	docs, err = Parse("c.jsonl", []byte(`{"id":"a","title":"A","text":"alpha"}`+"\n\n"+`{"id":"b","text":"beta"}`))
	if err != nil || len(docs) != 2 || docs[1].ID != "b" || docs[0].Title != "A" {
		t.Errorf("jsonl: %+v %v", docs, err)
	}
}

func TestParseBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty.txt", []byte("  \n"), "empty"},
		{"img.txt", []byte("GIF89a\x00\x01"), "binary"},
		{"latin1.txt", []byte("caf\xe9 au lait"), "not valid UTF-8 (first bad byte at offset 3)"},
		{"data.pdf", []byte("%PDF-1.4"), "unsupported file type"},
		{"c.jsonl", []byte(`{"id":"a","text":"x"}` + "\n" + `{"id":"a","text":"y"}` + "\n" + `{"text":"z"}` + "\n" + `nope`), "line 2: duplicate id \"a\" (first on line 1)"},
		{"c.jsonl", []byte(`{"id":"a"}`), "line 1: missing text"},
		{"nav.html", []byte("<nav>only links</nav><script>x()</script>"), "no text"},
	} {
		_, err := Parse(tc.name, tc.data)
		if !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an ErrBadFile naming the file and %q", tc.name, err, tc.want)
		}
	}
	big := filepath.Join(t.TempDir(), "big.txt")
	os.WriteFile(big, []byte(strings.Repeat("word ", 300_000)), 0o644)
	if _, err := ReadFile(big, 1<<20); !errors.Is(err, ErrBadFile) || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("a 1.5 MB file with a 1 MB limit: %v", err)
	}
}

func TestSplitFollowsStructure(t *testing.T) {
	long := strings.Repeat("The kettle boils water quickly. ", 40) // 200 words, 40 sentences
	doc := Document{ID: "d", Title: "T", Text: "# One\n\nShort intro paragraph.\n\n" + long + "\n\n# Two\n\nSecond section text."}
	chunks := Split(doc, ChunkOptions{MaxWords: 50, OverlapWords: 10})
	if len(chunks) < 5 {
		t.Fatalf("%d chunks", len(chunks))
	}
	for i, c := range chunks {
		if n := len(strings.Fields(c.Text)); n > 50 {
			t.Errorf("chunk %d has %d words", i, n)
		}
		if c.Position != i || c.Doc != "d" || c.Title != "T" {
			t.Errorf("chunk %d: %+v", i, c)
		}
		if c.Heading == "One" && strings.Contains(c.Text, "Second section") || c.Heading == "Two" && strings.Contains(c.Text, "kettle") {
			t.Errorf("chunk %d spans two sections: %+v", i, c)
		}
		if strings.Contains(c.Text, "kettle") && !strings.HasSuffix(c.Text, ".") {
			t.Errorf("chunk %d is cut inside a sentence: %q", i, c.Text)
		}
	}
	last := chunks[len(chunks)-1]
	if last.Heading != "Two" || last.Text != "Second section text." {
		t.Errorf("last chunk %+v", last)
	}
	// Consecutive chunks of one section overlap.
	a, b := strings.Fields(chunks[1].Text), strings.Fields(chunks[2].Text)
	if chunks[1].Heading == chunks[2].Heading && strings.Join(a[len(a)-5:], " ") != strings.Join(b[:5], " ") && !strings.Contains(chunks[2].Text, strings.Join(a[len(a)-5:], " ")) {
		t.Errorf("no overlap between %q and %q", chunks[1].Text, chunks[2].Text)
	}
}

// failing is an index that fails one kind of write on demand: it stands in
// for a crash between the steps of an ingest.
type failing struct {
	index.Index
	failUpsert string // collection whose next Upsert fails
	failDelete bool
}

var errCrash = errors.New("crash")

func (f *failing) Upsert(ctx context.Context, c string, recs []index.Record) error {
	if c == f.failUpsert {
		f.failUpsert = ""
		return errCrash
	}
	return f.Index.Upsert(ctx, c, recs)
}

func (f *failing) Delete(ctx context.Context, c string, ids ...string) error {
	if f.failDelete {
		f.failDelete = false
		return errCrash
	}
	return f.Index.Delete(ctx, c, ids...)
}

func texts(t *testing.T, c *Collection, q string) string {
	t.Helper()
	ps, err := c.Search(context.Background(), Query{Text: q, K: 10, Mode: ModeBM25})
	if err != nil {
		t.Fatal(err)
	}
	var b []string
	for _, p := range ps {
		b = append(b, p.Text)
	}
	return strings.Join(b, " | ")
}

// TestIngestIsAtomicPerDocument: however an ingest stops, reopening the
// collection shows either the old or the new version of the document.
func TestIngestIsAtomicPerDocument(t *testing.T) {
	ctx := context.Background()
	emb := localtest.Open(t)
	dir := t.TempDir()
	open := func(f *failing) *Collection {
		idx, err := chromem.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { idx.Close() })
		f.Index = idx
		c, err := Open(ctx, "kb", Options{Index: f, Embedder: emb})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	v1 := Document{ID: "policy", Title: "Policy", Text: "Refunds are paid within fourteen days."}
	v2 := Document{ID: "policy", Title: "Policy", Text: "Refunds are paid within thirty days.\n\nStore credit never expires."}

	f := &failing{}
	c := open(f)
	if st, err := c.Ingest(ctx, []Document{v1}); err != nil || st.Documents != 1 {
		t.Fatal(st, err)
	}
	if st, _ := c.Ingest(ctx, []Document{v1}); st.Unchanged != 1 || st.Documents != 0 {
		t.Errorf("re-ingesting the same text: %+v, want it unchanged", st)
	}
	// The manifest write fails: the new chunks are stored but not live.
	f.failUpsert = c.docColl()
	if _, err := c.Ingest(ctx, []Document{v2}); !errors.Is(err, errCrash) {
		t.Fatalf("ingest: %v", err)
	}
	c = open(&failing{})
	if got := texts(t, c, "refunds paid days"); got != v1.Text {
		t.Errorf("after a crash before the switch: %q, want the old version only", got)
	}
	// Deleting the old chunks fails: the new version is live, the old chunks
	// are orphans that the next open removes.
	f = &failing{failDelete: true}
	c = open(f)
	if _, err := c.Ingest(ctx, []Document{v2}); !errors.Is(err, errCrash) {
		t.Fatalf("ingest: %v", err)
	}
	c = open(&failing{})
	if got := texts(t, c, "refunds paid days"); strings.Contains(got, "fourteen") || !strings.Contains(got, "thirty") {
		t.Errorf("after a crash after the switch: %q, want the new version only", got)
	}
	if c.Chunks() != len(Split(v2, ChunkOptions{})) || c.Documents() != 1 {
		t.Errorf("%d documents, %d chunks", c.Documents(), c.Chunks())
	}
	// Delete takes the document away at once.
	if err := c.Delete(ctx, "policy"); err != nil {
		t.Fatal(err)
	}
	if got := texts(t, open(&failing{}), "refunds"); got != "" {
		t.Errorf("after delete: %q", got)
	}
	if err := c.Delete(ctx, "policy"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

func TestSearchModesAndFilters(t *testing.T) {
	ctx := context.Background()
	idx, _ := chromem.Open("")
	c, err := Open(ctx, "kb", Options{Index: idx, Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	c.Ingest(ctx, []Document{
		{ID: "kettle", Title: "Kettle", Source: "products/kettle.md", Text: "The kettle boils a litre of water in four minutes."},
		{ID: "desk", Title: "Desk", Source: "products/desk.md", Text: "The standing desk rises from 65 to 130 centimetres."},
		{ID: "faq", Title: "FAQ", Source: "help/faq.md", Text: "How long does the kettle take to boil? About four minutes."},
	})
	for _, mode := range []string{ModeVector, ModeBM25, ModeHybrid, ModeRRF} {
		ps, err := c.Search(ctx, Query{Text: "how fast does the kettle boil water", K: 2, Mode: mode})
		if err != nil || len(ps) == 0 || ps[0].Doc == "desk" {
			t.Errorf("%s: %+v %v", mode, ps, err)
		}
		if len(ps) > 0 && (ps[0].Similarity <= 0 || ps[0].Similarity > 1.0001) {
			t.Errorf("%s: similarity %v", mode, ps[0].Similarity)
		}
	}
	ps, _ := c.Search(ctx, Query{Text: "kettle boil", K: 5, Filter: map[string]string{"source": "help/faq.md"}})
	if len(ps) != 1 || ps[0].Doc != "faq" {
		t.Errorf("filter by source: %+v", ps)
	}
	if _, err := c.Search(ctx, Query{Text: "x", Mode: "magic"}); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

// TestOnPgvector: a collection on the PostgreSQL backend ingests, finds
// and reopens like one on chromem-go.
func TestOnPgvector(t *testing.T) {
	ctx := context.Background()
	st := pgtest.Open(t, pgvector.Options{})
	c, err := Open(ctx, "kb", Options{Index: st, Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ingest(ctx, []Document{{ID: "a", Title: "Kettle", Text: "The kettle boils a litre in four minutes."},
		{ID: "b", Title: "Desk", Text: "The desk rises to 130 centimetres."}}); err != nil {
		t.Fatal(err)
	}
	again, err := Open(ctx, "kb", Options{Index: st, Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := again.Search(ctx, Query{Text: "how long does the kettle take to boil", K: 1})
	if err != nil || len(ps) != 1 || ps[0].Doc != "a" || again.Documents() != 2 {
		t.Errorf("after reopening on pgvector: %+v %v", ps, err)
	}
	// The vectors are searched in PostgreSQL, never copied into the
	// process, which another replica's ingest would leave stale.
	if again.mem.vectors || again.mem.vec != nil {
		t.Error("a collection on pgvector keeps its vectors in process")
	}
	vps, err := again.Search(ctx, Query{Text: "how long does the kettle take to boil", K: 1, Mode: ModeVector})
	if err != nil || len(vps) != 1 || vps[0].Doc != "a" || vps[0].Similarity <= 0 {
		t.Errorf("vector search on pgvector: %+v %v", vps, err)
	}
}

// flipped is another embedder of the same dimension: the local one's
// vectors negated, under another fingerprint. Searching its queries
// against the other's chunks would rank the worst passage first.
type flipped struct {
	embed.Embedder
	calls int
}

func (f *flipped) Fingerprint() embed.Fingerprint {
	fp := f.Embedder.Fingerprint()
	fp.Model += "-flipped"
	return fp
}

func (f *flipped) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	f.calls += len(texts)
	vs, err := f.Embedder.Embed(ctx, texts)
	for _, v := range vs {
		for i := range v {
			v[i] = -v[i]
		}
	}
	return vs, err
}

// TestEmbedderChangeReembeds: a collection opened with another embedder
// than its chunks were stored with embeds them again, once, so its vector
// search still finds the passage (switching to the trained encoder, which
// has GloVe's dimension, must not mix two vector spaces).
func TestEmbedderChangeReembeds(t *testing.T) {
	ctx := context.Background()
	idx, err := chromem.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	docs := []Document{{ID: "a", Title: "Kettle", Text: "The kettle boils a litre in four minutes."},
		{ID: "b", Title: "Desk", Text: "The desk rises to 130 centimetres."},
		{ID: "c", Title: "Lamp", Text: "The lamp has three brightness settings and a warm white bulb."}}
	c, err := Open(ctx, "kb", Options{Index: idx, Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ingest(ctx, docs); err != nil {
		t.Fatal(err)
	}
	other := &flipped{Embedder: localtest.Open(t)}
	again, err := Open(ctx, "kb", Options{Index: idx, Embedder: other, Mode: ModeVector})
	if err != nil {
		t.Fatal(err)
	}
	if other.calls != 3 {
		t.Errorf("reopening with another embedder embedded %d chunks, want the 3 stored", other.calls)
	}
	ps, err := again.Search(ctx, Query{Text: "how long does the kettle take to boil", K: 1})
	if err != nil || len(ps) != 1 || ps[0].Doc != "a" {
		t.Errorf("vector search after the change of embedder: %+v %v", ps, err)
	}
	other.calls = 0
	if _, err := Open(ctx, "kb", Options{Index: idx, Embedder: other}); err != nil {
		t.Fatal(err)
	}
	if other.calls != 0 {
		t.Errorf("reopening with the same embedder embedded %d chunks again", other.calls)
	}
}
