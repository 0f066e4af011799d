package handoff

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semroute/semroute/internal/crashtest"
)

func TestReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "handoff.log")
	s, _ := Open(path)
	a, _ := s.Create("billing", []Message{{Role: "user", Content: "hi"}}, Decision{Intent: "x"})
	s.Claim(a.ID, "ana")
	s.Reply(a.ID, "ana", "done")
	s.Close()
	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Get(a.ID); err != nil || got.State != StateClaimed || got.Reply != "done" || got.Agent != "ana" {
		t.Errorf("replayed %+v %v", got, err)
	}
}

func TestTornTailIsCutDamageIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "handoff.log")
	s, _ := Open(path)
	a, _ := s.Create("q", nil, Decision{})
	s.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`1234abcd {"op":"create","tick`) // a crash mid-write
	f.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("a torn tail must open: %v", err)
	}
	b, err := s.Create("q", nil, Decision{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(a.ID); err != nil {
		t.Error("lost the ticket before the torn line")
	}
	if _, err := s.Get(b.ID); err != nil {
		t.Error("lost the ticket written after the cut")
	}
	s.Close()
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	os.WriteFile(path, []byte(lines[0][:20]+"X"+lines[0][21:]+lines[1]), 0o644) // damage the first of two lines
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a damaged line before a good one: %v", err)
	}
}

// TestKillNineLosesNothing runs a child that creates tickets as fast as it
// can and prints each id once Create returns; the parent kills it with
// SIGKILL at some moment, several times over one log. Every printed
// (acknowledged) id must be in the log, and the log must open.
func TestKillNineLosesNothing(t *testing.T) {
	if path, ok := crashtest.Child("SEMROUTE_HANDOFF_CHILD"); ok {
		s, err := Open(path)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		for i := 0; ; i++ {
			tk, err := s.Create("q", []Message{{Role: "user", Content: strings.Repeat("x", i%500)}}, Decision{})
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println(tk.ID)
		}
	}
	path := filepath.Join(t.TempDir(), "handoff.log")
	var acked []string
	crashtest.Kill(t, "TestKillNineLosesNothing", "SEMROUTE_HANDOFF_CHILD", path, 5, func(line string) {
		if strings.HasPrefix(line, "T") {
			acked = append(acked, line)
		}
	})
	s, err := Open(path)
	if err != nil {
		t.Fatalf("the log does not open after kill -9: %v", err)
	}
	defer s.Close()
	for _, id := range acked {
		if _, err := s.Get(id); err != nil {
			t.Fatalf("acknowledged ticket %s is lost", id)
		}
	}
	if len(acked) < 10 {
		t.Errorf("only %d tickets acknowledged in five rounds: the test did not exercise much", len(acked))
	}
	t.Logf("%d acknowledged tickets over five kill -9 rounds, all in the log", len(acked))
}
