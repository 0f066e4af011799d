package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semroute/semroute/router"
)

const handbookDocs = `{"documents": [
 {"id": "leave", "title": "Leave policy", "source": "handbook/leave.md", "text": "# Vacation\n\nEvery employee gets 28 vacation days a year, plus public holidays. Unused days carry over until March.\n\n# Parental leave\n\nParents get 16 weeks of paid parental leave, to be taken within the first year."},
 {"id": "expenses", "title": "Expenses", "source": "handbook/expenses.md", "text": "Travel expenses are reimbursed within 30 days when the receipts are filed in the expense tool. Meals abroad are covered up to 60 euros a day."}
]}`

func TestRAGThroughTheService(t *testing.T) {
	h := adminHarness(t)
	const key = "admin-secret"
	if code, _, body := h.do(t, "POST", "/v1/rag/handbook/documents", "", handbookDocs); code != 401 {
		t.Errorf("ingest without a key: %d %v", code, body)
	}
	code, _, body := h.do(t, "POST", "/v1/rag/handbook/documents", key, handbookDocs)
	if code != 200 || body["documents"] != float64(2) || body["chunks"].(float64) < 3 {
		t.Fatalf("ingest: %d %v", code, body)
	}
	if code, _, body := h.do(t, "POST", "/v1/rag/handbook/documents", key, handbookDocs); code != 200 || body["unchanged"] != float64(2) {
		t.Errorf("ingesting the same documents again: %d %v, want both unchanged", code, body)
	}
	if code, _, body := h.do(t, "POST", "/v1/rag/nope/query", key, `{"query":"x"}`); code != 404 || !strings.Contains(errorOf(t, body), "nope") {
		t.Errorf("unknown collection: %d %v", code, body)
	}

	// No model: the passages come back as they are, with their sources.
	code, _, body = h.do(t, "POST", "/v1/rag/handbook/query", key, `{"query":"how many vacation days do I get","k":2}`)
	ps, _ := body["passages"].([]any)
	if code != 200 || len(ps) == 0 || ps[0].(map[string]any)["heading"] != "Vacation" || !strings.Contains(body["answer"].(string), "No model is configured") {
		t.Fatalf("query without a model: %d %v", code, body)
	}

	// The chat route: an intent with target rag answers in OpenAI's format.
	var resp *http.Response
	c := h.client(key)
	out, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("how many vacation days do I get")}}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.Choices[0].Message.Content, "28 vacation days") || resp.Header.Get("x-semroute-target") != "rag:handbook" {
		t.Errorf("chat: %q, target %q", out.Choices[0].Message.Content, resp.Header.Get("x-semroute-target"))
	}
	var extra struct {
		Sources []struct {
			N   int    `json:"n"`
			Doc string `json:"doc"`
		} `json:"sources"`
	}
	json.Unmarshal([]byte(out.RawJSON()), &extra)
	if len(extra.Sources) == 0 || extra.Sources[0].Doc != "leave" || extra.Sources[0].N != 1 {
		t.Errorf("sources %+v", extra.Sources)
	}

	// With a model: the model gets the numbered passages and its answer,
	// citations included, comes back with the sources.
	cfg, _ := router.Load(h.cfgPath)
	cfg.RAG[0].Model = []string{"fast"}
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	code, _, body = h.do(t, "POST", "/v1/rag/handbook/query", key, `{"query":"what is the parental leave policy"}`)
	if code != 200 || body["answer"] != "answer from fast" || body["model"] != "fast" {
		t.Errorf("query with a model: %d %v", code, body)
	}
	h.fast.mu.Lock()
	var msgs []struct{ Role, Content string }
	json.Unmarshal(h.fast.last["messages"], &msgs)
	h.fast.mu.Unlock()
	if len(msgs) != 2 || !strings.Contains(msgs[0].Content, "[1] Leave policy — Parental leave") || !strings.Contains(msgs[0].Content, "Cite the passages") ||
		msgs[1].Content != "what is the parental leave policy" {
		t.Errorf("the model got %+v", msgs)
	}

	// Nothing relevant: below the floor it says so.
	code, _, body = h.do(t, "POST", "/v1/rag/handbook/query", key, `{"query":"quantum chromodynamics lattice gauge"}`)
	if code != 200 || body["below_floor"] != true || !strings.Contains(body["answer"].(string), "nothing relevant") {
		t.Errorf("unrelated query: %d %v", code, body)
	}

	// A model without its key: the passages, and why.
	unset := *cfg
	unset.Models = append([]router.Model(nil), cfg.Models...)
	unset.Models[0].APIKeyEnv = "SEMROUTE_TEST_UNSET_KEY"
	if err := h.srv.Load(context.Background(), &unset); err != nil {
		t.Fatal(err)
	}
	code, _, body = h.do(t, "POST", "/v1/rag/handbook/query", key, `{"query":"what is the parental leave policy"}`)
	if code != 200 || !strings.Contains(body["answer"].(string), "not configured (set SEMROUTE_TEST_UNSET_KEY)") || !strings.Contains(body["answer"].(string), "16 weeks") {
		t.Errorf("query with an unconfigured model: %d %v", code, body)
	}

	// Below the floor with below_floor: fallback, the prompt goes to the
	// config's fallback (strong).
	cfg.RAG[0].BelowFloor = "fallback"
	cfg.RAG[0].Floor = new(0.99) // nothing clears it
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	code, hd, body := h.do(t, "POST", "/v1/chat/completions", key, `{"model":"auto","messages":[{"role":"user","content":"how many vacation days do I get"}]}`)
	if code != 200 || hd.Get("x-semroute-model") != "strong" || hd.Get("x-semroute-target") != "model:strong" || hd.Get("x-semroute-intent") != "handbook" {
		t.Errorf("below the floor with fallback: %d %v %v", code, hd, body)
	}

	// Delete a document: its passages are gone.
	if code, _, _ := h.do(t, "DELETE", "/v1/rag/handbook/documents/leave", key, ""); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if code, _, _ := h.do(t, "DELETE", "/v1/rag/handbook/documents/leave", key, ""); code != 404 {
		t.Errorf("delete twice: %d, want 404", code)
	}
	code, _, body = h.do(t, "POST", "/v1/rag/handbook/query", key, `{"query":"how many vacation days do I get","mode":"bm25"}`)
	for _, p := range body["passages"].([]any) {
		if p.(map[string]any)["doc"] == "leave" {
			t.Errorf("a deleted document's passage came back: %v", p)
		}
	}
}

