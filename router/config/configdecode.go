package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// decodeLeniently fills c from the parsed file field by field, as far as
// it can, and returns a problem for every value of the wrong type and every
// unknown key, each with its field path, line and column. The strict
// decoder stops at the first problem and names no field ("cannot unmarshal
// string into Go struct field Config.Intents of type float64"), and a
// file's problems should come together with the validation's. It also
// drops, silently, a mapping with a key that is not a string (`{model:
// fast, 1: x}` reads as an empty target), which this reports. Each leaf is
// still decoded by the YAML library (yaml.NodeToValue), so a value reads
// as it reads in the strict decoder.
func decodeLeniently(file *ast.File, c *Config) (ps []Problem, more int) {
	d := &lenient{anchors: map[string]ast.Node{}}
	for _, doc := range file.Docs {
		if doc.Body != nil {
			ast.Walk(anchorFinder(d.anchors), doc.Body)
		}
	}
	if len(file.Docs) > 0 && file.Docs[0].Body != nil {
		// The first document only, as the strict decoder reads.
		d.decode(file.Docs[0].Body, reflect.ValueOf(c).Elem(), "")
	}
	return d.problems, d.more
}

type lenient struct {
	anchors  map[string]ast.Node
	problems []Problem
	// depth and steps bound the walk: the config's types bound its depth
	// already, but aliases that multiply (a "billion laughs" file) could
	// make it long.
	depth, steps int
	stopped      bool
	more         int // problems past maxProblems, only counted
}

// Bounds of the walk: a config is far smaller.
const (
	maxDepth = 200
	maxSteps = 1 << 20
)

type anchorFinder map[string]ast.Node

func (a anchorFinder) Visit(n ast.Node) ast.Visitor {
	if an, ok := n.(*ast.AnchorNode); ok && an.Name != nil {
		a[an.Name.String()] = an.Value
	}
	return a
}

func (d *lenient) add(n ast.Node, field, format string, args ...any) {
	if len(d.problems) >= maxProblems {
		d.more++
		return
	}
	p := Problem{Field: field, Msg: fmt.Sprintf(format, args...)}
	if tok := n.GetToken(); tok != nil && tok.Position != nil {
		p.Line, p.Column = tok.Position.Line, tok.Position.Column
	}
	d.problems = append(d.problems, p)
}

// unwrap follows anchors, aliases and standard tags to the value itself.
func (d *lenient) unwrap(n ast.Node) ast.Node {
	for range 64 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.AliasNode:
			if v.Value == nil || d.anchors[v.Value.String()] == nil {
				return n
			}
			n = d.anchors[v.Value.String()]
		default:
			return n
		}
	}
	return n
}

