package moderation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// External calls an OpenAI-compatible /v1/moderations endpoint.
type External struct {
	BaseURL, Model, APIKey string
	Timeout                time.Duration
	Client                 *http.Client
}

// externalCategories maps OpenAI's moderation categories to semroute's.
var externalCategories = map[string]string{
	"violence": "violence_weapons", "violence/graphic": "violence_weapons", "illicit/violent": "violence_weapons",
	"self-harm": "self_harm", "self-harm/intent": "self_harm", "self-harm/instructions": "self_harm",
	"sexual/minors": "sexual_minors", "sexual": "sexual_content",
	"hate": "hate_harassment", "hate/threatening": "hate_harassment", "harassment": "hate_harassment", "harassment/threatening": "hate_harassment",
	"illicit": "fraud",
}

// Check returns the endpoint's flags for text, in semroute's categories
// (others keep their own name).
func (e *External) Check(ctx context.Context, text string) ([]Flag, error) {
	body := map[string]any{"input": text}
	if e.Model != "" {
		body["model"] = e.Model
	}
	b, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, cmpDur(e.Timeout, 5*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(e.BaseURL, "/")+"/moderations", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if e.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	client := e.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("external moderation: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("external moderation: HTTP %d: %.200s", resp.StatusCode, raw)
	}
	var out struct {
		Results []struct {
			Flagged        bool               `json:"flagged"`
			Categories     map[string]bool    `json:"categories"`
			CategoryScores map[string]float64 `json:"category_scores"`
		} `json:"results"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Results) == 0 {
		return nil, fmt.Errorf("external moderation: the answer has no results: %.200s", raw)
	}
	var flags []Flag
	r := out.Results[0]
	for name, on := range r.Categories {
		if !on {
			continue
		}
		cat := name
		if c, ok := externalCategories[name]; ok {
			cat = c
		}
		if !slices.ContainsFunc(flags, func(f Flag) bool { return f.Category == cat }) {
			flags = append(flags, Flag{Category: cat, Score: r.CategoryScores[name], Source: "external"})
		}
	}
	slices.SortFunc(flags, func(a, b Flag) int { return strings.Compare(a.Category, b.Category) })
	return flags, nil
}

func cmpDur(a, b time.Duration) time.Duration {
	if a > 0 {
		return a
	}
	return b
}

// Combine joins semroute's flags and the endpoint's. With "any" every flag
// counts; with "both", an unsafe category counts only when both sides
// found the text unsafe (PII, which the endpoint does not judge, always
// counts).
func Combine(own, ext []Flag, mode string) []Flag {
	if mode != "both" {
		return append(slices.Clone(own), ext...)
	}
	if !Unsafe(own) || len(ext) == 0 {
		return slices.DeleteFunc(slices.Clone(own), func(f Flag) bool { return f.Category != CategoryPII })
	}
	return append(slices.Clone(own), ext...)
}
