// Command storebench times the commands that read or walk the whole store
// on both backends, with a large history: an idle `vexloom update` (nothing
// changed since the last run) over many branches, and `vexloom status` and
// `vexloom triage list` over thousands of triages.
//
//	go run ./bench/storebench -postgres postgres://…   # or $VEXLOOM_TEST_POSTGRES
//
// It builds vexloom, creates the demo repository with -branches maintained
// branches, fetches the fixture vulnerability database (offline), runs a
// first update, adds -triages triages with their history through the store,
// runs update again so that the history settles, then times -n runs of each
// command and prints the medians. PostgreSQL runs in a database the command
// creates and drops.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/store"
)

func main() {
	var (
		pgURL    = flag.String("postgres", os.Getenv("VEXLOOM_TEST_POSTGRES"), "a PostgreSQL server `URL` to create the benchmark's database on (empty: SQLite only)")
		triages  = flag.Int("triages", 5000, "triages in the store")
		branches = flag.Int("branches", 40, "maintained branches")
		n        = flag.Int("n", 5, "timed runs of each command")
		keep     = flag.Bool("keep", false, "keep the work directory (the built binary, the repository, the SQLite store and each backend's vexloom.yaml) and print where it is; the PostgreSQL database is dropped all the same")
	)
	flag.Parse()
	log.SetFlags(0)
	ctx := context.Background()
	work, err := os.MkdirTemp("", "storebench-")
	if err != nil {
		log.Fatal(err)
	}
	if *keep {
		defer fmt.Printf("\nkept %s (run its vexloom with VEXLOOM_CACHE=%s)\n", work, filepath.Join(work, "cache"))
	} else {
		defer os.RemoveAll(work)
	}

	bin := filepath.Join(work, "vexloom")
	run("go", "build", "-o", bin, "./cmd/vexloom")
	cache := filepath.Join(work, "cache")
	env := append(os.Environ(), "VEXLOOM_CACHE="+cache, "GOFLAGS=-mod=mod")
	// vexloom runs one command and returns its wall and CPU (user and
	// system) time: on a shared machine the CPU time says more.
	vexloom := func(dir string, args ...string) timing {
		cmd := exec.Command(bin, append([]string{"-q"}, args...)...)
		cmd.Dir, cmd.Env, cmd.Stderr = dir, env, os.Stderr
		begin := time.Now()
		if out, err := cmd.Output(); err != nil {
			log.Fatalf("vexloom %v: %v\n%s", args, err, out)
		}
		return timing{time.Since(begin), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	}

	repo, err := demo.Create(ctx, filepath.Join(work, "repo"))
	if err != nil {
		log.Fatal(err)
	}
	for i := 2; i < *branches; i++ {
		from := []string{"main", "release-1.0"}[i%2]
		run("git", "-C", repo.Dir, "branch", fmt.Sprintf("release-1.%d", i), from)
	}
	vexloom(work, "db", "update", "--source", "dir:"+fixture.OSVDir())

	type backend struct {
		name  string
		store string
	}
	backends := []backend{{"sqlite", filepath.Join(work, "sqlite-store")}}
	if *pgURL != "" {
		u, err := url.Parse(*pgURL)
		if err != nil {
			log.Fatal(err)
		}
		admin, err := sql.Open("pgx", *pgURL)
		if err != nil {
			log.Fatal(err)
		}
		name := fmt.Sprintf("storebench_%d", os.Getpid())
		if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
			log.Fatal(err)
		}
		defer admin.ExecContext(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`)
		u.Path = "/" + name
		backends = append(backends, backend{"postgres", u.String()})
	}

	fmt.Printf("%d triages, %d branches, medians of %d runs: wall time (CPU time)\n\n", *triages, *branches, *n)
	fmt.Printf("%-9s %-22s %-22s %-22s\n", "backend", "idle update", "status", "triage list")
	for _, b := range backends {
		dir := filepath.Join(work, b.name)
		os.MkdirAll(dir, 0o755)
		cfg := filepath.Join(dir, "vexloom.yaml")
		vexloom(dir, "init", "-o", cfg, "--module", demo.Module, "--repository", repo.Dir, "--branch", "main", "--branch", "release-*")
		vexloom(dir, "update", "--config", cfg, "--store", b.store)
		fill(ctx, b.store, *triages)
		vexloom(dir, "update", "--config", cfg, "--store", b.store)
		var upd, st, list []timing
		for range *n {
			upd = append(upd, vexloom(dir, "update", "--config", cfg, "--store", b.store))
			st = append(st, vexloom(dir, "status", "--config", cfg, "--store", b.store))
			list = append(list, vexloom(dir, "triage", "list", "--config", cfg, "--store", b.store))
		}
		fmt.Printf("%-9s %-22s %-22s %-22s\n", b.name, median(upd), median(st), median(list))
	}
}

// fill adds triages with a history like a project's: observed on a branch,
// assessed by the scanner, decided by a maintainer.
func fill(ctx context.Context, loc string, n int) {
	st, err := store.OpenLocation(ctx, loc, store.Options{Project: demo.Module})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	for i := range n {
		vuln := fmt.Sprintf("GO-2020-%04d", i)
		dep := fmt.Sprintf("example.com/dep%d", i%97)
		branch := fmt.Sprintf("release-1.%d", 2+i%38)
		_, _, err := st.EnsureTriage(ctx, vuln, dep, []store.Event{
			{Kind: store.KindObserved, Author: "vexloom", Branches: []string{branch}, Data: []byte(`{"branch":"` + branch + `","level":"package"}`)},
			{Kind: store.KindAssessment, Author: "vexloom", Source: "automatic", Branches: []string{branch}, Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path"},
			{Kind: store.KindAssessment, Author: "alice", Source: "maintainer", Branches: []string{branch}, Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path", Impact: "not reachable"},
		})
		if err != nil {
			log.Fatal(err)
		}
	}
}

// timing is how long one command took: wall time and CPU time.
type timing struct{ wall, cpu time.Duration }

// median is the median wall time and the median CPU time, each over the
// runs (not necessarily of the same run).
func median(ts []timing) string {
	var wall, cpu []time.Duration
	for _, t := range ts {
		wall, cpu = append(wall, t.wall), append(cpu, t.cpu)
	}
	slices.Sort(wall)
	slices.Sort(cpu)
	return fmt.Sprintf("%v (%v)", wall[len(wall)/2].Round(time.Millisecond), cpu[len(cpu)/2].Round(time.Millisecond))
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	if out, err := cmd.Output(); err != nil {
		log.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
