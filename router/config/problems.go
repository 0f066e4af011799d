package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/token"
)

// Problem is one thing wrong in a config.
type Problem struct {
	Line   int    // 0 when unknown
	Column int    // 0 when unknown
	Field  string // e.g. intents[2].target
	Msg    string
}

// ConfigError lists every problem found in a config.
type ConfigError struct {
	File     string
	Problems []Problem
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "config %s: %d problem(s):", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		switch {
		case p.Line > 0 && p.Column > 0:
			fmt.Fprintf(&b, "line %d, column %d: ", p.Line, p.Column)
		case p.Line > 0:
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		if p.Field != "" {
			fmt.Fprintf(&b, "%s: ", p.Field)
		}
		b.WriteString(p.Msg)
	}
	return b.String()
}

// ErrConfig is wrapped by every *ConfigError.
var ErrConfig = errors.New("invalid config")

func (e *ConfigError) Unwrap() error { return ErrConfig }

type problems struct {
	c    *Config
	list []Problem
	more int // past maxProblems, only counted
}

// maxProblems bounds the problems listed: past it they are counted, which
// keeps a file with millions of them (aliases that multiply) from taking
// minutes to report.
const maxProblems = 200

func (ps *problems) add(field, format string, args ...any) {
	if len(ps.list) >= maxProblems {
		ps.more++
		return
	}
	ps.list = append(ps.list, Problem{Line: ps.c.lineOf(field), Field: field, Msg: fmt.Sprintf(format, args...)})
}

// lineOf finds the line of a field (like "intents[2].target") in the parsed
// file, or of its nearest parent that is there.
func (c *Config) lineOf(field string) int {
	if c.ast == nil {
		return 0
	}
	for f := field; f != ""; {
		if p, err := yaml.PathString("$." + f); err == nil {
			if n, err := p.FilterFile(c.ast); err == nil && n != nil && n.GetToken() != nil {
				return n.GetToken().Position.Line
			}
		}
		i := strings.LastIndexAny(f, ".[")
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return 0
}

// problemOf is a problem from an error of the YAML library, where the
// lenient decoding found none: the library's message, at its position.
func problemOf(err error) Problem {
	p := Problem{Msg: plainMessage(err)}
	var le interface{ GetToken() *token.Token }
	if errors.As(err, &le) && le.GetToken() != nil && le.GetToken().Position != nil {
		p.Line, p.Column = le.GetToken().Position.Line, le.GetToken().Position.Column
	}
	return p
}

// related reports whether one field path is the other or inside it:
// "intents[2]" and "intents[2].target.model".
func related(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || a != "" && strings.HasPrefix(b, a) && (b[len(a)] == '.' || b[len(a)] == '[')
}

// mergeProblems puts the decoding's problems with the validation's, in
// the order of the file. A validation problem about a field that could
// not be decoded (a missing target, where the target had the wrong type)
// says nothing new and is left out.
func mergeProblems(decoded, validated []Problem, more int) []Problem {
	all := slices.Clone(decoded)
	for _, v := range validated {
		if !slices.ContainsFunc(decoded, func(d Problem) bool { return related(d.Field, v.Field) }) {
			all = append(all, v)
		}
	}
	slices.SortStableFunc(all, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			return b.Line - a.Line // unknown lines last
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	if more > 0 {
		all = append(all, Problem{Msg: fmt.Sprintf("and %d more problem(s), not listed", more)})
	}
	return all
}
