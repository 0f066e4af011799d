package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/semroute/semroute/internal/completion"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/index/flat"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/spend"
	"github.com/semroute/semroute/router/upstream"
)

// cascadeModel is a loaded cascade file with its training prompts
// embedded.
type cascadeModel struct {
	c    *router.Cascade
	slab *flat.Slab
	file string // loaded from
}

// cascadeModel loads cc's cascade file; prev, loaded from the same file,
// is reused.
func (s *Server) cascadeModel(ctx context.Context, prev *cascadeModel, cc *config.CascadeConfig) (*cascadeModel, error) {
	if cc == nil || cc.File == "" {
		return nil, nil
	}
	if prev != nil && prev.file == cc.File {
		return prev, nil
	}
	c, err := router.LoadCascade(cc.File, s.opt.Embedder.Fingerprint())
	if err != nil {
		return nil, err
	}
	texts := make([]string, len(c.Train))
	for i, ex := range c.Train {
		texts[i] = ex.Query
	}
	vecs, err := s.opt.Embedder.Embed(ctx, texts)
	if err != nil {
		return nil, fmt.Errorf("cascade %s: %w", cc.File, err)
	}
	for _, v := range vecs {
		flat.Normalize(v)
	}
	m := &cascadeModel{c: c, file: cc.File}
	if len(vecs) > 0 {
		m.slab = flat.New(s.opt.Embedder.Fingerprint().Dim, vecs)
	}
	return m, nil
}

// confidence predicts stage i's quality on a prompt: the similarity-
// weighted mean over its K nearest training prompts.
func (m *cascadeModel) confidence(qv []float32, i int) (float64, bool) {
	if m == nil || m.slab == nil || i >= len(m.c.Models)-1 {
		return 0, false
	}
	var sc flat.Scratch
	var sum, w float64
	for _, h := range m.slab.Search(qv, m.c.K, nil, &sc) {
		wt := math.Max(float64(h.Score), 0) + 1e-6
		sum += wt * m.c.Train[h.Index].Quality[i]
		w += wt
	}
	return sum / w, w > 0
}

// meanLogprob reads the mean token log-probability of an answer, when the
// upstream returned logprobs.
func meanLogprob(body []byte) (float64, bool) {
	var out struct {
		Choices []struct {
			Logprobs *struct {
				Content []struct {
					Logprob float64 `json:"logprob"`
				} `json:"content"`
			} `json:"logprobs"`
		} `json:"choices"`
	}
	if json.Unmarshal(body, &out) != nil || len(out.Choices) == 0 || out.Choices[0].Logprobs == nil || len(out.Choices[0].Logprobs.Content) == 0 {
		return 0, false
	}
	var sum float64
	for _, t := range out.Choices[0].Logprobs.Content {
		sum += t.Logprob
	}
	return sum / float64(len(out.Choices[0].Logprobs.Content)), true
}

// chatCascade answers with the cheapest stage that is confident enough: a
// stage is skipped when the prompt predicts it will fail, and its answer is
// escalated when its token logprobs say it is unsure. The last stage always
// answers. Streams get the chosen answer as one chunk.
func (s *Server) chatCascade(c *gin.Context, st *state, models intents.Models, req *chatRequest) {
	models, ok := s.limitCascade(c, st, req, models)
	if !ok {
		return
	}
	target, release, ok := s.admit(c, st, intents.Target{Model: models})
	if !ok {
		return
	}
	defer release()
	if len(target.Model) == 1 { // a budget narrowed the tier: no cascade
		models = target.Model
	}
	stream := req.Stream
	unstream(req)
	ctx, end := req.limits.start(c.Request.Context())
	defer end()
	run, err := s.runCascade(ctx, c, st, models, req)
	if err != nil {
		fail(c, kindUnavailable, "", "", "the answer's cost could not be booked: "+err.Error())
		return
	}
	if run.last.Model == "" {
		answerFailed(ctx, c, req, run.lastErr)
		return
	}
	s.cascadeAnswer(c, st, models, run, stream)
}

// cascadeRun is what the stages of a cascade did.
type cascadeRun struct {
	trail   []string // per stage: answered, skipped, escalated or failed
	total   float64  // the cost of every stage called, verifier included
	last    upstream.Result
	lastErr error
}

