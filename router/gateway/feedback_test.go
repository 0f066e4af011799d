package gateway

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/feedback"
)

const (
	clientKey = "client-secret"
	otherKey  = "other-secret"
	adminKey  = "admin-secret"
)

// feedbackHarness runs a gateway with feedback on and three keys: app and
// other (clients) and ops (admin).
func feedbackHarness(t *testing.T, feedbackYAML string) *harness {
	return start(t, "server:\n  api_keys:\n    - {name: app, sha256: "+sha(clientKey)+", scope: client}\n    - {name: other, sha256: "+sha(otherKey)+", scope: client}\n    - {name: ops, sha256: "+sha(adminKey)+", scope: admin}\n"+feedbackYAML)
}

// chatID sends one chat completion through the official client and
// returns its X-Request-Id and routed intent.
func chatID(t *testing.T, base, key, prompt string) (id, intent string) {
	t.Helper()
	c := openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
	var resp *http.Response
	_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Semroute-Feedback") != "" {
		t.Errorf("the record was not written: %v", resp.Header)
	}
	return resp.Header.Get("X-Request-Id"), resp.Header.Get("X-Semroute-Intent")
}

func TestFeedbackStoredAcrossRestart(t *testing.T) {
	h := feedbackHarness(t, "feedback: {keep_prompts: true}\n")
	id, intent := chatID(t, h.http.URL, clientKey, "will it rain tomorrow in paris")
	if id == "" || intent != "weather" {
		t.Fatalf("chat: id %q intent %q", id, intent)
	}
	// The record is durable before the answer: feedback right after it finds it.
	code, _, body := h.do(t, "POST", "/v1/feedback", clientKey, `{"request_id":"`+id+`","intent":"music","rating":-1,"comment":"I asked for the rain song"}`)
	if code != 201 {
		t.Fatalf("feedback: %d %v", code, body)
	}
	h.srv.closeFeedback() // the first process ends
	h.srv, h.http = h.open(t)
	code, _, body = h.do(t, "GET", "/v1/feedback?intent=music", adminKey, "")
	data, _ := body["data"].([]any)
	if code != 200 || len(data) != 1 {
		t.Fatalf("list after restart: %d %v", code, body)
	}
	fb := data[0].(map[string]any)
	route := fb["route"].(map[string]any)
	if fb["request_id"] != id || fb["intent"] != "music" || fb["rating"] != -1.0 || fb["key"] != "app" ||
		route["intent"] != "weather" || route["prompt"] != "will it rain tomorrow in paris" || route["target"] != "model:fast,strong" {
		t.Errorf("listed %v", fb)
	}
	// The route record survived the restart too.
	if code, _, body := h.do(t, "POST", "/v1/feedback", clientKey, `{"request_id":"`+id+`","rating":1}`); code != 201 {
		t.Errorf("feedback after restart: %d %v", code, body)
	}
	if code, _, body := h.do(t, "GET", "/v1/feedback?since=1h&limit=1", adminKey, ""); code != 200 || len(body["data"].([]any)) != 1 {
		t.Errorf("since and limit: %d %v", code, body)
	}
}

