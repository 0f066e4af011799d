package main

import (
	"context"
	"io"
)

func runEvalCascade(ctx context.Context, args []string, stdout, stderr io.Writer) error { return nil }