// TestRAGAnswersKeepToBudgets: a collection's answering model is a model
// call like any other. Its cost is booked, and once a budget is spent the
// next RAG answer, through /v1/rag/{collection}/query or a chat routed to
// the collection, gets 429 naming the budget (both went past a cap before).
func TestRAGAnswersKeepToBudgets(t *testing.T) {
	h := start(t, `server:
  api_keys:
    - {name: ops, sha256: `+sha("admin-secret")+`, scope: admin}
budgets:
  - {name: tiny, scope: global, window: daily, limit_usd: 0.000001}
`)
	const key = "admin-secret"
	if code, _, body := h.do(t, "POST", "/v1/rag/handbook/documents", key, handbookDocs); code != 200 {
		t.Fatalf("ingest: %d %v", code, body)
	}
	cfg, _ := router.Load(h.cfgPath)
	cfg.RAG[0].Model = []string{"fast"}
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	const query = `{"query":"what is the parental leave policy"}`
	if code, _, body := h.do(t, "POST", "/v1/rag/handbook/query", key, query); code != 200 || body["model"] != "fast" {
		t.Fatalf("first query, under the cap: %d %v", code, body)
	}
	_, _, rep := h.do(t, "GET", "/v1/spend", key, "")
	if b, _ := rep["budgets"].([]any); len(b) != 1 || b[0].(map[string]any)["spent_usd"].(float64) <= 0 {
		t.Errorf("the RAG answer's cost was not booked: %v", rep)
	}
	code, hd, body := h.do(t, "POST", "/v1/rag/handbook/query", key, query)
	if code != 429 || !strings.Contains(errorOf(t, body), "tiny") || hd.Get("Retry-After") == "" {
		t.Errorf("query past the cap: %d %v, want 429 naming the budget", code, body)
	}
	code, _, body = h.do(t, "POST", "/v1/chat/completions", key, `{"model":"auto","messages":[{"role":"user","content":"how many vacation days do I get"}]}`)
	if code != 429 || !strings.Contains(errorOf(t, body), "tiny") {
		t.Errorf("chat to the collection past the cap: %d %v, want 429 naming the budget", code, body)
	}
	if calls := h.fast.hits.Load(); calls != 1 {
		t.Errorf("the model was called %d times, want 1: past the cap no call goes out", calls)
	}
}
