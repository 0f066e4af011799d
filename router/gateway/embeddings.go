package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/embed"
)

// MaxEmbeddingInputs bounds the texts of one /v1/embeddings request, as
// OpenAI's API does (2,048); the body size limit applies as well.
const MaxEmbeddingInputs = 2048

// embeddingsRequest is a checked /v1/embeddings body.
type embeddingsRequest struct {
	texts  []string
	base64 bool
}

// decodeEmbeddings checks an OpenAI-format embeddings body against the
// embedder fp. Fields it does not know (user, vendor extensions) are
// ignored, as OpenAI-compatible servers do.
func decodeEmbeddings(body []byte, fp embed.Fingerprint) (*embeddingsRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, bad("", "the request body is empty; send a JSON object like {\"input\": [\"...\"]}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, bad("", "the request body is not a JSON object: %v", err)
	}
	req := &embeddingsRequest{}
	var err error
	if req.texts, err = embeddingInput(fields["input"]); err != nil {
		return nil, err
	}
	if raw, ok := fields["model"]; ok && !isNull(raw) {
		var m string
		if json.Unmarshal(raw, &m) != nil {
			return nil, bad("model", "model must be a string: %q (the configured embedder) or \"auto\"", fp.Model)
		}
		if m != "" && m != "auto" && m != fp.Model {
			return nil, &requestError{kind: kindMissing, param: "model", msg: fmt.Sprintf(
				"the embedding model %q does not exist here; use %q (the configured embedder), \"auto\", or omit model", m, fp.Model)}
		}
	}
	if raw, ok := fields["encoding_format"]; ok && !isNull(raw) {
		var f string
		json.Unmarshal(raw, &f)
		switch f {
		case "float":
		case "base64":
			req.base64 = true
		default:
			return nil, bad("encoding_format", "encoding_format must be \"float\" or \"base64\", got %s", clipRaw(raw))
		}
	}
	if raw, ok := fields["dimensions"]; ok && !isNull(raw) {
		var d int
		if json.Unmarshal(raw, &d) != nil || d != fp.Dim {
			return nil, bad("dimensions", "dimensions %s is not supported: the embedder %s gives %d dimensions (omit dimensions or send %d)",
				clipRaw(raw), fp.Model, fp.Dim, fp.Dim)
		}
	}
	return req, nil
}

// embeddingInput reads input: a string or an array of strings. Token ids
// (an array of integers, or of arrays of them) are refused by name.
func embeddingInput(raw json.RawMessage) ([]string, error) {
	const tokens = "input holds token ids; semroute embeds text and does not support token input: send a string or an array of strings"
	if len(raw) == 0 || isNull(raw) {
		return nil, bad("input", "missing input: a string or an array of strings to embed")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if strings.TrimSpace(one) == "" {
			return nil, bad("input", "input is empty")
		}
		return []string{one}, nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, bad("input", "input must be a string or an array of strings, got %s", clipRaw(raw))
	}
	switch {
	case len(items) == 0:
		return nil, bad("input", "input is an empty array")
	case len(items) > MaxEmbeddingInputs:
		return nil, bad("input", "input has %d texts; at most %d a request", len(items), MaxEmbeddingInputs)
	}
	texts := make([]string, len(items))
	for i, it := range items {
		if err := json.Unmarshal(it, &texts[i]); err != nil {
			if c := bytes.TrimSpace(it); len(c) > 0 && (c[0] == '[' || c[0] == '-' || c[0] >= '0' && c[0] <= '9') {
				return nil, bad("input", "%s", tokens)
			}
			return nil, bad("input", "input[%d] must be a string, got %s", i, clipRaw(it))
		}
		if strings.TrimSpace(texts[i]) == "" {
			return nil, bad("input", "input[%d] is empty", i)
		}
	}
	return texts, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// clipRaw quotes a JSON value for an error message, cut at 40 bytes.
func clipRaw(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// embeddings answers POST /v1/embeddings with the router's embedder (the
// embedded default or the configured remote one), in OpenAI's format.
// usage counts words as semroute's tokenizer splits them (embed.Tokens),
// not a model's subword tokens.
func (s *Server) embeddings(c *gin.Context) {
	emb := s.st.Load().router.Embedder()
	fp := emb.Fingerprint()
	body, err := readBody(c.Request.Body)
	if err != nil {
		answerError(c, err)
		return
	}
	req, err := decodeEmbeddings(body, fp)
	if err != nil {
		answerError(c, err)
		return
	}
	exchangeOf(c).model = fp.Model
	vecs, err := emb.Embed(c.Request.Context(), req.texts)
	if err == nil && len(vecs) != len(req.texts) {
		err = fmt.Errorf("it returned %d vectors for %d texts", len(vecs), len(req.texts))
	}
	if err != nil {
		fail(c, kindUpstream, "embedder_failed", "", "the embedder failed: "+err.Error())
		return
	}
	out, err := embeddingsAnswer(fp.Model, req, vecs)
	if err != nil {
		fail(c, kindUpstream, "embedder_failed", "", "the embedder's vectors cannot be sent: "+err.Error())
		return
	}
	c.Data(http.StatusOK, "application/json", out)
}

type embeddingItem struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or base64 of little-endian float32s
}

// embeddingsAnswer is the OpenAI-format response body.
func embeddingsAnswer(model string, req *embeddingsRequest, vecs [][]float32) ([]byte, error) {
	data := make([]embeddingItem, len(vecs))
	var tok embed.Tokens
	words := 0
	for i, v := range vecs {
		data[i] = embeddingItem{Object: "embedding", Index: i, Embedding: v}
		if req.base64 {
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
		tok.Reset(req.texts[i])
		words += tok.Len()
	}
	return json.Marshal(gin.H{"object": "list", "data": data, "model": model,
		"usage": gin.H{"prompt_tokens": words, "total_tokens": words}})
}
