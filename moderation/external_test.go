package moderation

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestExternalAndCombine(t *testing.T) {
	var got map[string]any
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/moderations" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		io.WriteString(w, `{"id":"m","model":"omni","results":[{"flagged":true,"categories":{"violence":true,"harassment":false,"self-harm/intent":true},"category_scores":{"violence":0.91,"self-harm/intent":0.7}}]}`)
	}))
	defer fake.Close()
	e := &External{BaseURL: fake.URL + "/v1", Model: "omni", APIKey: "k"}
	flags, err := e.Check(context.Background(), "some text")
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != 2 || flags[0].Category != "self_harm" || flags[1].Category != "violence_weapons" || flags[1].Score != 0.91 || got["input"] != "some text" || got["model"] != "omni" {
		t.Errorf("flags %+v, request %v", flags, got)
	}
	if _, err := (&External{BaseURL: fake.URL + "/v1", APIKey: "wrong"}).Check(context.Background(), "x"); err == nil {
		t.Error("a 401 was not an error")
	}
	own := []Flag{{Category: CategoryPII, Source: "pii"}}
	if c := Combine(own, flags, "any"); len(c) != 3 {
		t.Errorf("any: %+v", c)
	}
	if c := Combine(own, flags, "both"); len(c) != 1 || c[0].Category != CategoryPII {
		t.Errorf("both, with semroute finding nothing unsafe: %+v", c)
	}
	if c := Combine([]Flag{{Category: "fraud", Source: "semantic"}}, flags, "both"); len(c) != 3 {
		t.Errorf("both, both unsafe: %+v", c)
	}
}
