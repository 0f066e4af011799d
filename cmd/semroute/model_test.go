package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local"
)

// TestModelTrain trains on a pairs directory written here (every
// permissive source and the lexicon, 150 pairs of two-word sentences
// each, over a 40-word vocabulary) and checks the written file opens with the
// encoder's fingerprint; without --pairs the command is a usage error.
func TestModelTrain(t *testing.T) {
	if code, _, stderr := semroute(t, "", "model", "train"); code != 2 || !strings.Contains(stderr, "--pairs") {
		t.Errorf("without --pairs: exit %d, %q; want 2 naming --pairs", code, stderr)
	}
	dir := t.TempDir()
	v := local.Vocab{Source: "fixture", Dim: 4}
	for i := range 40 {
		v.Words = append(v.Words, fmt.Sprintf("w%d", i))
		v.Vectors = append(v.Vectors, float32(i%3), float32(i%5), float32(i%7), 1)
	}
	vectors := filepath.Join(dir, local.FileName)
	if err := local.Write(vectors, v); err != nil {
		t.Fatal(err)
	}
	files := []string{local.LexiconFile}
	for _, s := range local.PermissiveSources {
		files = append(files, filepath.Join(s.Folder, "pairs.jsonl.gz"))
	}
	for _, f := range files {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		for i := range 150 {
			fmt.Fprintf(zw, "{\"a\":\"w%d w%d\",\"b\":\"w%d w%d\"}\n", i%40, i/40, (i+2)%40, (i+3)%40)
		}
		zw.Close()
		path := filepath.Join(dir, "pairs", f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, local.EncoderFileName)
	code, stdout, stderr := semroute(t, "", "model", "train", "--pairs", filepath.Join(dir, "pairs"), "--vectors", vectors, "--out", out, "--epochs", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	e, err := local.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if fp := e.Fingerprint(); fp.Model != "semroute-enc1" || !strings.Contains(stdout, fp.String()) {
		t.Errorf("fingerprint %s; stdout %q", fp, stdout)
	}
	if !strings.Contains(stdout, "held-out separation") {
		t.Errorf("stdout %q: want the held-out measures", stdout)
	}
}
