package feedback_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/semroute/semroute/router/feedback"
)

// BenchmarkLogRecord records routes (and their models) in batches of 100,
// as the Recorder's group commit does under load, and reports the heap
// the in-memory index keeps a request (heap-B/request: the prompt stays
// on disk).
func BenchmarkLogRecord(b *testing.B) {
	l, err := feedback.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		batch := make([]feedback.Route, 100)
		models := map[string]string{}
		for j := range batch {
			id := fmt.Sprintf("req-%09d-%016x", n, n)
			n++
			batch[j] = feedback.Route{ID: id, At: time.Now(), Intent: "weather", Score: 0.5, DecidedBy: "embedding", Target: "model:fast", Prompt: "will it rain tomorrow in paris"}
			models[id] = "fast"
		}
		if err := l.Record(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		if err := l.Answered(context.Background(), models); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/request")
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(n), "heap-B/request")
}
