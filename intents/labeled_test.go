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
		`{"text": "x", "label": "a", "extra": 1}`,
		"{\"text\": \"bad \xff\", \"label\": \"a\"}",
		`not json`,
		`{"text": 5, "label": "a"}`,
		`{"text": "y", "label": "  "}`,
	}, "\n")
	_, err := ParseLabeled(strings.NewReader(in), FormatJSONL)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"6 bad rows", "line 2: missing or empty text", `line 3: unknown field "extra"`,
		"line 4: not valid UTF-8 at byte 14", "line 5: not a JSON object", "line 6: text must be a string", "line 7: missing or empty label"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	_, err = ParseLabeled(strings.NewReader("text,label,score\nhi,a,1\nbye\n"), FormatCSV)
	if err == nil || !strings.Contains(err.Error(), `unknown column "score"`) {
		t.Errorf("CSV with an unknown column: %v", err)
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

func FuzzParseLabeled(f *testing.F) {
	f.Add([]byte(`{"text": "hi", "label": "a"}`))
	f.Add([]byte("text,label\nhi,a\n\"q\"\"x\",b\n"))
	f.Add([]byte("label,text\n,\n"))
	f.Add([]byte("{\"text\": \"\xff\"}\n{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		exs, err := ParseLabeled(strings.NewReader(string(data)), FormatSniff)
		if err != nil {
			return
		}
		for _, ex := range exs {
			if strings.TrimSpace(ex.Text) == "" || strings.TrimSpace(ex.Label) == "" || ex.Line < 1 {
				t.Fatalf("accepted a bad example %+v", ex)
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
