package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testsum", flag.ContinueOnError)
	fs.SetOutput(stderr)
	goCmd := fs.String("go", "go", "the go command")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmd := exec.Command(*goCmd, append([]string{"test", "-json"}, fs.Args()...)...)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintf(stderr, "testsum: %v\n", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "testsum: start go test: %v\n", err)
		return 2
	}
	s := newSummary(stdout)
	readErr := s.read(out)
	status := 0
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			fmt.Fprintf(stderr, "testsum: go test: %v\n", err)
		}
		status = max(1, cmd.ProcessState.ExitCode())
	}
	if readErr != nil {
		fmt.Fprintf(stderr, "testsum: read go test's output: %v\n", readErr)
		status = max(status, 1)
	}
	return s.finish(status)
}
