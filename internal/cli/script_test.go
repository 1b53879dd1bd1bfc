package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/ghfake"
)

// TestScripts runs the scripts in testdata/script: each is a session at
// the terminal, with the commands' outputs compared with the golden files
// the script holds. `go test -run TestScripts -update` rewrites them.
//
// Commands available to a script besides testscript's own (cmp, stdout,
// exists, cp, ...):
//
//	vexloom ARGS...    run vexloom in this process, in the script's
//	                   directory, with the fixture database and the clock
//	                   of the tests; "! vexloom" expects it to fail;
//	                   "vexloom ARGS... < FILE" reads FILE as standard input
//	status N           the last vexloom exited N
//	demo-repo DIR      the demo repository, copied to DIR; sets $MAIN and
//	                   $RELEASE to its branches' commits
//	github-server      point vexloom at the script's in-process GitHub
//	                   (internal/ghfake, on loopback) with a token; its
//	                   address is $GITHUB in the outputs
//	github-issue REPO USER STATE LABEL TITLE [BODY]
//	                   an issue in REPO ("-" LABEL: none); sets $ISSUE to
//	                   its number
//	github-comment REPO N USER FILE
//	                   a comment on issue N of REPO, FILE its body
//
// What depends on the machine is masked in the outputs: the script's
// directory is $WORK, the fixture database's $OSV, the version of Go that
// runs the tests $GOVERSION, the tool's version (a development build) devel,
// the hash in a document's ID (and of the document) $CONTENT_HASH, a
// generated key's fingerprint $KEY_FINGERPRINT, a CycloneDX document's serial
// number (derived from its ID) $SERIAL.
//
// The script tests run before the package's parallel tests, not among them:
// vexloom reads relative paths against the process's working directory,
// which each command changes to the script's while it runs.
func TestScripts(t *testing.T) {
	warmScans(t)
	// An absolute directory: the scripts' own files must not move when a
	// command changes the working directory.
	dir, err := filepath.Abs(filepath.Join("testdata", "script"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                dir,
		UpdateScripts:      *update,
		RequireUniqueNames: true,
		Setup: func(e *testscript.Env) error {
			cache := filepath.Join(e.WorkDir, ".cache")
			if err := os.MkdirAll(cache, 0o755); err != nil {
				return err
			}
			fixture.Database(e.T().(testing.TB), cache)
			if err := os.Symlink(sharedScans(e.T().(testing.TB)), filepath.Join(cache, "scans")); err != nil {
				return err
			}
			gh := ghfake.New(e.T().(testing.TB))
			gh.SetNow(func() time.Time { return fixture.Now })
			gh.AddToken(scriptGitHubToken, "vexloom-bot")
			e.Values[scriptGitHubKey{}] = gh
			e.Setenv("VEXLOOM_CACHE", cache)
			e.Setenv("SOURCE_DATE_EPOCH", "1795000000")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"vexloom":        scriptVexloom,
			"status":         scriptStatus,
			"demo-repo":      scriptDemoRepo,
			"github-server":  scriptGitHubServer,
			"github-issue":   scriptGitHubIssue,
			"github-comment": scriptGitHubComment,
		},
	})
}

// scriptDir serialises the commands that run in the script's directory.
var scriptDir sync.Mutex

func scriptVexloom(ts *testscript.TestScript, neg bool, args []string) {
	vars := append(os.Environ(), "VEXLOOM_CACHE="+ts.Getenv("VEXLOOM_CACHE"), "SOURCE_DATE_EPOCH="+ts.Getenv("SOURCE_DATE_EPOCH"))
	for _, k := range []string{"VEXLOOM_KEY_PASSWORD", "GITHUB_TOKEN", githubAPIEnv} {
		if v := ts.Getenv(k); v != "" {
			vars = append(vars, k+"="+v)
		}
	}
	g := &globals{now: func() time.Time { return fixture.Now }, env: vars}
	var stdout, stderr bytes.Buffer
	// "< FILE" at the end reads FILE as standard input, as a shell would.
	stdin := strings.NewReader("")
	if n := len(args); n >= 2 && args[n-2] == "<" {
		stdin = strings.NewReader(ts.ReadFile(args[n-1]))
		args = args[:n-2]
	}

	scriptDir.Lock()
	wd, err := os.Getwd()
	ts.Check(err)
	ts.Check(os.Chdir(ts.MkAbs(".")))
	code := run(context.Background(), g, args, stdin, &stdout, &stderr)
	ts.Check(os.Chdir(wd))
	scriptDir.Unlock()

	work := ts.Getenv("WORK")
	mask := func(s string) string {
		if api := ts.Getenv(githubAPIEnv); api != "" {
			s = strings.ReplaceAll(s, strings.TrimSuffix(api, "/"), "$GITHUB")
		}
		return maskScript(s, work)
	}
	ts.Stdout().Write([]byte(mask(stdout.String())))
	ts.Stderr().Write([]byte(mask(stderr.String())))
	ts.Setenv("EXIT", strconv.Itoa(code))
	switch {
	case code != 0 && !neg:
		ts.Fatalf("vexloom exited %d", code)
	case code == 0 && neg:
		ts.Fatalf("vexloom succeeded, want failure")
	}
}

