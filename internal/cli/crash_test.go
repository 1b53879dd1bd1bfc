package cli

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// TestMain lets the crash test run vexloom as a child process of the test
// binary, so that it can be killed like a real one.
func TestMain(m *testing.M) {
	if os.Getenv("VEXLOOM_TEST_CLI") == "1" {
		os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	removeShared()
	os.Exit(code)
}

// checkStore verifies what must hold of a store whatever happened to the
// runs that wrote it: every triage has its first observation (none is half
// created), no observation is recorded twice for the same commit, and each
// branch's VEX file is the store's latest version.
func checkStore(t *testing.T, p *testProject) map[string]string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(p.dir, ".vexloom"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	trs, err := st.Triages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.AllEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trs {
		evs := all[tr.ID]
		if len(evs) == 0 || evs[0].Kind != store.KindObserved {
			t.Errorf("triage %s has no first observation: %+v", tr.ID, evs)
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			if ev.Kind != store.KindObserved {
				continue
			}
			k := string(ev.Data)
			if seen[k] {
				t.Errorf("triage %s: observation recorded twice: %s", tr.ID, k)
			}
			seen[k] = true
		}
	}
	for _, b := range []string{"main", "release-1.0"} {
		d, err := st.LatestDocument(ctx, b)
		if err != nil {
			t.Errorf("%s: %v", b, err)
			continue
		}
		onDisk, err := os.ReadFile(filepath.Join(p.dir, "vex", triage.DocumentFileName(b)))
		if err != nil || !bytes.Equal(onDisk, d.Body) {
			t.Errorf("%s: the VEX file is not the store's version %d (%v)", b, d.Version, err)
		}
	}
	views, err := triage.Views(ctx, st, []string{"main", "release-1.0"})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, v := range views {
		states[v.ID] = string(v.State)
	}
	return states
}

// Killing vexloom update at random moments never loses what was recorded
// and never leaves a triage half-created; the next run completes the work
// and ends where an uninterrupted run ends.
func TestKillDuringUpdate(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs vexloom many times")
	}
	// The reference: one project updated without interruption.
	ref := newTestProject(t)
	ref.update()
	want := checkStore(t, ref)

	// startUpdate runs vexloom update on a project in a child process.
	startUpdate := func(p *testProject) (*exec.Cmd, chan error, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "--cache-dir", p.cache, "-q", "update", "--config", p.cfg)
		cmd.Env = append(p.vars, "VEXLOOM_TEST_CLI=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done, &stderr
	}
	// How long a child's first run takes with the scan cache warm: the
	// window to kill in.
	warm := newTestProject(t)
	warm.cache = ref.cache
	begin := time.Now()
	_, done, stderr := startUpdate(warm)
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	full := time.Since(begin)

	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	kills := 0
	for i := 0; i < 5; i++ {
		p := newTestProject(t)
		p.cache = ref.cache
		// Up to three runs, each killed at a random moment of its work.
		for j := 0; j < 3; j++ {
			cmd, done, stderr := startUpdate(p)
			delay := time.Duration(rng.Int64N(int64(full) + 1))
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("project %d run %d: %v\n%s", i, j, err, stderr)
				}
				t.Logf("project %d run %d: completed", i, j)
			case <-time.After(delay):
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				kills++
				t.Logf("project %d run %d: killed after %v of about %v", i, j, delay.Round(time.Millisecond), full.Round(time.Millisecond))
			}
		}
		p.update()
		got := checkStore(t, p)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("project %d: after the kills the triages are\n%v\nwant\n%v", i, got, want)
		}
	}
	if kills == 0 {
		t.Log("every run completed before its kill; nothing was interrupted this time")
	}
}

// Two updates at once on the same store take turns: neither fails, and no
// triage or observation is recorded twice.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	var wg sync.WaitGroup
	codes := make([]int, 3)
	stderrs := make([]string, 3)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, stderrs[i], codes[i] = p.run("update", "--config", p.cfg, "-q")
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Errorf("update %d: exit %d: %s", i, c, stderrs[i])
		}
	}
	states := checkStore(t, p)
	if len(states) == 0 {
		t.Fatal("no triages")
	}
}
