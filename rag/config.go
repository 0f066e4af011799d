package rag

import (
	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/intents"
)

// CollectionConfig configures one document collection: an entry of the
// config's rag list (router.Config.RAG, whose router.RAGCollection it is;
// router validates it with the rest of the config).
type CollectionConfig struct {
	Name string `yaml:"name"`
	// Model is the tier that answers from the passages; without one the
	// passages are returned as they are.
	Model intents.Models `yaml:"model,omitempty"`
	K     int            `yaml:"k,omitempty"`    // passages (default 5)
	Mode  string         `yaml:"mode,omitempty"` // hybrid (default), vector, bm25, rrf
	// VectorWeight is the vector score's weight in hybrid (default 0.2).
	VectorWeight float64 `yaml:"vector_weight,omitempty"`
	// Floor is the least cosine similarity of the best passage (default
	// 0.2); below it the answer says nothing relevant was found, or, with
	// below_floor: fallback, the prompt goes to the config's fallback.
	Floor        *float64 `yaml:"floor,omitempty"`
	BelowFloor   string   `yaml:"below_floor,omitempty"` // answer (default) | fallback
	MaxWords     int      `yaml:"max_words,omitempty"`   // chunk size (default 160)
	OverlapWords int      `yaml:"overlap_words,omitempty"`
	// Filter keeps only chunks with these values (keys doc, source, title,
	// heading) in every query of the collection.
	Filter map[string]string `yaml:"filter,omitempty"`
}

// OptionsOf are the options of a configured collection.
func OptionsOf(rc *CollectionConfig, idx index.Index, emb embed.Embedder) Options {
	return Options{Index: idx, Embedder: emb, Chunk: ChunkOptions{MaxWords: rc.MaxWords, OverlapWords: rc.OverlapWords},
		Mode: rc.Mode, VectorWeight: rc.VectorWeight}
}
