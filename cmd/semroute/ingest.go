package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/rag/ragpg"
)

func runIngest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("ingest", stderr)
	config := fs.String("config", "", "the YAML config (required): its index and the collection's settings")
	collection := fs.String("collection", "", "the rag collection to add to (required)")
	maxMB := fs.Int("max-file-mb", rag.DefaultMaxFileBytes>>20, "refuse files larger than this")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *collection == "" || fs.NArg() == 0 {
		return usageError{errors.New("--collection NAME and at least one PATH are required")}
	}
	cfg, err := loadConfig(*config, "")
	if err != nil {
		return err
	}
	rc := cfg.RAGNamed(*collection)
	if rc == nil {
		return fmt.Errorf("no rag collection %q in %s; add it under rag", *collection, *config)
	}
	files, err := walk(fs.Args())
	if err != nil {
		return err
	}
	emb, closeEmb, err := openEmbedder(ctx, cfg.Embedder)
	if err != nil {
		return err
	}
	defer closeEmb()
	idx, err := openIndex(ctx, cfg.Index)
	if err != nil {
		return err
	}
	defer idx.Close()
	o := rag.OptionsOf(rc, idx, emb)
	if pg, ok := idx.(*pgvector.Store); ok { // the serving replicas hear of it, and no two writers interleave
		o.Coordinator = ragpg.New(pg.DB())
	}
	col, err := rag.Open(ctx, rc.Name, o)
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if !*quiet && len(files) > 1 {
		bar = progressbar.NewOptions(len(files), progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("ingest"),
			progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
	}
	var total rag.Stats
	var bad []string
	for _, f := range files {
		docs, err := rag.ReadFile(f, int64(*maxMB)<<20)
		if err == nil {
			var st rag.Stats
			st, err = col.Ingest(ctx, docs)
			total.Documents += st.Documents
			total.Unchanged += st.Unchanged
			total.Chunks += st.Chunks
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			bad = append(bad, err.Error())
		}
		if bar != nil {
			bar.Add(1)
		}
	}
	fmt.Fprintf(stdout, "%s: %d files; %d documents added or replaced (%d chunks), %d unchanged; the collection holds %d documents in %d chunks\n",
		rc.Name, len(files), total.Documents, total.Chunks, total.Unchanged, col.Documents(), col.Chunks())
	if len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintln(stderr, "  skipped:", b)
		}
		return fmt.Errorf("%d of %d files could not be ingested (listed above); the rest went in", len(bad), len(files))
	}
	return nil
}

// walk lists the files under paths, directories recursively, hidden files
// and directories left out, in a stable order.
func walk(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
