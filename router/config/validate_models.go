package config

import (
	"fmt"
	"strings"
)

func (c *Config) validateModels(ps *problems) map[string]bool {
	names := map[string]bool{}
	for i, m := range c.Models {
		f := fmt.Sprintf("models[%d]", i)
		switch {
		case m.Name == "":
			ps.add(f+".name", "missing")
		case names[m.Name]:
			ps.add(f+".name", "model %q is defined twice", m.Name)
		}
		names[m.Name] = true
		switch {
		case m.BaseURL == "" && len(m.Deployments) == 0:
			ps.add(f+".base_url", "missing; give base_url or deployments")
		case m.BaseURL != "" && len(m.Deployments) > 0:
			ps.add(f+".base_url", "give base_url or deployments, not both")
		case m.BaseURL != "":
			if err := checkURL(m.BaseURL); err != nil {
				ps.add(f+".base_url", "%v", err)
			}
		}
		for j, d := range m.Deployments {
			if err := checkURL(d.BaseURL); err != nil {
				ps.add(fmt.Sprintf("%s.deployments[%d].base_url", f, j), "%v", err)
			}
			if d.Weight < 0 {
				ps.add(fmt.Sprintf("%s.deployments[%d].weight", f, j), "must not be negative")
			}
		}
		switch m.Balance {
		case "", "weight", "least_in_flight", "latency":
		default:
			ps.add(f+".balance", "unknown balance %q; want weight, least_in_flight or latency", m.Balance)
		}
		if m.Price.Input < 0 || m.Price.Output < 0 {
			ps.add(f+".price", "must not be negative")
		}
		if m.Model == "" {
			ps.add(f+".model", "missing; the upstream's model name")
		}
		switch m.Provider {
		case "", "openai", "anthropic", "ollama":
		default:
			ps.add(f+".provider", "unknown provider %q; want openai, anthropic or ollama", m.Provider)
		}
		if m.TimeoutMS < 0 {
			ps.add(f+".timeout_ms", "must not be negative")
		}
	}
	return names
}

func (c *Config) validateRAG(ps *problems, models map[string]bool) map[string]bool {
	names := map[string]bool{}
	for i, r := range c.RAG {
		f := fmt.Sprintf("rag[%d]", i)
		switch {
		case strings.TrimSpace(r.Name) == "":
			ps.add(f+".name", "missing")
		case names[r.Name]:
			ps.add(f+".name", "collection %q is defined twice", r.Name)
		}
		names[r.Name] = true
		for _, m := range r.Model {
			if !models[m] {
				ps.add(f+".model", "names model %q, which is not defined under models", m)
			}
		}
		switch r.Mode {
		case "", "hybrid", "vector", "bm25", "rrf":
		default:
			ps.add(f+".mode", "unknown mode %q; want hybrid, vector, bm25 or rrf", r.Mode)
		}
		switch r.BelowFloor {
		case "", "answer", "fallback":
		default:
			ps.add(f+".below_floor", "%q; want answer or fallback", r.BelowFloor)
		}
		if r.K < 0 || r.K > 50 || r.VectorWeight < 0 || r.MaxWords < 0 || r.OverlapWords < 0 {
			ps.add(f, "k must be in [1, 50]; vector_weight, max_words and overlap_words must not be negative")
		}
		for k := range r.Filter {
			if k != "doc" && k != "source" && k != "title" && k != "heading" {
				ps.add(f+".filter", "unknown key %q; want doc, source, title or heading", k)
			}
		}
		if r.Floor != nil && (*r.Floor < -1 || *r.Floor > 1) {
			ps.add(f+".floor", "%v is outside [-1, 1]", *r.Floor)
		}
	}
	return names
}