// TestFeedbackRecordsModel: the model that answered is added to the
// record once the answer went out (asynchronously), and /v1/route
// decisions are recorded too.
func TestFeedbackRecordsModel(t *testing.T) {
	h := feedbackHarness(t, "feedback: {}\n")
	id, _ := chatID(t, h.http.URL, clientKey, "will it rain tomorrow in paris")
	o := h.srv.fb.opened.Load()
	var rt feedback.Route
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && rt.Model == ""; time.Sleep(5 * time.Millisecond) {
		rt, _ = o.store.Route(context.Background(), id)
	}
	if rt.Model != "fast" || rt.Key != "app" || rt.DecidedBy == "" || rt.Score <= 0 {
		t.Errorf("record %+v", rt)
	}
	// A stream: the record is written before its first chunk, the model after.
	c := openai.NewClient(option.WithBaseURL(h.http.URL+"/v1"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
	var resp0 *http.Response
	stream := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("play some jazz")},
	}, option.WithResponseInto(&resp0))
	text := ""
	for stream.Next() {
		if ch := stream.Current().Choices; len(ch) > 0 {
			text += ch[0].Delta.Content
		}
	}
	if stream.Err() != nil || text != "answer from strong" {
		t.Fatalf("stream %q %v", text, stream.Err())
	}
	sid := resp0.Header.Get("X-Request-Id")
	rt = feedback.Route{}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && rt.Model == ""; time.Sleep(5 * time.Millisecond) {
		rt, _ = o.store.Route(context.Background(), sid)
	}
	if rt.Model != "strong" || rt.Intent != "music" {
		t.Errorf("the stream's record %+v", rt)
	}
	req, _ := http.NewRequest("POST", h.http.URL+"/v1/route", strings.NewReader(`{"input":"play some jazz"}`))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	req.Header.Set("X-Request-Id", "my-own-id-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rt, err := o.store.Route(context.Background(), "my-own-id-1"); err != nil || rt.Intent != "music" {
		t.Errorf("/v1/route's record: %+v %v", rt, err)
	}
}

