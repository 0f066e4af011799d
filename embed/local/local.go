package local

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/internal/simd"
)

// FileName is the vectors file's name inside the cache directory.
const FileName = "wink-glove-100d.semvec"

// EncoderFileName is the trained encoder's vectors file (`make encoder`,
// `semroute model train`), beside FileName in the cache directory: the
// same format and recipe, with word vectors fine-tuned on sentence pairs
// (train.go).
const EncoderFileName = "semroute-encoder-100d.semvec"

// DefaultPath is where Open looks when given no path: FileName in CacheDir.
// The command (cmd/semroute) puts $SEMROUTE_CACHE first and passes the
// path in; this package reads no variable of its own.
func DefaultPath() string {
	return filepath.Join(CacheDir(), FileName)
}

// CacheDir is the directory of DefaultPath: $XDG_CACHE_HOME/semroute, else
// ~/.cache/semroute (os.UserCacheDir).
func CacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "semroute")
	}
	return filepath.Join(os.TempDir(), "semroute-cache")
}

// The dense vector is two unit blocks side by side, each scaled so the whole
// is unit length: the SIF-weighted mean of the words' GloVe vectors, and the
// word/char n-gram features hashed into hashDim signed buckets. Cosine
// similarity of two such vectors is wordShare × (GloVe cosine) +
// (1-wordShare) × (n-gram cosine): meaning from the word vectors, spelling
// and unknown words from the n-grams.
const (
	hashDim   = 156 // 100 + 156 = 256 dimensions in all
	wordShare = 0.6
	// sifA is the a of smooth inverse frequency, a/(a+p(w)) (Arora et al.
	// 2017): frequent words ("the", "i", "to") weigh little.
	sifA = 1e-3
	// featureVersion changes whenever the vectors this embedder makes for
	// the same text change, so fitted data is refused rather than misread.
	featureVersion = "f2" // f1 had char 3- to 5-grams
)

// Embedder is the embedded default: offline, deterministic, safe for
// concurrent use.
type Embedder struct {
	t     *table
	unmap func() error
	fp    embed.Fingerprint
	logZ  float64 // ln N + γ: normaliser of the Zipf estimate of p(w)
	pool  sync.Pool
}

var _ embed.Embedder = (*Embedder)(nil)

type state struct {
	tok    embed.Tokens
	ranks  []int32
	feats  []embed.Feature
	addrs  []uintptr // cache lines to prefetch
	hashes []uint32  // the words' hashes in the table
}

// Open maps the vectors file at path (DefaultPath when empty) and checks it.
// A missing or corrupt file gives an error that names the command fixing it.
func Open(path string) (*Embedder, error) {
	if path == "" {
		path = DefaultPath()
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open embedder: %w at %s: run %s to create it", ErrMissing, path, makeCommand(path))
	}
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("open embedder: %w", err)
	}
	t, err := openTable(data)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("open embedder %s: %w: run %s to rebuild it", path, err, makeCommand(path))
	}
	e := &Embedder{t: t, unmap: unmap, logZ: math.Log(float64(t.hdr.Words)) + 0.5772}
	e.fp = embed.Fingerprint{
		Kind:    "local",
		Model:   t.hdr.Source,
		Dim:     int(t.hdr.Dim) + hashDim,
		Version: fmt.Sprintf("%s-%08x", featureVersion, crc32.Checksum(data[:headerSize], castagnoli)),
	}
	e.pool.New = func() any { return new(state) }
	return e, nil
}

// makeCommand is the command that writes the vectors file at path.
func makeCommand(path string) string {
	if filepath.Base(path) == EncoderFileName {
		return "`make encoder` (or `semroute model train`)"
	}
	return "`make model` (or `semroute model import`)"
}

// The similarity gate's default (the router's min_similarity when nothing
// sets it) for each vectors file. GloVe's 0.5 was chosen on CLINC150 val
// and the demo prompts. The trained encoder spreads unrelated texts
// further apart (held-out random pairings: mean cosine 0.12 against
// 0.44), so the same gate turns away in-scope prompts: on 10-shot
// CLINC150 val (seed 1), in-scope accuracy 68.1 % at 0.5 and 77.3 % at
// 0.3 for the encoder trained without the lexicon, 77.0 % at 0.4 and
// 78.7 % at 0.3 with it (GloVe at 0.5: 77.1 %); below 0.3 nothing
// changes.
const (
	gloveMinSimilarity   = 0.5
	encoderMinSimilarity = 0.3
)

// MinSimilarity is the similarity gate these vectors want when the
// config and thresholds file set none.
func (e *Embedder) MinSimilarity() float64 {
	if strings.HasPrefix(e.t.hdr.Source, EncoderSourcePrefix) {
		return encoderMinSimilarity
	}
	return gloveMinSimilarity
}

// Close unmaps the file. The Embedder must not be used afterwards.
func (e *Embedder) Close() error { return e.unmap() }

// Fingerprint identifies the vectors file and the feature recipe.
func (e *Embedder) Fingerprint() embed.Fingerprint { return e.fp }

// Dim is the length of the vectors.
func (e *Embedder) Dim() int { return e.fp.Dim }

// WordDim is the length of the vectors' leading block, the SIF-weighted
// mean of the word vectors (embed.WordBlock).
func (e *Embedder) WordDim() int { return int(e.t.hdr.Dim) }

