package handoff

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLifecycleAndReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "handoff.log")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	conv := []Message{{Role: "user", Content: "I was charged twice"}}
	a, err := s.Create("billing", conv, Decision{Intent: "payment_problem", Score: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Create("safety", conv, Decision{Reason: "self_harm"})
	if _, err := s.Claim(a.ID, "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(a.ID, "bo"); !errors.Is(err, ErrState) {
		t.Errorf("claiming a claimed ticket: %v", err)
	}
	s.Reply(a.ID, "ana", "Refunded the second charge.")
	s.Resolve(a.ID)
	if _, err := s.Resolve(a.ID); !errors.Is(err, ErrState) {
		t.Errorf("resolving twice: %v", err)
	}
	if _, err := s.Claim("T-nope", "ana"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown ticket: %v", err)
	}
	s.Close()

	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := again.Get(a.ID)
	if !ok || got.State != StateResolved || got.Reply != "Refunded the second charge." || got.Agent != "ana" || got.Conversation[0].Content != conv[0].Content {
		t.Errorf("replayed %+v", got)
	}
	if open := again.List("", StateOpen); len(open) != 1 || open[0].ID != b.ID {
		t.Errorf("open tickets %+v", open)
	}
	if ages := again.OldestOpen(time.Now()); ages["safety"] <= 0 || ages["billing"] != 0 {
		t.Errorf("oldest open %v", ages)
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
	if _, ok := s.Get(a.ID); !ok {
		t.Error("lost the ticket before the torn line")
	}
	if _, ok := s.Get(b.ID); !ok {
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
	if os.Getenv("SEMROUTE_HANDOFF_CHILD") != "" {
		s, err := Open(os.Getenv("SEMROUTE_HANDOFF_CHILD"))
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
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillNineLosesNothing$")
		cmd.Env = append(os.Environ(), "SEMROUTE_HANDOFF_CHILD="+path)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(time.Duration(20+round*15) * time.Millisecond)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "error") {
				t.Fatalf("child: %s", line)
			}
			if strings.HasPrefix(line, "T") {
				acked = append(acked, line)
			}
			if time.Now().After(deadline) {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		for sc.Scan() { // ids printed before the kill landed
			if strings.HasPrefix(sc.Text(), "T") {
				acked = append(acked, sc.Text())
			}
		}
		cmd.Wait()
	}
	s, err := Open(path)
	if err != nil {
		t.Fatalf("the log does not open after kill -9: %v", err)
	}
	defer s.Close()
	for _, id := range acked {
		if _, ok := s.Get(id); !ok {
			t.Fatalf("acknowledged ticket %s is lost", id)
		}
	}
	if len(acked) < 10 {
		t.Errorf("only %d tickets acknowledged in five rounds: the test did not exercise much", len(acked))
	}
	t.Logf("%d acknowledged tickets over five kill -9 rounds, all in the log (%d tickets there)", len(acked), len(s.List("", "")))
}