func TestFeedbackBadBodies(t *testing.T) {
	h := feedbackHarness(t, "feedback: {max_comment: 10}\n")
	id, _ := chatID(t, h.http.URL, clientKey, "play some jazz")
	for _, tc := range []struct{ name, body, param, says string }{
		{"not JSON", `{"request_id":`, "", "not a JSON object"},
		{"no request id", `{"rating":1}`, "request_id", "missing request_id"},
		{"request id not a string", `{"request_id":5,"rating":1}`, "request_id", "must be a string"},
		{"unsafe request id", `{"request_id":"a b","rating":1}`, "request_id", "not a request id"},
		{"neither intent nor rating", `{"request_id":"` + id + `"}`, "", "give intent"},
		{"unknown intent", `{"request_id":"` + id + `","intent":"cooking"}`, "intent", `"cooking" is not an intent`},
		{"rating out of range", `{"request_id":"` + id + `","rating":5}`, "rating", "-1 or 1"},
		{"rating zero", `{"request_id":"` + id + `","rating":0}`, "rating", "-1 or 1"},
		{"rating a string", `{"request_id":"` + id + `","rating":"good"}`, "rating", "must be a number"},
		{"comment too long", `{"request_id":"` + id + `","rating":1,"comment":"ééééééééééé"}`, "comment", "11 characters; at most 10"},
		{"unknown field", `{"request_id":"` + id + `","rating":1,"stars":5}`, "stars", `unknown field "stars"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := h.do(t, "POST", "/v1/feedback", clientKey, tc.body)
			if code != 400 {
				t.Fatalf("%d %v, want 400", code, body)
			}
			msg := errorOf(t, body)
			param, _ := body["error"].(map[string]any)["param"].(string)
			if param != tc.param || !strings.Contains(msg, tc.says) {
				t.Errorf("param %q message %q; want param %q saying %q", param, msg, tc.param, tc.says)
			}
		})
	}
	code, _, body := h.do(t, "POST", "/v1/feedback", clientKey, `{"request_id":"req-never-seen","rating":1}`)
	if code != 404 || !strings.Contains(errorOf(t, body), `"req-never-seen"`) {
		t.Errorf("unknown request id: %d %v, want 404 naming it", code, body)
	}
	for _, q := range []string{"since=yesterday", "limit=0", "limit=x"} {
		if code, _, body := h.do(t, "GET", "/v1/feedback?"+q, adminKey, ""); code != 400 || body["error"].(map[string]any)["param"] != strings.Split(q, "=")[0] {
			t.Errorf("GET ?%s: %d %v, want 400 naming the parameter", q, code, body)
		}
	}
}

func TestFeedbackKeys(t *testing.T) {
	h := feedbackHarness(t, "feedback: {}\n")
	id, _ := chatID(t, h.http.URL, clientKey, "play some jazz")
	body := `{"request_id":"` + id + `","rating":1}`
	for _, tc := range []struct {
		name, method, path, key, body string
		want                          int
	}{
		{"no key", "POST", "/v1/feedback", "", body, 401},
		{"wrong key", "POST", "/v1/feedback", "nope", body, 401},
		{"another client's request", "POST", "/v1/feedback", otherKey, body, 404},
		{"a client lists", "GET", "/v1/feedback", clientKey, "", 403},
		{"a client applies", "POST", "/v1/feedback/" + id + "/apply", clientKey, "", 403},
		{"the request's client", "POST", "/v1/feedback", clientKey, body, 201},
		{"an admin lists", "GET", "/v1/feedback", adminKey, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, out := h.do(t, tc.method, tc.path, tc.key, tc.body); code != tc.want {
				t.Errorf("%d %v, want %d", code, out, tc.want)
			}
		})
	}
}

// TestFeedbackPromptsOffByDefault: without keep_prompts no byte of the
// prompt reaches the data directory's feedback logs, and apply says so;
// with it the same test finds the prompt there.
func TestFeedbackPromptsOffByDefault(t *testing.T) {
	const prompt = "play the zanzibar-marker-7 album"
	for _, keep := range []bool{false, true} {
		yaml := "feedback: {}\n"
		if keep {
			yaml = "feedback: {keep_prompts: true}\n"
		}
		h := feedbackHarness(t, yaml)
		id, _ := chatID(t, h.http.URL, clientKey, prompt)
		if code, _, body := h.do(t, "POST", "/v1/feedback", clientKey, `{"request_id":"`+id+`","intent":"weather"}`); code != 201 {
			t.Fatalf("feedback: %d %v", code, body)
		}
		h.srv.closeFeedback()
		var all []byte
		files, _ := filepath.Glob(filepath.Join(h.dir, "data", "feedback", "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			all = append(all, b...)
		}
		if len(files) < 2 || !bytes.Contains(all, []byte(id)) {
			t.Fatalf("keep_prompts %v: the logs %v do not hold the record of %s", keep, files, id)
		}
		if bytes.Contains(all, []byte("zanzibar")) != keep {
			t.Errorf("keep_prompts %v: the prompt on disk: %v", keep, bytes.Contains(all, []byte("zanzibar")))
		}
		if keep {
			continue
		}
		h.srv, h.http = h.open(t)
		code, _, body := h.do(t, "POST", "/v1/feedback/"+id+"/apply", adminKey, "")
		if code != 409 || !strings.Contains(errorOf(t, body), "keep_prompts") {
			t.Errorf("apply without a kept prompt: %d %v, want 409 naming keep_prompts", code, body)
		}
	}
}

func TestFeedbackMetrics(t *testing.T) {
	h := feedbackHarness(t, "feedback: {}\n")
	for _, body := range []string{`"rating":-1`, `"rating":-1,"intent":"music"`, `"intent":"music"`} {
		id, _ := chatID(t, h.http.URL, clientKey, "will it rain tomorrow in paris")
		if code, _, out := h.do(t, "POST", "/v1/feedback", clientKey, `{"request_id":"`+id+`",`+body+`}`); code != 201 {
			t.Fatalf("feedback %s: %d %v", body, code, out)
		}
	}
	resp, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`semroute_feedback_total{intent="weather",rating="-1"} 2`, `semroute_feedback_total{intent="weather",rating="none"} 1`} {
		if !strings.Contains(string(text), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestFeedbackOff(t *testing.T) {
	h := feedbackHarness(t, "")
	chatID(t, h.http.URL, clientKey, "play some jazz")
	if _, err := os.Stat(filepath.Join(h.dir, "data", "feedback")); !os.IsNotExist(err) {
		t.Errorf("without a feedback section something was recorded: %v", err)
	}
	code, _, body := h.do(t, "POST", "/v1/feedback", clientKey, `{"request_id":"x","rating":1}`)
	if code != 404 || !strings.Contains(errorOf(t, body), "feedback section") {
		t.Errorf("feedback while off: %d %v", code, body)
	}
}

// gatedStore holds Record until its gate opens: the real log underneath,
// slowed down to show the order of the record and the answer.
type gatedStore struct {
	feedback.Store
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Record(ctx context.Context, routes []feedback.Route) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.Store.Record(ctx, routes)
}

// TestFeedbackRecordBeforeAnswer: an answer does not go out before its
// record is durable, so the request id a client holds always has one.
func TestFeedbackRecordBeforeAnswer(t *testing.T) {
	h := feedbackHarness(t, "feedback: {}\n")
	log, err := feedback.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	g := &gatedStore{Store: log, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	cfg, err := config.Load(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{LookupEnv: os.LookupEnv, Embedder: localtest.Open(t), Index: h.srv.opt.Index, Feedback: g, Logger: testLogger(t)})
	if err := srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	defer srv.closeFeedback()
	var opened sync.Once
	defer opened.Do(func() { close(g.gate) }) // before closeFeedback, which flushes through the gate
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	type answer struct{ id string }
	done := make(chan answer, 1)
	go func() {
		id, _ := chatID(t, hs.URL, clientKey, "play some jazz")
		done <- answer{id}
	}()
	<-g.entered
	select {
	case <-done:
		t.Fatal("the answer went out while its record was still being written")
	case <-time.After(200 * time.Millisecond): // the upstream answered long before
	}
	if h.strong.hits.Load() != 1 {
		t.Errorf("the upstream call should overlap the write: %d calls so far", h.strong.hits.Load())
	}
	opened.Do(func() { close(g.gate) })
	a := <-done
	if _, err := log.Route(context.Background(), a.id); err != nil {
		t.Errorf("the answered request's record: %v", err)
	}
}

// FuzzFeedbackBody: any body is either refused as the client's error,
// naming a field unless the body is no JSON object at all, or gives
// feedback that keeps every rule.
func FuzzFeedbackBody(f *testing.F) {
	for _, s := range []string{`{"request_id":"req-1","intent":"music","rating":-1,"comment":"no"}`, `{"request_id":"r","rating":1}`,
		`{"request_id":"r","intent":"oos"}`, `{"request_id":5}`, `{"rating":"x"}`, `{"x":1}`, `[]`, `{"request_id":"a b","rating":1}`} {
		f.Add([]byte(s))
	}
	list := []intents.Intent{{Name: "music"}, {Name: "weather"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		fb, rerr := parseFeedback(body, list, 20)
		if rerr != nil {
			if rerr.kind != kindInvalid || rerr.msg == "" {
				t.Fatalf("%q: %+v", body, rerr)
			}
			return
		}
		if !safeRequestID(fb.RequestID) || (fb.Intent == "" && fb.Rating == 0) || (fb.Rating != 0 && fb.Rating != 1 && fb.Rating != -1) ||
			(fb.Intent != "" && fb.Intent != "oos" && findIntent(list, fb.Intent) < 0) || utf8.RuneCountInString(fb.Comment) > 20 {
			t.Fatalf("%q accepted as %+v", body, fb)
		}
	})
}

// TestFeedbackUnrecorded: when the record cannot be written (here the
// store's folder is a file), the answer still goes out and says so, and
// the failure is counted.
func TestFeedbackUnrecorded(t *testing.T) {
	h := feedbackHarness(t, "feedback: {}\n")
	if err := os.WriteFile(filepath.Join(h.dir, "data", "feedback"), []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := openai.NewClient(option.WithBaseURL(h.http.URL+"/v1"), option.WithAPIKey(clientKey), option.WithMaxRetries(0))
	var resp *http.Response
	out, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("play some jazz")},
	}, option.WithResponseInto(&resp))
	if err != nil || out.Choices[0].Message.Content != "answer from strong" {
		t.Fatalf("the answer: %v %v", out, err)
	}
	if resp.Header.Get("X-Semroute-Feedback") != "unrecorded" {
		t.Errorf("headers %v, want X-Semroute-Feedback: unrecorded", resp.Header)
	}
	m, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(m.Body)
	m.Body.Close()
	if !strings.Contains(string(text), "semroute_feedback_record_failures_total 1") {
		t.Error("the failure is not counted")
	}
}
