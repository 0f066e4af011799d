package local

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
)

// Pair is one training pair of the encoder: A and B mean the same or
// answer each other; Neg, when not empty, is a hard negative for A.
type Pair struct {
	A   string `json:"a"`
	B   string `json:"b"`
	Neg string `json:"neg,omitempty"`
}

// PairSource is one folder of the pairs data set (../shared/datasets/pairs)
// whose licence allows commercial use of what is trained on it. PerEpoch
// caps the pairs drawn from it in one epoch (0: all), so that captions and
// chit-chat do not drown the question sources.
type PairSource struct {
	Folder   string
	Licence  string
	Repo     string // where the converted data came from
	Commit   string
	PerEpoch int
}

// PermissiveSources are the only sources the shipped encoder is trained on:
// the permissive subset named by the data set's README, each folder's
// licence checked in its own README. README.md's "The trained encoder"
// section credits them.
var PermissiveSources = []PairSource{
	{"coco_captions_val2017", "CC BY 4.0", "ruizewang/evaluate", "1152656d3b8c66c48fc6a4357e159f5e21bd2d2d", 15000},
	{"disflqa", "CC BY 4.0", "google-research-datasets/Disfl-QA", "1f0c16171c77b3d3408be92c485f11b8998a9189", 0},
	{"canard_dev", "CC BY-SA 4.0", "aagohary/canard", "da8639cee97a50b3c62dc4d7e800c93675731186", 0},
	{"snli_devtest", "CC BY-SA 4.0", "OanaMariaCamburu/e-SNLI", "7b585a3f077fdea899780eb0473940522ae44a2e", 0},
	{"squad_qg", "CC BY-SA 4.0", "xinyadu/nqg", "8211129a3e97d29f3e4563e35f65e4a892f70ef0", 0},
	{"topical_chat", "CDLA-Sharing 1.0", "alexa/Topical-Chat", "7c939229cbcf6f55f6977b341a5a2f2fe982d53f", 8000},
}

// heldOutEvery: one pair in heldOutEvery, chosen by a hash of its A side,
// is never trained on; it measures the encoder (Separation).
const heldOutEvery = 50

// HeldOut says whether p belongs to the held-out slice.
func HeldOut(p Pair) bool {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(p.A)))
	return h.Sum32()%heldOutEvery == 0
}

// ReadPairs reads dir/folder/pairs.jsonl.gz (ReadPairsFile).
func ReadPairs(dir, folder string) ([]Pair, error) {
	return ReadPairsFile(filepath.Join(dir, folder, "pairs.jsonl.gz"))
}

// LexiconFile is the synonym lexicon of the pairs data set (PPDB 2.0 and
// PPDB-XL, CC BY 3.0), relative to its directory: word pairs.
const LexiconFile = "lexicon_ppdb_wordnet/synonyms.jsonl.gz"

// ReadPairsFile reads gzipped JSON lines {"a","b"[,"neg"]}. A bad line is
// an error naming the file and line.
func ReadPairsFile(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pairs: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read pairs %s: %w", path, err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var out []Pair
	for line := 1; sc.Scan(); line++ {
		var p Pair
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("read pairs %s line %d: %w", path, line, err)
		}
		if p.A == "" || p.B == "" {
			return nil, fmt.Errorf("read pairs %s line %d: want non-empty \"a\" and \"b\"", path, line)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read pairs %s: %w", path, err)
	}
	return out, nil
}

// SourcePairs is one source's pairs, split into training and held-out.
type SourcePairs struct {
	Source      PairSource
	Train, Held []Pair
}

// ReadSources reads every source under dir and splits each by HeldOut.
func ReadSources(dir string, sources []PairSource) ([]SourcePairs, error) {
	var out []SourcePairs
	for _, s := range sources {
		ps, err := ReadPairs(dir, s.Folder)
		if err != nil {
			return nil, err
		}
		sp := SourcePairs{Source: s}
		for _, p := range ps {
			if HeldOut(p) {
				sp.Held = append(sp.Held, p)
			} else {
				sp.Train = append(sp.Train, p)
			}
		}
		out = append(out, sp)
	}
	return out, nil
}
