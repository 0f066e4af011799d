package intents

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseJSONL(t *testing.T) {
	in := "{\"text\": \"where is my order\", \"label\": \"order\"}\n\n{\"label\": \"oos\", \"text\": \"sing a song\"}\n"
	got, err := ParseLabeled(strings.NewReader(in), FormatSniff)
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{"where is my order", "order", 1}, {"sing a song", "oos", 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReadCSV(t *testing.T) {
	got, err := ReadLabeled("testdata/ok.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Example{{"where is my order", "order", 2}, {"refund, please", "refund", 3}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestBadRowsAreReportedWithLines(t *testing.T) {
	in := strings.Join([]string{
		`{"text": "ok", "label": "a"}`,
		`{"label": "a"}`,
		`{"text": "x", "label": "a", "extra": 1}`, // an extra field is no longer a bad row
		"{\"text\": \"bad \xff\", \"label\": \"a\"}",
		`not json`,
		`{"text": 5, "label": "a"}`,
		`{"text": "y", "label": "  "}`,
	}, "\n")
	_, err := ParseLabeled(strings.NewReader(in), FormatJSONL)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"5 bad rows", "line 2: missing or empty text",
		"line 4: not valid UTF-8 at byte 14", "line 5: not a JSON object", "line 6: text must be a string", "line 7: missing or empty label"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "line 3") {
		t.Errorf("the row with an extra field is reported:\n%v", err)
	}
	_, err = ParseLabeled(strings.NewReader("text,label\nok \xff,a\nfine,b\n"), FormatCSV)
	if err == nil || !strings.Contains(err.Error(), "line 2: the text is not valid UTF-8 at byte 3 of the field") {
		t.Errorf("CSV with a text that is not UTF-8: %v", err)
	}
	_, err = ParseLabeled(strings.NewReader("text,label\nhi,a\nbye\n"), FormatCSV)
	if err == nil || !strings.Contains(err.Error(), "line 3: 1 fields") {
		t.Errorf("CSV with a short row: %v", err)
	}
	_, err = ParseLabeled(strings.NewReader("\x00\x01 binary junk"), FormatSniff)
	if !errors.Is(err, ErrFormat) {
		t.Errorf("binary file: %v, want ErrFormat", err)
	}
}

// TestExtraFieldsAreIgnored: fields and columns beyond text and label are
// read past and named once; until they were, each such row was an error.
func TestExtraFieldsAreIgnored(t *testing.T) {
	jsonl := `{"id": 17, "text": "where is my order", "label": "order", "meta": {"source": "web"}}
{"text": "refund, please", "raw": "REFUND PLEASE!!", "label": "refund", "id": 18}
`
	got, err := ParseLabeledWith(strings.NewReader(jsonl), FormatSniff, Fields{})
	if err != nil {
		t.Fatal(err)
	}
	want := Labeled{Examples: []Example{{"where is my order", "order", 1}, {"refund, please", "refund", 2}},
		Ignored: []string{"id", "meta", "raw"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSONL (-want +got):\n%s", diff)
	}
	csv := "id,Text,source,label,id\n1,where is my order,web,order,1\n2,\"refund, please\",app,refund,2\n"
	got, err = ParseLabeledWith(strings.NewReader(csv), FormatSniff, Fields{})
	if err != nil {
		t.Fatal(err)
	}
	want.Examples[1].Line = 3
	want.Examples[0].Line = 2
	want.Ignored = []string{"id", "source"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
}

func TestOtherFieldNames(t *testing.T) {
	f := Fields{Text: "utterance", Label: "intent"}
	jsonl := `{"utterance": "play some jazz", "intent": "music", "text": "raw text", "label": 3}` + "\n"
	got, err := ParseLabeledWith(strings.NewReader(jsonl), FormatJSONL, f)
	if err != nil {
		t.Fatal(err)
	}
	want := Labeled{Examples: []Example{{"play some jazz", "music", 1}}, Ignored: []string{"label", "text"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSONL (-want +got):\n%s", diff)
	}
	got, err = ParseLabeledWith(strings.NewReader("Utterance,intent,id\nplay some jazz,music,7\n"), FormatSniff, f)
	if err != nil {
		t.Fatal(err)
	}
	want = Labeled{Examples: []Example{{"play some jazz", "music", 2}}, Ignored: []string{"id"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CSV (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name, in, format string
		f                Fields
		err              string
	}{
		{"missing text", `{"text": "x", "intent": "a"}`, FormatJSONL, f, "line 1: missing or empty utterance"},
		{"label not a string", `{"utterance": "x", "intent": 3}`, FormatJSONL, f, "line 1: intent must be a string"},
		{"missing column", "text,intent\nx,a\n", FormatCSV, f, "must name the columns utterance and intent"},
		{"column twice", "utterance,intent,UTTERANCE\nx,a,y\n", FormatCSV, f, `names the column "UTTERANCE" twice (columns 1 and 3)`},
		{"same field", `{"x": "y"}`, FormatJSONL, Fields{Text: "x", Label: "x"}, `both be the field "x"`},
		{"sniffed", "query;label\n", FormatSniff, f, "CSV with a header utterance,intent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLabeledWith(strings.NewReader(tc.in), tc.format, tc.f)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestModelsYAMLAndJSON(t *testing.T) {
	var m Models
	if err := m.UnmarshalJSON([]byte(`"fast"`)); err != nil || len(m) != 1 {
		t.Errorf("%v %v", m, err)
	}
	if err := m.UnmarshalJSON([]byte(`["fast","strong"]`)); err != nil || len(m) != 2 {
		t.Errorf("%v %v", m, err)
	}
	if err := m.UnmarshalJSON([]byte(`3`)); err == nil {
		t.Error("a number was accepted as a model")
	}
	b, _ := Models{"fast"}.MarshalJSON()
	if string(b) != `"fast"` {
		t.Errorf("one model marshals as %s", b)
	}
}

// FuzzParseLabeled parses each input twice: with the default field names
// and with others (q and intent).
func FuzzParseLabeled(f *testing.F) {
	f.Add([]byte(`{"text": "hi", "label": "a"}`))
	f.Add([]byte("text,label\nhi,a\n\"q\"\"x\",b\n"))
	f.Add([]byte("label,text\n,\n"))
	f.Add([]byte("{\"text\": \"\xff\"}\n{}"))
	f.Add([]byte(`{"id": 1, "text": "hi", "label": "a", "meta": {"k": [1]}}`))
	f.Add([]byte("id,text,label,extra\n1,hi,a,x\n"))
	f.Add([]byte(`{"q": "hi", "intent": "a", "text": "raw"}`))
	f.Add([]byte("Q,intent,label\nhi,a,b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fields := range []Fields{{}, {Text: "q", Label: "intent"}} {
			got, err := ParseLabeledWith(strings.NewReader(string(data)), FormatSniff, fields)
			if err != nil {
				continue
			}
			for _, ex := range got.Examples {
				if strings.TrimSpace(ex.Text) == "" || strings.TrimSpace(ex.Label) == "" || ex.Line < 1 {
					t.Fatalf("accepted a bad example %+v", ex)
				}
			}
			fields = fields.withDefaults()
			seen := map[string]bool{}
			for _, name := range got.Ignored {
				if name == fields.Text || name == fields.Label || seen[name] {
					t.Fatalf("ignored %q (fields %v, ignored %q)", name, fields, got.Ignored)
				}
				seen[name] = true
			}
		}
	})
}

// TestInvalidUTF8: the offset is the first byte that starts no valid
// sequence, after any number of valid multi-byte characters.
func TestInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", -1}, {"plain", -1}, {"é€𝄞", -1}, {"\xff", 0}, {"é\xff", 2}, {"€𝄞\x80", 7},
		{"ab\xc3", 2}, {"ab\xc3(", 2}, {"\xed\xa0\x80", 0}, {"\xf4\x90\x80\x80", 0}, {"x\xc0\xaf", 1},
	} {
		if got := InvalidUTF8([]byte(tc.in)); got != tc.want {
			t.Errorf("InvalidUTF8(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
