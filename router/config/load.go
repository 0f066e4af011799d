package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Load reads, fills in defaults and validates the config at path. Relative
// paths in it (data_dir, thresholds_file, the vectors file) are taken from
// the config file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes YAML and fills in defaults. It returns an error for a file
// it cannot read at all (empty, not YAML, a local tag). Values of the wrong
// type and unknown keys are kept as problems that Validate reports with its
// own, all together: a config from Parse must be validated before use.
// name is used in messages and to resolve relative paths.
func Parse(data []byte, name string) (*Config, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, fmt.Errorf("load config %s: the file is empty; see datasets/demo/config.yaml for an example", name)
	}
	c := &Config{}
	var file *ast.File
	var tag *ast.TagNode
	var strict error // the strict decoder's
	err := safely(func() error {
		var err error
		// Keys given twice are left to the decoding, which reports them
		// with the file's other problems.
		if file, err = parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey()); err != nil {
			return err
		}
		if tag = firstTag(file); tag != nil && !strings.HasPrefix(tag.Start.Value, "!!") {
			// A config has no use for a local tag, and the decoder no way
			// to read one ("!include" is not YAML).
			return fmt.Errorf("line %d: %s: the tag %s is not supported; write the value itself", tag.Start.Position.Line, nodePath(tag), tag.Start.Value)
		}
		strict = yaml.UnmarshalWithOptions(data, c, yaml.DisallowUnknownField())
		return nil
	})
	var fault decoderFault
	if errors.As(err, &fault) && tag != nil {
		err = fmt.Errorf("%w; the tag %s at line %d (%s) is the likely cause", err, tag.Start.Value, tag.Start.Position.Line, nodePath(tag))
	}
	if err == nil {
		err = c.readFieldByField(file, strict)
	}
	if err != nil {
		return nil, fmt.Errorf("load config %s: %s", name, yaml.FormatError(err, false, false))
	}
	// Set after decoding: a document that is null zeroes the whole struct.
	c.path, c.ast = name, file
	c.SetDefaults(filepath.Dir(name))
	return c, nil
}

// readFieldByField reads the file again field by field: where the strict
// decoder failed (strict), to find every problem, not only the first; where
// it did not, for the keys it drops without a word. The problems wait for
// Validate.
func (c *Config) readFieldByField(file *ast.File, strict error) error {
	lenient := &Config{}
	var problems []Problem
	if err := safely(func() error {
		problems, c.moreProblems = decodeLeniently(file, lenient)
		return nil
	}); err != nil {
		return strict // the library panicked on a leaf: go by the strict decoder
	}
	if strict != nil {
		more := c.moreProblems
		*c = *lenient
		c.moreProblems = more
		if len(problems) == 0 {
			problems = []Problem{problemOf(strict)}
		}
	}
	c.decodeProblems = problems
	return nil
}

// nodePath is a node's field path, as problems name fields
// ("intents[0].utterances").
func nodePath(n ast.Node) string {
	p := strings.TrimPrefix(strings.TrimPrefix(n.GetPath(), "$"), ".")
	if p == "" {
		return "the document"
	}
	return p
}

// decoderFault is a panic of the YAML library, turned into an error.
type decoderFault struct{ v any }

func (f decoderFault) Error() string {
	return fmt.Sprintf("the YAML decoder failed on this file (%v)", f.v)
}

// safely runs a step of the YAML library, which on some malformed input
// panics instead of returning an error (goccy/go-yaml issue 735: a tag on a
// scalar where a list belongs). A config reloaded on SIGHUP must not take
// the service down with it.
func safely(step func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = decoderFault{r}
		}
	}()
	return step()
}

// firstTag returns the file's first tag (!name or !!type), or nil.
func firstTag(file *ast.File) *ast.TagNode {
	var found *ast.TagNode
	for _, doc := range file.Docs {
		if doc.Body != nil && found == nil {
			ast.Walk(tagFinder{&found}, doc.Body)
		}
	}
	return found
}

type tagFinder struct{ found **ast.TagNode }

func (v tagFinder) Visit(n ast.Node) ast.Visitor {
	if *v.found != nil {
		return nil
	}
	if t, ok := n.(*ast.TagNode); ok {
		*v.found = t
		return nil
	}
	return v
}
