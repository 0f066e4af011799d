package embed

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func words(t *Tokens) []string {
	out := []string{}
	for i := 0; i < t.Len(); i++ {
		out = append(out, string(t.Word(i)))
	}
	return out
}

func TestTokens(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"lower-cases and splits", "Where IS my Order?", []string{"where", "is", "my", "order"}},
		{"digits stay", "order 1234 arrived", []string{"order", "1234", "arrived"}},
		{"n't clitic", "I don't know", []string{"i", "do", "n't", "know"}},
		{"'s clitic", "what's up", []string{"what", "'s", "up"}},
		{"curly apostrophe", "can’t log in", []string{"ca", "n't", "log", "in"}},
		{"quotes are not clitics", "say 'hello' now", []string{"say", "hello", "now"}},
		{"unicode letters", "Café Español ÜBER", []string{"café", "español", "über"}},
		{"invalid utf-8 separates", "ab\xffcd", []string{"ab", "cd"}},
		{"empty", "", []string{}},
		{"only punctuation", " ?! -- ", []string{}},
		{"hyphen splits", "usb-c cable", []string{"usb", "c", "cable"}},
	}
	var tok Tokens
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok.Reset(tc.in)
			if diff := cmp.Diff(tc.want, words(&tok)); diff != "" {
				t.Errorf("Reset(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestTokensBounded(t *testing.T) {
	var tok Tokens
	tok.Reset(strings.Repeat("word ", 1<<18)) // 1.25 MB
	if tok.Len() != MaxTokens {
		t.Fatalf("Len = %d, want the bound %d", tok.Len(), MaxTokens)
	}
}

func TestFeaturesDistinguishSpelling(t *testing.T) {
	feats := func(s string) map[uint64]float32 {
		m := map[uint64]float32{}
		for _, f := range AppendFeatures(nil, s) {
			m[f.Hash] += f.Weight
		}
		return m
	}
	a, b, c := feats("refund my order"), feats("refnud my order"), feats("weather in paris")
	shared := func(x, y map[uint64]float32) int {
		n := 0
		for h := range x {
			if _, ok := y[h]; ok {
				n++
			}
		}
		return n
	}
	if ab, ac := shared(a, b), shared(a, c); ab <= ac+5 {
		t.Errorf("a misspelling shares %d features, an unrelated text %d: char n-grams should keep the misspelling close", ab, ac)
	}
	if len(AppendFeatures(nil, "   ")) != 0 {
		t.Error("blank text has features")
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{"", "don't", "what’s", "a'b'c", "''", "n't", "\xff\xfe", "Ünïcödé 123", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var tok Tokens
		tok.Reset(s)
		if tok.Len() > MaxTokens {
			t.Fatalf("%d tokens", tok.Len())
		}
		for i := 0; i < tok.Len(); i++ {
			w := tok.Word(i)
			if len(w) == 0 {
				t.Fatalf("empty token %d of %q", i, s)
			}
			if !utf8.Valid(w) {
				t.Fatalf("token %q is not valid UTF-8", w)
			}
		}
		for _, f := range tok.AppendFeatures(nil, nil) {
			if f.Weight <= 0 || f.Weight > 1 {
				t.Fatalf("feature weight %v", f.Weight)
			}
		}
	})
}
