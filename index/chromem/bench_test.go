package chromem

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	chromem "github.com/philippgille/chromem-go"

	"github.com/semroute/semroute/index"
)

// BenchmarkPersist stores 20,000 records of 384 dimensions and opens the
// directory again: with the log, and with chromem-go's own persistence (a
// gob file per record), which this package used before.
//
//	go test -run '^$' -bench Persist -benchtime 3x ./index/chromem
func BenchmarkPersist(b *testing.B) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([]index.Record, 20000)
	for i := range recs {
		v := make([]float32, 384)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		recs[i] = index.Record{ID: fmt.Sprint("chunk-", i), Text: "a passage of about a hundred characters, as a RAG chunk's text is, more or less, here", Vector: v}
	}
	b.Run("log", func(b *testing.B) {
		for range b.N {
			dir := b.TempDir()
			x, _ := Open(dir)
			if err := x.Upsert(ctx, "c", recs); err != nil {
				b.Fatal(err)
			}
			x.Close()
			y, err := Open(dir)
			if err != nil || y.count() != len(recs) {
				b.Fatal(err)
			}
			y.Close()
		}
	})
	b.Run("chromem-files", func(b *testing.B) {
		docs := make([]chromem.Document, len(recs))
		for i, r := range recs {
			docs[i] = chromem.Document{ID: r.ID, Content: r.Text, Embedding: unit(r.Vector)}
		}
		for range b.N {
			dir := b.TempDir()
			db, _ := chromem.NewPersistentDB(dir, false)
			c, _ := db.CreateCollection(chromemName("c", 384), nil, noEmbed)
			if err := c.AddDocuments(ctx, docs, 4); err != nil {
				b.Fatal(err)
			}
			if _, err := chromem.NewPersistentDB(dir, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
