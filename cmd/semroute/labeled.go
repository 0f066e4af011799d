package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/semroute/semroute/intents"
)

// labelFlags are --text-field and --label-field, on every command that
// reads labeled files.
type labelFlags struct {
	cmd         string
	text, label *string
	stderr      io.Writer
}

func addLabelFlags(fs *flag.FlagSet, cmd string, stderr io.Writer) *labelFlags {
	return &labelFlags{cmd: cmd, stderr: stderr,
		text:  fs.String("text-field", "text", "the field (JSONL) or column (CSV) of labeled files that holds the text"),
		label: fs.String("label-field", "label", "the field (JSONL) or column (CSV) of labeled files that holds the label")}
}

// maxIgnoredNamed bounds the ignored fields one line names.
const maxIgnoredNamed = 10

// read reads a labeled file with the flags' field names. Other fields are
// ignored, and named in one line on stderr for the file (not one a row).
func (l *labelFlags) read(path string) ([]intents.Example, error) {
	f := intents.Fields{}
	if l != nil {
		f = intents.Fields{Text: *l.text, Label: *l.label}
	}
	lab, err := intents.ReadLabeledWith(path, f)
	if err != nil {
		return nil, err
	}
	if n := len(lab.Ignored); n > 0 && l != nil {
		names := strings.Join(lab.Ignored[:min(n, maxIgnoredNamed)], ", ")
		if n > maxIgnoredNamed {
			names += fmt.Sprintf(" and %d more", n-maxIgnoredNamed)
		}
		fmt.Fprintf(l.stderr, "semroute %s: %s: ignoring %d other field(s): %s (reading %s and %s)\n",
			l.cmd, path, n, names, *l.text, *l.label)
	}
	return lab.Examples, nil
}
