package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/upstream"
)

// ragOf finds the request's collection, answering 404 when it is unknown.
func (s *Server) ragOf(c *gin.Context) (*rag.Collection, *config.RAGCollection, bool) {
	st := s.st.Load()
	name := c.Param("collection")
	rc := st.cfg.RAGNamed(name)
	if rc == nil {
		fail(c, kindNotFound, "collection_not_found", "collection", fmt.Sprintf("no rag collection named %q in the config", name))
		return nil, nil, false
	}
	col, ok := st.rags[rc.Name] // build opened every collection of the config
	if !ok {
		fail(c, kindUnavailable, "", "", fmt.Sprintf("rag collection %q is not open", rc.Name))
		return nil, nil, false
	}
	return col, rc, true
}

func (s *Server) ragAddDocuments(c *gin.Context) {
	col, _, ok := s.ragOf(c)
	if !ok {
		return
	}
	body, err := readBody(c.Request.Body)
	if err != nil {
		answerError(c, err)
		return
	}
	var many struct {
		Documents []rag.Document `json:"documents"`
	}
	var docs []rag.Document
	if err := json.Unmarshal(body, &many); err == nil && len(many.Documents) > 0 {
		docs = many.Documents
	} else {
		var one rag.Document
		if err := json.Unmarshal(body, &one); err != nil {
			badRequest(c, "", "send a document {\"id\",\"title\",\"text\",\"source\"} or {\"documents\": [...]}: "+err.Error())
			return
		}
		docs = []rag.Document{one}
	}
	for i, d := range docs {
		switch {
		case strings.TrimSpace(d.ID) == "":
			badRequest(c, fmt.Sprintf("documents[%d].id", i), "missing id")
			return
		case strings.TrimSpace(d.Text) == "":
			badRequest(c, fmt.Sprintf("documents[%d].text", i), fmt.Sprintf("document %q has no text", d.ID))
			return
		}
	}
	stats, err := col.Ingest(c.Request.Context(), docs)
	if err != nil {
		fail(c, kindInternal, "", "", err.Error())
		return
	}
	c.JSON(http.StatusOK, stats)
}

func (s *Server) ragDeleteDocument(c *gin.Context) {
	col, _, ok := s.ragOf(c)
	if !ok {
		return
	}
	if err := col.Delete(c.Request.Context(), c.Param("id")); err != nil {
		if errors.Is(err, rag.ErrNotFound) {
			fail(c, kindNotFound, "document_not_found", "id", err.Error())
			return
		}
		fail(c, kindInternal, "", "", err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"deleted": c.Param("id")})
}

// ragResult is a query's answer: the passages, and the model's answer (or
// the passages as text when there is no model).
type ragResult struct {
	Passages []rag.Passage `json:"passages"`
	rag.Answer
	BelowFloor bool `json:"below_floor"`
}

// ask retrieves and answers. extra are the client's request fields passed
// to the model.
func (s *Server) ask(ctx context.Context, st *state, col *rag.Collection, rc *config.RAGCollection, q rag.Query, extra map[string]json.RawMessage) (ragResult, error) {
	q.K = cmpInt(q.K, rc.K)
	q.Mode = cmpStr(q.Mode, rc.Mode)
	if len(rc.Filter) > 0 {
		f := map[string]string{}
		for k, v := range rc.Filter {
			f[k] = v
		}
		for k, v := range q.Filter { // a query narrows further, never widens
			if _, set := f[k]; !set {
				f[k] = v
			}
		}
		q.Filter = f
	}
	ps, err := s.retrieve(ctx, col, rc.Name, q)
	if err != nil {
		return ragResult{}, err
	}
	res := ragResult{Passages: ps}
	if len(ps) == 0 || ps[0].Similarity < *rc.Floor {
		res.BelowFloor = true
		res.Answer = rag.NothingFound()
		return res, nil
	}
	if len(rc.Model) == 0 {
		res.Answer = rag.NoModel(ps, "")
		return res, nil
	}
	var unset []string
	for _, m := range rc.Model {
		if v := st.pool.Model(m).Unconfigured(); v != "" {
			unset = append(unset, v)
		}
	}
	if len(unset) == len(rc.Model) {
		res.Answer = rag.NoModel(ps, fmt.Sprintf("The collection's model (%s) is not configured (set %s)", strings.Join(rc.Model, ", "), strings.Join(unset, " or ")))
		return res, nil
	}
	a := &rag.Answerer{Pool: st.pool, Models: rc.Model}
	ans, err := a.Answer(ctx, q.Text, ps, extra)
	if err != nil {
		return ragResult{}, err
	}
	res.Answer = ans
	return res, nil
}