// runCascade calls the stages of models in order until one answers with
// confidence; the error is a cost that could not be booked.
func (s *Server) runCascade(ctx context.Context, c *gin.Context, st *state, models intents.Models, req *chatRequest) (cascadeRun, error) {
	cm := st.cascade
	if cm != nil && !slices.Equal(cm.c.Models, []string(models)) {
		cm = nil // the file was fitted for other models: no prompt signal
	}
	lpThreshold := 0.0
	if st.cfg.Cascade != nil && st.cfg.Cascade.LogprobThreshold != nil {
		lpThreshold = *st.cfg.Cascade.LogprobThreshold
	}
	var qv []float32
	if vs, err := st.router.Embedder().Embed(ctx, []string{lastUser(req)}); err == nil {
		qv = vs[0]
		flat.Normalize(qv)
	}
	var run cascadeRun
	for i, m := range models {
		final := i == len(models)-1
		if !final {
			if conf, ok := cm.confidence(qv, i); ok && conf < cm.c.Threshold {
				run.trail = append(run.trail, fmt.Sprintf("%s:skipped(prompt %.2f)", m, conf))
				continue
			}
		}
		body := req.Body
		if !final && lpThreshold < 0 {
			body = withLogprobs(req.Body)
		}
		res, err := st.pool.Call(ctx, []string{m}, &upstream.Request{Body: body, Messages: req.Messages}, nil)
		if err != nil {
			run.trail = append(run.trail, m+":failed")
			run.lastErr = err
			if cutByLimit(ctx) { // a sample, as callFailed counts a tier's
				s.seen.latency(m, req.limits.latency)
			}
			if ctx.Err() != nil { // max_latency_ms passed, or the client left: no stage can answer
				break
			}
			continue
		}
		if err := s.book(c, st, res); err != nil {
			return run, err
		}
		s.m.usage(res)
		s.seen.answered(res)
		run.total += res.Cost
		run.last = res
		if !final {
			if why := s.escalate(ctx, c, st, req, res, lpThreshold, &run.total); why != "" {
				run.trail = append(run.trail, m+":escalated("+why+")")
				continue
			}
		}
		run.trail = append(run.trail, m+":answered")
		break
	}
	return run, nil
}

// escalate says why a stage's answer is passed over ("" to keep it): its
// mean logprob is under the threshold, or the verifier says no (whose
// cost is added to total).
func (s *Server) escalate(ctx context.Context, c *gin.Context, st *state, req *chatRequest, res upstream.Result, lpThreshold float64, total *float64) string {
	if lp, ok := meanLogprob(res.Body); ok && lp < lpThreshold {
		return fmt.Sprintf("logprob %.2f", lp)
	}
	if v := st.cfg.Cascade; v != nil && v.Verifier != "" {
		ok, cost := s.verify(ctx, c, st, v.Verifier, lastUser(req), answerText(res.Body))
		*total += cost
		if !ok {
			return "verifier"
		}
	}
	return ""
}

// cascadeAnswer sends the cascade's answer, post-moderated, with what it
// saved against the strongest model.
func (s *Server) cascadeAnswer(c *gin.Context, st *state, models intents.Models, run cascadeRun, stream bool) {
	last, total := run.last, run.total
	strong := models[len(models)-1]
	saved := (float64(last.Usage.PromptTokens)*priceOf(st.cfg, strong).Input+float64(last.Usage.CompletionTokens)*priceOf(st.cfg, strong).Output)/1e6 - total
	s.m.cascade.WithLabelValues(last.Model).Inc()
	if saved >= 0 {
		s.m.cascadeSaved.Add(saved)
	} else { // an escalation paid for both stages
		s.m.cascadeExtra.Add(-saved)
	}
	s.bookSaving(c, st, last.Model, saved, spend.SourceCascade)
	h := c.Writer.Header()
	h.Set("X-Semroute-Cascade", strings.Join(run.trail, ";"))
	h.Set("X-Semroute-Model", last.Model)
	h.Set("X-Semroute-Cost", strconv.FormatFloat(total, 'g', 6, 64))
	h.Set("X-Semroute-Saved", strconv.FormatFloat(saved, 'g', 6, 64))
	x := exchangeOf(c)
	x.model, x.cost = last.Model, total
	out := s.moderateOutput(c, st, last.Body)
	if !stream {
		c.Data(http.StatusOK, "application/json", out)
		return
	}
	replay(c, last.Model, out)
}

// withLogprobs asks the upstream for token logprobs.
func withLogprobs(body map[string]json.RawMessage) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(body)+1)
	for k, v := range body {
		out[k] = v
	}
	out["logprobs"] = json.RawMessage("true")
	return out
}

func priceOf(cfg *config.Config, model string) config.Price {
	for _, m := range cfg.Models {
		if m.Name == model {
			return m.Price
		}
	}
	return config.Price{}
}

const verifierPrompt = "You check answers. Reply with one word: yes if the answer below is a correct and complete answer to the question, no otherwise."

// verify asks the verifier model about an answer; anything but a clear
// "no" (a failing verifier included) lets the answer stand. It returns
// the verifier's cost.
func (s *Server) verify(ctx context.Context, c *gin.Context, st *state, model, question, answer string) (bool, float64) {
	msgs := []upstream.Message{{Role: "system", Content: verifierPrompt}, {Role: "user", Content: "Question: " + question + "\n\nAnswer: " + answer}}
	raw, _ := json.Marshal([]map[string]string{{"role": msgs[0].Role, "content": msgs[0].Content}, {"role": msgs[1].Role, "content": msgs[1].Content}})
	res, err := st.pool.Call(ctx, []string{model}, &upstream.Request{Body: map[string]json.RawMessage{
		"messages": raw, "temperature": json.RawMessage("0"), "max_tokens": json.RawMessage("3")}, Messages: msgs}, nil)
	if err != nil {
		s.log.Warn("cascade verifier failed; the answer stands", "model", model, "err", err)
		return true, 0
	}
	if err := s.book(c, st, res); err != nil {
		s.log.Warn("the verifier's cost could not be booked", "err", err)
	}
	s.m.usage(res)
	reply := strings.ToLower(strings.TrimSpace(answerText(res.Body)))
	return !strings.HasPrefix(reply, "no"), res.Cost
}

// answerText is a chat.completion's first message.
func answerText(body []byte) string {
	text, _ := completion.Text(body)
	return text
}
