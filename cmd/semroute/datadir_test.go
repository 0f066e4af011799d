package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/internal/dirlock"
)

// serveChild starts this test binary as `semroute serve --config cfg` and
// returns it once it prints the address it listens on, or its exit status
// if it exits first; log keeps growing with what it writes.
func serveChild(t *testing.T, cfg string, extraEnv ...string) (cmd *exec.Cmd, exited error, log *syncBuffer) {
	t.Helper()
	exe, env, err := selfExe()
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(exe, "serve", "--config", cfg, "--addr", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), env...), extraEnv...)
	pipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan bool, 1)
	log = &syncBuffer{}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "listening on") {
				listening <- true
			}
		}
		listening <- false
	}()
	if <-listening {
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, nil, log
	}
	return cmd, cmd.Wait(), log
}

// TestDataDirLock: a second `semroute serve` on the data_dir of a running
// one exits at once with an error naming the directory and the first's
// pid, and so do route and ingest; after the first is killed (kill -9, its
// LOCK file left behind) a new one starts.
func TestDataDirLock(t *testing.T) {
	localtest.Open(t)
	cfg := demoConfig(t)
	data := filepath.Join(filepath.Dir(cfg), "data")

	first, err, log := serveChild(t, cfg)
	if err != nil {
		t.Fatalf("the first serve exited (%v):\n%s", err, log)
	}
	second, err, log := serveChild(t, cfg)
	if err == nil {
		t.Fatalf("a second serve on the same data_dir started listening (pid %d):\n%s", second.Process.Pid, log)
	}
	want := fmt.Sprintf("lock data_dir %s: it is in use by another process (pid %d)", data, first.Process.Pid)
	if !strings.Contains(log.String(), want) || second.ProcessState.ExitCode() != 1 {
		t.Errorf("second serve: exit %d, log:\n%s\nwant exit 1 and %q", second.ProcessState.ExitCode(), log, want)
	}
	// route builds the router over the same index, and ingest writes it.
	for _, args := range [][]string{{"route", "--config", cfg, "where is my parcel"},
		{"ingest", "--quiet", "--config", cfg, "--collection", "products", "../../datasets/demo/products"}} {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "SEMROUTE_TEST_MAIN=1")
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("%s while serve holds data_dir: %v\n%s\nwant a failure naming %q", args[0], err, out, want)
		}
	}

	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	if b, _ := os.ReadFile(filepath.Join(data, dirlock.Name)); strings.TrimSpace(string(b)) != fmt.Sprint(first.Process.Pid) {
		t.Fatalf("LOCK after kill -9 holds %q, want the dead pid %d left behind", b, first.Process.Pid)
	}
	if _, err, log := serveChild(t, cfg); err != nil {
		t.Fatalf("serve after the holder was killed: %v\n%s", err, log)
	}
}
