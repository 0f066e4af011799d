package local_test

import (
	"context"
	"testing"

	"github.com/semroute/semroute/embed/local"
	"github.com/semroute/semroute/embed/local/localtest"
)

func TestRealVectors(t *testing.T) {
	e := localtest.Open(t)
	if e.Words() < 300_000 || e.Dim() != 256 {
		t.Fatalf("%d words, dim %d: want the 341k-word GloVe file and 256-d vectors", e.Words(), e.Dim())
	}
	vs, err := e.Embed(context.Background(), []string{
		"I want my money back", "please refund my purchase", "what is the weather in paris",
	})
	if err != nil {
		t.Fatal(err)
	}
	near, far := dot(vs[0], vs[1]), dot(vs[0], vs[2])
	if near <= far {
		t.Errorf("cos(money back, refund) = %.3f ≤ cos(money back, weather) = %.3f", near, far)
	}
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func BenchmarkEmbedShortPrompt(b *testing.B) {
	e := localtest.Open(b)
	v := make([]float32, e.Dim())
	prompts := []string{
		"where is my order", "I forgot my password and can't log in",
		"how do I get a refund for a broken kettle", "what's the weather like in paris tomorrow",
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e.EmbedTo(v, prompts[i%len(prompts)])
	}
}

// BenchmarkOpen is the start-up cost of the embedded default: map the 44 MB
// file and verify its checksum.
func BenchmarkOpen(b *testing.B) {
	localtest.Open(b) // skip when the file is absent
	for b.Loop() {
		e, err := local.Open(localtest.Path())
		if err != nil {
			b.Fatal(err)
		}
		e.Close()
	}
}
