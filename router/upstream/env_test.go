package upstream

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/semroute/semroute/router"
)

// TestKeysThroughLookup: the API keys are what the lookup NewPool is given
// returns for the api_key_env names, not the process environment's; a
// model whose variable the lookup lacks is unconfigured.
func TestKeysThroughLookup(t *testing.T) {
	var auth string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`))
	}))
	defer up.Close()
	t.Setenv("SEMROUTE_TEST_LOOKUP_KEY", "from-the-process")
	cfg := config(router.Model{Name: "a", BaseURL: up.URL, Model: "m", APIKeyEnv: "SEMROUTE_TEST_LOOKUP_KEY"})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	lookup := func(name string) (string, bool) {
		if name == "SEMROUTE_TEST_LOOKUP_KEY" {
			return "from-the-lookup", true
		}
		return "", false
	}
	p := NewPool(cfg, nil, lookup)
	if _, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil); err != nil {
		t.Fatal(err)
	}
	if auth != "Bearer from-the-lookup" {
		t.Errorf("Authorization %q, want the lookup's key", auth)
	}
	p = NewPool(cfg, nil, nil)
	_, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindUnconfigured || p.Model("a").Unconfigured() != "SEMROUTE_TEST_LOOKUP_KEY" {
		t.Errorf("without a lookup: %v, want the model unconfigured", err)
	}
}
