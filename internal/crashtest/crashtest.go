// Package crashtest kills a test's child process with SIGKILL at some
// moment, the way the stores that must lose nothing acknowledged (the
// handoff queue, the default index) are tested. It has its own folder
// because those stores live in different packages.
package crashtest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Child reports whether this process is the child Kill starts, and the
// value Kill gave it.
func Child(env string) (string, bool) {
	v := os.Getenv(env)
	return v, v != ""
}

// Kill runs the test named test again as a child, with env=value, rounds
// times. Each round it is killed with SIGKILL after a delay that grows from
// round to round. Every line the child printed, up to the kill and the
// lines already in the pipe, goes to line; a line that starts with "error"
// fails the test.
func Kill(t *testing.T, test, env, value string, rounds int, line func(string)) {
	t.Helper()
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
		cmd.Env = append(os.Environ(), env+"="+value)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		deadline := time.Now().Add(time.Duration(20+round*15) * time.Millisecond)
		killed := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "error") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child: %s", sc.Text())
			}
			line(sc.Text())
			if !killed && time.Now().After(deadline) {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true // read on: lines printed before the kill landed
			}
		}
		cmd.Wait()
	}
}
