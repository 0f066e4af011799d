// Command semroute is the semantic router: one binary whose subcommands
// import the embedded default's word vectors, route prompts and (as the
// issues land) serve, evaluate and benchmark.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// usage is README.md's list of commands (TestUsage holds them equal).
const usage = `semroute — route prompts by meaning

Usage:
  semroute model import [--from FILE.tgz] [--out FILE]     convert the word vectors (make model runs it)
  semroute model train --pairs DIR [--seed S] [--epochs N] [--out FILE]   train the encoder (make encoder runs it)
  semroute route --config FILE [--examples FILE] [--prompts FILE] [--format json|text] [--no-judge] [PROMPT ...]
  semroute serve --config FILE [--addr HOST:PORT] [--debug]   the OpenAI-compatible service; SIGHUP reloads the config
  semroute embed [--config FILE] [--no-text]              the vector of each stdin line, one JSON line each
  semroute intents expand --config FILE --model NAME [--per N] [--out FILE]   paraphrases of each intent's utterances, for review
  semroute bench [--intents N] [--per N] [--queries N]     routing speed on this machine, against a baseline
  semroute bench proxy [--cache [--exact]|--fresh] [--long] what the service adds to a call, against a loopback mock
  semroute bench soak [--rate R] [--duration D] [--every D]  memory and failures at a fixed rate, against a loopback mock
  semroute bench pgvector [--sizes N,N] [--dims D,D]      the PostgreSQL backend against exact search
  semroute bench rag [--chunks N,N]                       ingest rate and query latency of a rag collection
  semroute ingest --config FILE --collection NAME PATH...  add documents to a rag collection
  semroute eval rag --questions FILE --corpus FILE        retrieval quality: vector, BM25, hybrid, RRF
  semroute eval safety --data FILE [--exemplars FILE]    the moderation detector: recall, false positives
  semroute eval [--config FILE] [--train FILE [--shots N] [--seed S]] --test FILE [--val FILE] [--fit] [--objective O] [--top-k K] [--judge MODEL [--judge-below S]] [--out DIR] [--json]
  semroute eval --feedback DATA_DIR|FILE [--out FILE]     corrected routes as labeled rows (JSONL text,label)
  semroute eval cascade --data FILE [--models weak,strong] [--cost MODEL=USD] [--target-quality Q | --budget USD] [--out DIR] [--json]

Run 'semroute COMMAND --help' for a command's flags.
`

type command func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error

var commands = map[string]command{
	"model":   runModel,
	"route":   runRoute,
	"bench":   runBench,
	"eval":    runEval,
	"serve":   runServe,
	"ingest":  runIngest,
	"embed":   runEmbed,
	"intents": runIntents,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "semroute: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := cmd(ctx, args[1:], stdin, stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "semroute %s: %v\n", args[0], err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks errors in how a command was called (exit status 2).
type usageError struct{ error }

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("semroute "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}
