package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
)

func TestEmbedCommand(t *testing.T) {
	emb := localtest.Open(t)
	// More lines than one batch, so that order across batches is checked.
	var in []string
	for i := range embedBatch + 90 {
		in = append(in, fmt.Sprintf("prompt number %d about the weather", i))
	}
	in[3], in[embedBatch+1] = "   ", "bad \xff byte"
	code, out, errs := semroute(t, strings.Join(in, "\n")+"\n", "embed", "--config", demoConfig(t))
	if code != 1 || !strings.Contains(errs, "2 of 602 line(s) could not be embedded") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(in) {
		t.Fatalf("%d lines out for %d in", len(lines), len(in))
	}
	for i, l := range lines {
		var got struct {
			Text      *string   `json:"text"`
			Embedding []float32 `json:"embedding"`
			Error     string    `json:"error"`
		}
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, l)
		}
		switch i {
		case 3:
			if got.Error != "line 4: empty" || got.Embedding != nil {
				t.Errorf("an empty line: %s", l)
			}
			continue
		case embedBatch + 1:
			if got.Error != fmt.Sprintf("line %d: not valid UTF-8", embedBatch+2) || got.Text != nil {
				t.Errorf("an invalid line: %s", l)
			}
			continue
		}
		want, _ := emb.Embed(context.Background(), []string{in[i]})
		if got.Text == nil || *got.Text != in[i] || !slices.Equal(got.Embedding, want[0]) {
			t.Fatalf("line %d: %s, want the text %q and its vector", i+1, clip(l, 80), in[i])
		}
	}
	want, _ := emb.Embed(context.Background(), []string{"hello there"})
	vec, _ := json.Marshal(want[0])
	code, out, _ = semroute(t, "hello there\n", "embed", "--no-text")
	if code != 0 || out != `{"embedding":`+string(vec)+"}\n" {
		t.Errorf("--no-text without a config: exit %d, %s", code, clip(out, 80))
	}
	code, out, _ = semroute(t, "hello there\r\n", "embed")
	if code != 0 || out != `{"text":"hello there","embedding":`+string(vec)+"}\n" {
		t.Errorf("a CRLF line: exit %d, %s", code, clip(out, 80))
	}
	if code, _, errs = semroute(t, "", "embed", "some text"); code != 2 || !strings.Contains(errs, "from stdin") {
		t.Errorf("arguments: exit %d, %s", code, errs)
	}
}
