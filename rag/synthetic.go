package rag

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Synthetic makes the corpus that `semroute bench rag` and
// BenchmarkSearchSynthetic time: documents of 80 words, one chunk each,
// each on one of 2,000 topics of 12 rarer words, a third of its words
// drawn from its topic and the rest from the 300 commonest; queries are
// 8 such words. word(r) is the embedder's r-th commonest word. The same
// seed gives the same documents and queries.
type Synthetic struct {
	rng    *rand.Rand
	topics [][]string
	word   func(rank int) string
}

// NewSynthetic seeds a corpus.
func NewSynthetic(word func(rank int) string, seed uint64) *Synthetic {
	s := &Synthetic{rng: rand.New(rand.NewPCG(seed, 3)), topics: make([][]string, 2000), word: word}
	for i := range s.topics {
		for range 12 {
			s.topics[i] = append(s.topics[i], word(300+s.rng.IntN(30000)))
		}
	}
	return s
}

// Docs makes n documents, IDs "0" to n-1.
func (s *Synthetic) Docs(n int) []Document {
	docs := make([]Document, n)
	for i := range docs {
		docs[i] = Document{ID: fmt.Sprint(i), Title: fmt.Sprint("doc ", i), Text: s.text(80)}
	}
	return docs
}

// Query makes a query of 8 words on a topic.
func (s *Synthetic) Query() string { return s.text(8) }

func (s *Synthetic) text(words int) string {
	topic := s.topics[s.rng.IntN(len(s.topics))]
	var b strings.Builder
	for range words {
		if s.rng.IntN(3) == 0 {
			b.WriteString(topic[s.rng.IntN(len(topic))])
		} else {
			b.WriteString(s.word(s.rng.IntN(300)))
		}
		b.WriteByte(' ')
	}
	return b.String()
}
