package local

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// writeMini converts testdata/mini.json (6 words, 3 dimensions) into a
// vectors file and opens it.
func writeMini(t *testing.T) (*Embedder, string) {
	t.Helper()
	v, err := ReadWink("testdata/mini.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := Write(path, v); err != nil {
		t.Fatal(err)
	}
	e, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, path
}

func TestReadWink(t *testing.T) {
	v, err := ReadWink("testdata/mini.json")
	if err != nil {
		t.Fatal(err)
	}
	if v.Dim != 3 || len(v.Words) != 6 {
		t.Fatalf("dim %d, %d words", v.Dim, len(v.Words))
	}
	if v.Words[4] != `a"b` || v.Words[5] != "café" {
		t.Errorf("words by rank = %q", v.Words)
	}
	if got := v.Vectors[2*3+1]; got != 1 {
		t.Errorf("refund[1] = %v, want 1", got)
	}
}

func TestReadWinkRejects(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"notjson.json":   "hello",
		"short.json":     `{"precision":8,"l2NormIndex":2,"wordIndex":3,"size":1,"dimensions":2,"words":["x"],"vectors":{"x":[1,0]}}`,
		"badnum.json":    `{"precision":8,"l2NormIndex":2,"wordIndex":3,"size":1,"dimensions":2,"words":["x"],"vectors":{"x":[1,zz,1,0]}}`,
		"missing.json":   `{"precision":8,"l2NormIndex":2,"wordIndex":3,"size":2,"dimensions":2,"words":["x","y"],"vectors":{"x":[1,0,1,0]}}`,
		"notgzip.tgz":    "plain text",
		"wrongrank.json": `{"precision":8,"l2NormIndex":2,"wordIndex":3,"size":1,"dimensions":2,"words":["x"],"vectors":{"x":[1,0,1,7]}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name)
			os.WriteFile(p, []byte(body), 0o644)
			if _, err := ReadWink(p); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestLookupAndCorrect(t *testing.T) {
	e, _ := writeMini(t)
	for w, want := range map[string]int{"the": 0, "refund": 2, "café": 5, `a"b`: 4, "nope": -1} {
		if got := e.t.lookup([]byte(w)); got != want {
			t.Errorf("lookup(%q) = %d, want %d", w, got, want)
		}
	}
	for w, want := range map[string]int{
		"refnud": 2, "refunds": 2, "rfund": 2, "parcell": 3, "orderr": 1,
		"ord": -1, "zzzzzz": -1, "ref1nd": -1, // too short, too far, not a-z
	} {
		if got := e.t.correct([]byte(w)); got != want {
			t.Errorf("correct(%q) = %d, want %d", w, got, want)
		}
	}
}

func TestEmbedUnitAndDeterministic(t *testing.T) {
	e, _ := writeMini(t)
	ctx := context.Background()
	texts := []string{"the order", "refund", "refnud", "", "zzz qqq", "ORDER the"}
	a, err := e.Embed(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range a {
		if len(v) != e.Dim() {
			t.Fatalf("vector %d has %d dims, want %d", i, len(v), e.Dim())
		}
		n := norm(v)
		switch texts[i] {
		case "":
			if n != 0 {
				t.Errorf("empty text: norm %v, want 0", n)
			}
		default:
			if math.Abs(n-1) > 1e-4 && texts[i] != "zzz qqq" {
				t.Errorf("%q: norm %v, want 1", texts[i], n)
			}
		}
	}
	b, _ := e.Embed(ctx, texts)
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("embedding %q twice differs", texts[i])
			}
		}
	}
	// A misspelling lands near the word, an unrelated word does not.
	if cos(a[1], a[2]) < 0.55 { // the word-vector share (0.6) is restored by the correction
		t.Errorf("cos(refund, refnud) = %v, want ≥ 0.55", cos(a[1], a[2]))
	}
	if cos(a[1], a[0]) > cos(a[1], a[2]) {
		t.Errorf("refund is closer to 'the order' than to its misspelling")
	}
}

func TestEmbedConcurrent(t *testing.T) {
	e, _ := writeMini(t)
	want := e.EmbedTo(make([]float32, e.Dim()), "refund the parcel")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := make([]float32, e.Dim())
			for i := 0; i < 200; i++ {
				got := e.EmbedTo(v, "refund the parcel")
				for j := range want {
					if got[j] != want[j] {
						t.Error("concurrent embedding differs")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestOpenErrors(t *testing.T) {
	_, path := writeMini(t)
	data, _ := os.ReadFile(path)

	_, err := Open(filepath.Join(t.TempDir(), "none.semvec"))
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "make model") {
		t.Errorf("missing file: %v, want ErrMissing naming `make model`", err)
	}
	for name, mutate := range map[string]func([]byte) []byte{
		"flipped byte": func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b },
		"truncated":    func(b []byte) []byte { return b[:len(b)-9] },
		"bad magic":    func(b []byte) []byte { b[0] = 'X'; return b },
		"future version": func(b []byte) []byte {
			b[8] = 9
			return b
		},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.semvec")
			os.WriteFile(p, mutate(append([]byte{}, data...)), 0o644)
			_, err := Open(p)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "make model") {
				t.Errorf("err = %v, want ErrCorrupt naming `make model`", err)
			}
		})
	}
}

func TestImportIdempotent(t *testing.T) {
	dst := filepath.Join(t.TempDir(), FileName)
	wrote, err := Import("testdata/mini.json", dst)
	if err != nil || !wrote {
		t.Fatalf("first import: wrote %v, %v", wrote, err)
	}
	wrote, err = Import("testdata/mini.json", dst)
	if err != nil || wrote {
		t.Fatalf("second import: wrote %v, %v; want it to see the file is up to date", wrote, err)
	}
	if _, err := Import(filepath.Join(t.TempDir(), "absent.tgz"), filepath.Join(t.TempDir(), "x.semvec")); err == nil || !strings.Contains(err.Error(), "npm pack") {
		t.Errorf("import without the tarball: %v, want a hint to run npm pack", err)
	}
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func cos(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s / (norm(a)*norm(b) + 1e-12)
}
