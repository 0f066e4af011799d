package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/semroute/semroute/embed"
)

// embedBatch is how many lines go to the embedder at once: one request to
// a remote embedder, and enough for the embedded default to use every core.
const embedBatch = 512

// embedLine is one line of semroute embed's output.
type embedLine struct {
	Text      *string   `json:"text,omitempty"`
	Embedding []float32 `json:"embedding,omitempty"`
	Error     string    `json:"error,omitempty"`
}

func runEmbed(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("embed", stderr)
	config := fs.String("config", "", "the YAML config whose embedder to use (default: the embedded default)")
	noText := fs.Bool("no-text", false, "print only the embedding, not the text, on each line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("semroute embed reads its texts from stdin, one a line; got arguments %q", fs.Args())}
	}
	cfg, err := configOrDefault(*config)
	if err != nil {
		return err
	}
	emb, closeEmb, err := openEmbedder(ctx, cfg.Embedder)
	if err != nil {
		return err
	}
	defer closeEmb()
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	e := &embedWriter{ctx: ctx, emb: emb, enc: json.NewEncoder(out), text: !*noText}
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		if err := e.add(line, strings.TrimSuffix(sc.Text(), "\r")); err != nil { // CRLF files too
			return err
		}
	}
	if err := sc.Err(); err != nil {
		e.flush()
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("read texts from stdin: line %d is longer than 4 MiB", e.lines+1)
		}
		return fmt.Errorf("read texts from stdin: %w", err)
	}
	if err := e.flush(); err != nil {
		return err
	}
	if e.bad > 0 {
		return fmt.Errorf("%d of %d line(s) could not be embedded", e.bad, e.lines)
	}
	return nil
}

// embedWriter embeds lines in batches and prints one JSON line for each,
// in input order: the vector, or the reason a line has none.
type embedWriter struct {
	ctx        context.Context
	emb        embed.Embedder
	enc        *json.Encoder
	text       bool
	pending    []embedLine // in order; the ones with an error are not embedded
	texts      []string
	lines, bad int
}

func (e *embedWriter) add(line int, s string) error {
	e.lines++
	switch {
	case !utf8.ValidString(s):
		e.bad++
		e.pending = append(e.pending, embedLine{Error: fmt.Sprintf("line %d: not valid UTF-8", line)})
	case strings.TrimSpace(s) == "":
		e.bad++
		e.pending = append(e.pending, embedLine{Error: fmt.Sprintf("line %d: empty", line)})
	default:
		l := embedLine{}
		if e.text {
			l.Text = &s
		}
		e.pending = append(e.pending, l)
		e.texts = append(e.texts, s)
	}
	if len(e.texts) >= embedBatch {
		return e.flush()
	}
	return nil
}

func (e *embedWriter) flush() error {
	var vecs [][]float32
	if len(e.texts) > 0 {
		var err error
		if vecs, err = e.emb.Embed(e.ctx, e.texts); err != nil {
			return fmt.Errorf("embed lines %d–%d: %w", e.lines-len(e.pending)+1, e.lines, err)
		}
	}
	for _, l := range e.pending {
		if l.Error == "" {
			l.Embedding, vecs = vecs[0], vecs[1:]
		}
		if err := e.enc.Encode(l); err != nil {
			return err
		}
	}
	e.pending, e.texts = e.pending[:0], e.texts[:0]
	return nil
}