// custom reports whether t reads itself (UnmarshalYAML, UnmarshalText):
// the YAML library decodes it whole.
func custom(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(reflect.TypeFor[yaml.InterfaceUnmarshaler]()) || p.Implements(reflect.TypeFor[yaml.BytesUnmarshaler]()) ||
		p.Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// decode reads n into v, whose field path is path.
func (d *lenient) decode(n ast.Node, v reflect.Value, path string) {
	if d.stopped {
		return
	}
	if d.depth++; d.depth > maxDepth || d.steps > maxSteps {
		d.stopped = true
		d.add(n, path, "nested too deeply, or aliases expand to too much; stopped reading here")
		return
	}
	d.steps++
	defer func() { d.depth-- }()
	n = d.unwrap(n)
	if n == nil || n.Type() == ast.NullType {
		return // as the strict decoder: the zero value
	}
	if v.Kind() == reflect.Pointer {
		if !v.IsNil() { // filled by a merge key (<<) before
			d.decode(n, v.Elem(), path)
			return
		}
		before, p := len(d.problems), reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), path)
		if len(d.problems) == before || p.Elem().Kind() == reflect.Struct {
			v.Set(p) // a value that was not read stays unset
		}
		return
	}
	if custom(v.Type()) {
		d.leaf(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.add(n, path, "want a list, got %s", describe(n))
			return
		}
		list := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, e := range seq.Values {
			d.decode(e, list.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(list)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			d.leaf(n, v, path)
			return
		}
		values, ok := mappingValues(n)
		if !ok {
			d.add(n, path, "want a mapping, got %s", describe(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		seen := map[string]int{}
		for _, mv := range values {
			key := keyText(mv.Key)
			if d.twice(mv.Key, seen, path, key) {
				continue
			}
			e := reflect.New(v.Type().Elem()).Elem()
			d.decode(mv.Value, e, join(path, key))
			v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), e)
		}
	default:
		d.leaf(n, v, path)
	}
}

// decodeStruct reads a mapping into the struct v, key by key.
func (d *lenient) decodeStruct(n ast.Node, v reflect.Value, path string) {
	values, ok := mappingValues(n)
	if !ok {
		d.add(n, path, "want a mapping, got %s", describe(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]int{}
	for _, mv := range values {
		if mv.Key.IsMergeKey() { // <<: *base
			d.decode(mv.Value, v, path)
			continue
		}
		key := keyText(mv.Key)
		if !isName(mv.Key) {
			// The strict decoder drops such a mapping whole, without a word.
			d.add(mv.Key, join(path, key), "%s is not a field name; want one of %s", key, strings.Join(fieldNames(v.Type()), ", "))
			continue
		}
		if d.twice(mv.Key, seen, path, key) {
			continue
		}
		i, ok := fields[key]
		switch {
		case !ok:
			d.add(mv.Key, join(path, key), "unknown field %q; want one of %s", key, strings.Join(fieldNames(v.Type()), ", "))
			continue
		}
		d.decode(mv.Value, v.Field(i), join(path, key))
	}
}

// isName reports whether a key reads as a string (00, true and ~ do not).
func isName(k ast.Node) bool {
	var v any
	err := safely(func() error { return yaml.NodeToValue(k, &v) })
	_, ok := v.(string)
	return err == nil && ok
}

// twice reports (as a problem) a key given a second time in one mapping.
func (d *lenient) twice(k ast.Node, seen map[string]int, path, key string) bool {
	line := 0
	if tok := k.GetToken(); tok != nil && tok.Position != nil {
		line = tok.Position.Line
	}
	if first, ok := seen[key]; ok {
		d.add(k, join(path, key), "given twice (first at line %d)", first)
		return true
	}
	seen[key] = line
	return false
}

// leaf decodes a scalar, or a value with its own UnmarshalYAML, with the
// YAML library.
func (d *lenient) leaf(n ast.Node, v reflect.Value, path string) {
	dst := reflect.New(v.Type())
	err := safely(func() error { return yaml.NodeToValue(n, dst.Interface(), yaml.DisallowUnknownField()) })
	if err == nil {
		v.Set(dst.Elem())
		return
	}
	var fault decoderFault
	if custom(v.Type()) || errors.As(err, &fault) {
		d.add(n, path, "%s", plainMessage(err))
		return
	}
	d.add(n, path, "want %s, got %s", want(v.Type()), describe(n))
}

func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, not negative"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// describe names what a node holds, for "want X, got Y".
func describe(n ast.Node) string {
	switch n.Type() {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	}
	s := n.String()
	if tok := n.GetToken(); tok != nil {
		s = tok.Value
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return fmt.Sprintf("%q", s)
}

var position = regexp.MustCompile(`^\[\d+:\d+\] `)

// plainMessage is the library's error without its position (the problem
// has its own) and source excerpt.
func plainMessage(err error) string {
	msg := yaml.FormatError(err, false, false)
	msg, _, _ = strings.Cut(msg, "\n")
	return position.ReplaceAllString(msg, "")
}

func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

func keyText(k ast.MapKeyNode) string {
	if mk, ok := k.(*ast.MappingKeyNode); ok && mk.Value != nil { // ? key
		if s, ok := mk.Value.(*ast.StringNode); ok {
			return s.Value
		}
		return mk.Value.String()
	}
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if tok := k.GetToken(); tok != nil {
		return tok.Value
	}
	return k.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps a struct's YAML keys to its field indexes, as the YAML
// library names them: the tag's name, else the field's name in lower case.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
	}
	return m
}

func fieldNames(t reflect.Type) []string {
	fields := yamlFields(t)
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return fields[a] - fields[b] })
	return names
}
