package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/router/cache/cachepg"
	"github.com/semroute/semroute/router/judge/suggest/suggestpg"
)

// TestReplicasShareTheJudge: two servers on one PostgreSQL share the
// judge's cached answers (the judge is called once for a prompt both
// route) and its suggestions; one accepted through either replica is
// routed by the other.
func TestReplicasShareTheJudge(t *testing.T) {
	h, jf := startJudged(t, "below: 0.5", keysYAML()) // for the config file and the fakes
	jf.setAnswer(func(string, string) string { return `{"intent": "music"}` })
	cfg := pgConfig(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replicas := pgReplicas(ctx, t, cfg, func(db *postgres.DB, o *Options) {
		o.Suggestions, o.JudgeCache = suggestpg.New(db), cachepg.New(db, time.Hour)
	})
	a, b := replicas[0], replicas[1]
	const tunes = "crank up some tunes for the drive"
	if d := a.route(t, "app-secret", tunes); d.DecidedBy != "judge" || intentOf(d) != "music" || d.Judge.Cache != "" {
		t.Fatalf("replica a: %+v", d)
	}
	if d := b.route(t, "app-secret", tunes); d.DecidedBy != "judge" || d.Judge.Cache != "exact" || jf.hits.Load() != 1 {
		t.Errorf("replica b: %+v, judge called %d times: want the answer a's call cached", d.Judge, jf.hits.Load())
	}
	list := b.suggestions(t)
	if len(list) != 1 || list[0].Count != 2 || list[0].Text != tunes {
		t.Fatalf("suggestions on b: %+v", list)
	}
	if code, _, body := b.do(t, "POST", "/v1/intents/suggestions/"+list[0].ID+"/accept", "admin-secret", ""); code != 200 {
		t.Fatalf("accept on b: %d %v", code, body)
	}
	// Once a has the change (LISTEN/NOTIFY), the embeddings decide there.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, music := a.do(t, "GET", "/v1/intents/music", "admin-secret", "")
		if strings.Contains(jsonOf(music), tunes) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica a never picked up the accepted utterance: %v", music)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := a.route(t, "app-secret", tunes); d.DecidedBy != "embedding" || intentOf(d) != "music" {
		t.Errorf("replica a after the change: %+v", d)
	}
	if left := a.suggestions(t); len(left) != 0 {
		t.Errorf("after accepting, a lists %+v", left)
	}
}