// Words is the vocabulary size.
func (e *Embedder) Words() int { return int(e.t.hdr.Words) }

// Embed returns one unit vector per text (the zero vector for a text with no
// word at all). It never fails on content; ctx is checked between texts.
// Large batches are embedded on every core.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	slab := make([]float32, len(texts)*e.fp.Dim)
	d := e.fp.Dim
	workers := max(min(runtime.GOMAXPROCS(0), len(texts)/parallelBatch), 1)
	if workers == 1 { // a short batch, such as a prompt: no goroutine to wait for
		for i, t := range texts {
			if i%256 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			out[i] = e.EmbedTo(slab[i*d:(i+1)*d:(i+1)*d], t)
		}
		return out, nil
	}
	chunk := (len(texts) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(texts); lo += chunk {
		wg.Go(func() {
			for i := lo; i < min(lo+chunk, len(texts)); i++ {
				if (i-lo)%256 == 0 && ctx.Err() != nil {
					return
				}
				out[i] = e.EmbedTo(slab[i*d:(i+1)*d:(i+1)*d], texts[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// parallelBatch is the least number of texts per core worth a goroutine.
const parallelBatch = 256

// EmbedTo writes the vector of text into dst (len Dim) and returns it. It
// allocates nothing once its pooled buffers have grown.
func (e *Embedder) EmbedTo(dst []float32, text string) []float32 {
	return e.embed(dst, text)
}

// EmbedFeatures is EmbedTo and AppendFeatures in one pass over the text:
// it writes the vector into dst and appends the features to feats.
func (e *Embedder) EmbedFeatures(dst []float32, feats []embed.Feature, text string) ([]float32, []embed.Feature) {
	s := e.pool.Get().(*state)
	defer e.pool.Put(s)
	dst = e.embedState(s, dst, text)
	return dst, append(feats, s.feats...)
}

func (e *Embedder) embed(dst []float32, text string) []float32 {
	s := e.pool.Get().(*state)
	defer e.pool.Put(s)
	return e.embedState(s, dst, text)
}

// embedState computes text's vector into dst, leaving its features in
// s.feats.
func (e *Embedder) embedState(s *state, dst []float32, text string) []float32 {
	s.tok.Reset(text)
	e.ranks(s)
	clear(dst)
	wd := int(e.t.hdr.Dim)
	words, hashed := dst[:wd], dst[wd:]
	for _, r := range s.ranks {
		if r >= 0 {
			e.t.addTo(words, int(r), e.weightOf(r))
		}
	}
	s.feats = s.tok.AppendFeatures(s.feats[:0], func(i int) float32 { return e.weightOf(s.ranks[i]) })
	for _, f := range s.feats {
		b := f.Hash % hashDim
		if f.Hash>>63 == 0 {
			hashed[b] += f.Weight
		} else {
			hashed[b] -= f.Weight
		}
	}
	scaleUnit(words, float32(math.Sqrt(wordShare)))
	scaleUnit(hashed, float32(math.Sqrt(1-wordShare)))
	return dst
}

// AppendFeatures appends the hashed lexical features of text, weighted by
// word rarity, to dst: the sparse features the router's head learns from.
func (e *Embedder) AppendFeatures(dst []embed.Feature, text string) []embed.Feature {
	s := e.pool.Get().(*state)
	defer e.pool.Put(s)
	s.tok.Reset(text)
	e.ranks(s)
	return s.tok.AppendFeatures(dst, func(i int) float32 { return e.weightOf(s.ranks[i]) })
}

// ranks looks up every token, correcting one-edit misspellings of words the
// vocabulary lacks; -1 marks a word with no vector.
//
// The table is large and read at random, a few dependent lines a word:
// its slot, then its offset, string and vector. Before the lookups proper,
// it asks for every word's slot together, then for what the slots point
// at (simd.Prefetch), so that the words' cache misses overlap.
func (e *Embedder) ranks(s *state) {
	s.addrs, s.hashes = s.addrs[:0], s.hashes[:0]
	for i := 0; i < s.tok.Len(); i++ {
		h := hashWord(s.tok.Word(i))
		s.hashes = append(s.hashes, h)
		s.addrs = append(s.addrs, e.t.slotAddr(h))
	}
	simd.Prefetch(s.addrs)
	s.addrs = s.addrs[:0]
	for _, h := range s.hashes {
		s.addrs = e.t.entryLines(s.addrs, h)
	}
	simd.Prefetch(s.addrs)
	s.ranks = s.ranks[:0]
	for i := 0; i < s.tok.Len(); i++ {
		w := s.tok.Word(i)
		r := e.t.lookupHash(w, s.hashes[i])
		if r < 0 {
			r = e.correct(w)
		}
		s.ranks = append(s.ranks, int32(r))
	}
}

// weightOf is the SIF weight of the word of rank r; p(w) is estimated from
// the rank by Zipf's law, since the file lists words by frequency. Words
// without a vector are rare by definition and weigh 1.
func (e *Embedder) weightOf(r int32) float32 {
	if r < 0 {
		return 1
	}
	p := 1 / (float64(r+1) * e.logZ)
	return float32(sifA / (sifA + p))
}

func scaleUnit(v []float32, to float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	k := to / float32(math.Sqrt(ss))
	for i := range v {
		v[i] *= k
	}
}

// Word returns the vocabulary word of frequency rank i (0 is the most
// frequent).
func (e *Embedder) Word(i int) string { return e.t.word(i) }