var (
	// The version of Go that runs the tests (not the one a branch builds
	// with, which the demo pins).
	goVersionJSON = regexp.MustCompile(`"go": "go1[^"]*"`)
	develVersion  = regexp.MustCompile(`devel[-+0-9a-f.]*`)
	documentID    = regexp.MustCompile(`/public/vex-[0-9a-f]{64}`)
	// The hash of a whole document, at the top level of vex --format json.
	documentHash = regexp.MustCompile(`(?m)^(  )"content_hash": "sha256:[0-9a-f]{64}"`)
	signedBy     = regexp.MustCompile(`"signed_by": "[0-9a-f]{64}"`)
	// A CycloneDX serial number is a name-based UUID of the document ID.
	serialNumber = regexp.MustCompile(`"serialNumber": "urn:uuid:[0-9a-f-]{36}"`)
)

// maskScript replaces what depends on the machine or the run in a
// command's output.
func maskScript(s, work string) string {
	if work != "" {
		if real, err := filepath.EvalSymlinks(work); err == nil && real != work {
			s = strings.ReplaceAll(s, real, "$WORK")
		}
		s = strings.ReplaceAll(s, work, "$WORK")
	}
	s = strings.ReplaceAll(s, fixture.OSVDir(), "$OSV")
	s = goVersionJSON.ReplaceAllString(s, `"go": "$$GOVERSION"`)
	s = develVersion.ReplaceAllString(s, "devel")
	// Document IDs hash the content, which names the script's directory.
	s = documentID.ReplaceAllString(s, "/public/vex-$$CONTENT_HASH")
	s = documentHash.ReplaceAllString(s, `$1"content_hash": "sha256:$$CONTENT_HASH"`)
	// Keys are generated: their fingerprints differ on every run.
	s = signedBy.ReplaceAllString(s, `"signed_by": "$$KEY_FINGERPRINT"`)
	s = serialNumber.ReplaceAllString(s, `"serialNumber": "urn:uuid:$$SERIAL"`)
	return s
}

// scriptStatus checks the exit code of the last vexloom command.
func scriptStatus(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: status N")
	}
	got := ts.Getenv("EXIT")
	if (got == args[0]) == neg {
		ts.Fatalf("vexloom exited %s, want %s%s", got, map[bool]string{true: "not ", false: ""}[neg], args[0])
	}
}

// scriptDemoRepo copies the demo repository into the script's directory.
func scriptDemoRepo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: demo-repo DIR")
	}
	r, err := copyDemoRepo(ts.MkAbs(args[0]))
	ts.Check(err)
	ts.Setenv("MAIN", r.Commits[demo.MainBranch])
	ts.Setenv("RELEASE", r.Commits[demo.ReleaseBranch])
}

// The script's GitHub: one per script, reached only after github-server.
type scriptGitHubKey struct{}

const scriptGitHubToken = "script-token"

func scriptGitHub(ts *testscript.TestScript) *ghfake.Server {
	return ts.Value(scriptGitHubKey{}).(*ghfake.Server)
}

func scriptGitHubServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: github-server")
	}
	ts.Setenv("GITHUB_TOKEN", scriptGitHubToken)
	ts.Setenv(githubAPIEnv, scriptGitHub(ts).URL())
}

func scriptGitHubIssue(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 5 || len(args) > 6 {
		ts.Fatalf("usage: github-issue REPO USER STATE LABEL TITLE [BODY]")
	}
	gh := scriptGitHub(ts)
	in := ghfake.IssueInput{User: args[1], State: args[2], Title: args[4]}
	if args[3] != "-" {
		in.Labels = []string{args[3]}
	}
	if len(args) == 6 {
		in.Body = args[5]
	}
	gh.CreateRepo(args[0])
	ts.Setenv("ISSUE", strconv.Itoa(gh.AddIssue(args[0], in).Number))
}

func scriptGitHubComment(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: github-comment REPO N USER FILE")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	scriptGitHub(ts).AddComment(args[0], n, args[2], ts.ReadFile(args[3]))
}