func cmpInt(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) ragQuery(c *gin.Context) {
	col, rc, ok := s.ragOf(c)
	if !ok {
		return
	}
	body, err := readBody(c.Request.Body)
	if err != nil {
		answerError(c, err)
		return
	}
	var req struct {
		Query  string            `json:"query"`
		K      int               `json:"k"`
		Mode   string            `json:"mode"`
		Filter map[string]string `json:"filter"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		badRequest(c, "", "send {\"query\": \"...\", \"k\": 5}: "+err.Error())
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		badRequest(c, "query", "missing query")
		return
	}
	if req.K < 0 || req.K > 50 {
		badRequest(c, "k", "k must be in [1, 50]")
		return
	}
	switch req.Mode {
	case "", rag.ModeHybrid, rag.ModeVector, rag.ModeBM25, rag.ModeRRF:
	default:
		badRequest(c, "mode", fmt.Sprintf("unknown mode %q; want hybrid, vector, bm25 or rrf", req.Mode))
		return
	}
	res, ok := s.askBudgeted(c, s.st.Load(), col, rc, rag.Query{Text: req.Query, K: req.K, Mode: req.Mode, Filter: req.Filter}, nil)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, res)
}

// askBudgeted is ask under the budgets, as a model call is: the answering
// tier is admitted first (a 429 at a cap, the cheapest model of the tier
// past downgrade_at), and the answer's cost is booked before it is sent.
// A collection without a model calls none, so it is neither admitted nor
// booked. It answers the client itself when it returns false.
func (s *Server) askBudgeted(c *gin.Context, st *state, col *rag.Collection, rc *config.RAGCollection, q rag.Query, extra map[string]json.RawMessage) (ragResult, bool) {
	if len(rc.Model) > 0 {
		tier, release, ok := s.admit(c, st, intents.Target{Model: rc.Model})
		defer release()
		if !ok {
			return ragResult{}, false
		}
		admitted := *rc
		admitted.Model = tier.Model
		rc = &admitted
	}
	res, err := s.ask(c.Request.Context(), st, col, rc, q, extra)
	if err != nil {
		upstreamFailed(c, err)
		return ragResult{}, false
	}
	if res.Model != "" { // the answering model's cost joins the ledger
		if err := s.book(c, st, upstream.Result{Model: res.Model, Cost: res.Cost}); err != nil {
			fail(c, kindUnavailable, "", "", "the answer's cost could not be booked: "+err.Error())
			return ragResult{}, false
		}
	}
	return res, true
}

// chatRAG answers a chat completion routed to a collection, in OpenAI's
// format with the sources added. A stream gets the answer as one chunk.
func (s *Server) chatRAG(c *gin.Context, st *state, name string, req *chatRequest, text string) {
	rc := st.cfg.RAGNamed(name)
	col, ok := st.rags[rc.Name] // build opened every collection of the config
	if !ok {
		fail(c, kindUnavailable, "", "", fmt.Sprintf("rag collection %q is not open", rc.Name))
		return
	}
	res, ok := s.askBudgeted(c, st, col, rc, rag.Query{Text: text}, req.Body)
	if !ok {
		return
	}
	if res.BelowFloor && rc.BelowFloor == "fallback" && len(st.cfg.Fallback.Model) > 0 {
		c.Writer.Header().Set("X-Semroute-Target", st.cfg.Fallback.String())
		s.callModels(c, st, exchangeOf(c), st.cfg.Fallback, req)
		return
	}
	model := cmpStr(res.Model, "semroute-rag:"+name)
	x := exchangeOf(c)
	x.model, x.cost = res.Model, res.Cost
	h := c.Writer.Header()
	if res.Model != "" {
		h.Set("X-Semroute-Model", res.Model)
	}
	h.Set("X-Semroute-Cost", strconv.FormatFloat(res.Cost, 'g', 6, 64))
	writeAnswer(c, req.Stream, model, res.Text, gin.H{"sources": res.Sources})
}
