package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func TestHandoffThroughTheService(t *testing.T) {
	var hooks atomic.Int64
	got := make(chan map[string]any, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hooks.Add(1) <= 2 { // fails twice: the ticket must survive it
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		var t map[string]any
		json.NewDecoder(r.Body).Decode(&t)
		got <- t
	}))
	defer hook.Close()
	h := start(t, "handoff:\n  webhooks: {agents: "+hook.URL+"}\nserver:\n  api_keys:\n    - {name: ops, sha256: "+sha("admin-secret")+", scope: admin}\n")
	const key = "admin-secret"
	var resp *http.Response
	c := h.client(key)
	out, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("my order never came"), openai.UserMessage("I want to talk to a human")}},
		option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("x-semroute-ticket")
	if id == "" || !strings.Contains(out.Choices[0].Message.Content, id) || !strings.Contains(out.Choices[0].Message.Content, "A person will follow up") {
		t.Fatalf("answer %q, ticket %q", out.Choices[0].Message.Content, id)
	}
	select {
	case tk := <-got:
		if tk["id"] != id || tk["queue"] != "agents" {
			t.Errorf("webhook got %v", tk)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook never got the ticket")
	}

	code, _, list := h.do(t, "GET", "/v1/handoff/tickets?queue=agents&state=open", key, "")
	if data, _ := list["data"].([]any); code != 200 || len(data) != 1 {
		t.Fatalf("list: %d %v", code, list)
	}
	tk := list["data"].([]any)[0].(map[string]any)
	if conv := tk["conversation"].([]any); len(conv) != 2 || tk["decision"].(map[string]any)["intent"] != "human" {
		t.Errorf("ticket %v", tk)
	}
	if code, _, _ := h.do(t, "GET", "/v1/handoff/tickets", "", ""); code != 401 {
		t.Errorf("listing tickets without a key: %d", code)
	}
	for _, step := range []struct{ action, body string }{{"claim", `{"agent":"ana"}`}, {"reply", `{"agent":"ana","text":"Your parcel ships today."}`}, {"resolve", ``}} {
		if code, _, body := h.do(t, "POST", "/v1/handoff/tickets/"+id+"/"+step.action, key, step.body); code != 200 {
			t.Errorf("%s: %d %v", step.action, code, body)
		}
	}
	if code, _, body := h.do(t, "POST", "/v1/handoff/tickets/"+id+"/claim", key, `{"agent":"bo"}`); code != 409 {
		t.Errorf("claiming a resolved ticket: %d %v", code, body)
	}
	resp2, _ := http.Get(h.http.URL + "/metrics")
	m, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	for _, want := range []string{`semroute_handoff_tickets_total{event="created",queue="agents"} 1`, `semroute_handoff_tickets_total{event="resolved",queue="agents"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The client fetches the reply by the ticket id; it survives a restart.
	h.http.Close()
	h.srv.opened.tickets.Close()
	_, again := h.open(t)
	h.http = again
	code, _, tkt := h.do(t, "GET", "/v1/handoff/tickets/"+id, key, "")
	if code != 200 || tkt["reply"] != "Your parcel ships today." || tkt["state"] != "resolved" {
		t.Errorf("after a restart: %d %v", code, tkt)
	}
}
