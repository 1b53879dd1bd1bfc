package chatops

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openvex/go-vex/pkg/vex"
)

// parseCase is a comment and what Parse should find in it. Commands are
// compared on every field but Raw, which is checked separately where it
// matters.
type parseCase struct {
	name     string
	comment  string
	want     []Command
	problems []wantProblem
}

type wantProblem struct {
	line   int
	reason string // a part of Reason
}

// kubernetesComments are comments as maintainers write them on a triage
// issue of a Kubernetes-sized project, with Prow's commands around.
var kubernetesComments = []parseCase{
	{
		name: "prow commands around a decision",
		comment: "/lgtm\n/approve\n" +
			"/not_affected:vulnerable_code_not_in_execute_path\n" +
			"kube-apiserver imports golang.org/x/net/html only through the OpenAPI UI handler,\n" +
			"which is compiled out of every release binary.\n" +
			"/hold\n/retest\n",
		want: []Command{{
			Verb: NotAffected, Justification: vex.VulnerableCodeNotInExecutePath, Line: 3,
			Text: "kube-apiserver imports golang.org/x/net/html only through the OpenAPI UI handler,\nwhich is compiled out of every release binary.",
		}},
	},
	{
		name: "prose, then the command with a multi-line impact statement",
		comment: "I went through the call graph govulncheck printed. The only path to `html.Parse` is\n" +
			"from `k8s.io/kubectl/pkg/explain`, which parses our own embedded OpenAPI descriptions,\n" +
			"never user input.\n" +
			"\n" +
			"/not-affected:vulnerable-code-cannot-be-controlled-by-adversary\n" +
			"\n" +
			"The vulnerable tokenizer is reached only with documents embedded at build time:\n" +
			"\n" +
			"- `kubectl explain` renders descriptions compiled into the binary;\n" +
			"- no server-side component calls `html.Parse` at all.\n" +
			"\n" +
			"An attacker would need to replace the kubectl binary itself.\n" +
			"\n" +
			"\n",
		want: []Command{{
			Verb: NotAffected, Justification: vex.VulnerableCodeCannotBeControlledByAdversary, Line: 5,
			Text: "The vulnerable tokenizer is reached only with documents embedded at build time:\n" +
				"\n" +
				"- `kubectl explain` renders descriptions compiled into the binary;\n" +
				"- no server-side component calls `html.Parse` at all.\n" +
				"\n" +
				"An attacker would need to replace the kubectl binary itself.",
		}},
	},
	{
		name: "two scoped commands in one comment",
		comment: "Release managers, FYI:\n" +
			"/fixed branches=master,release-1.34 fixed by #131234 (golang.org/x/net v0.38.0)\n" +
			"/affected branches=release-1.32,release-1.33\n" +
			"Upgrade to v1.33.3 or v1.32.7 once released. Until then, do not expose\n" +
			"the aggregated API server to untrusted clients.\n" +
			"/cc @kubernetes/release-managers\n",
		want: []Command{
			{Verb: Fixed, Branches: []string{"master", "release-1.34"}, Line: 2, Text: "fixed by #131234 (golang.org/x/net v0.38.0)"},
			{Verb: Affected, Branches: []string{"release-1.32", "release-1.33"}, Line: 3,
				Text: "Upgrade to v1.33.3 or v1.32.7 once released. Until then, do not expose\nthe aggregated API server to untrusted clients."},
		},
	},
	{
		name: "a command shown in a code block is not applied",
		comment: "To close this, an approver writes:\n" +
			"```\n" +
			"/not_affected:component_not_present\n" +
			"```\n" +
			"or, with tildes:\n" +
			"~~~markdown\n" +
			"/fixed\n" +
			"```\n" +
			"/affected still inside: a ``` line does not close a ~~~ fence\n" +
			"~~~~\n" +
			"/under_investigation pending @liggitt's look",
		want: []Command{{Verb: UnderInvestigation, Line: 11, Text: "pending @liggitt's look"}},
	},
	{
		name: "a fence inside a list item",
		comment: "Steps:\n" +
			"1. run\n" +
			"   ```sh\n" +
			"   /usr/local/bin/kubeadm upgrade plan\n" +
			"/fixed\n" +
			"   ```\n" +
			"2. done\n",
	},
	{
		name:    "an unclosed fence runs to the end of the comment",
		comment: "```go\nfunc main() {}\n/fixed\n/withdraw\n",
	},
	{
		name: "a quoted command is not applied again",
		comment: "> /not_affected:vulnerable_code_not_present\n" +
			"> The package is never imported.\n" +
			"\n" +
			"It is imported by `pkg/kubelet/cm`, see the trace above.\n" +
			"/under-investigation re-checking with a symbol scan\n" +
			"  > /affected quoted, indented\n",
		want: []Command{{Verb: UnderInvestigation, Line: 5, Text: "re-checking with a symbol scan\n  > /affected quoted, indented"}},
	},
	{
		name: "a line after a quote continues it lazily",
		comment: "> I'd say\n" +
			"/not_affected:vulnerable_code_not_present\n" +
			"    /fixed indented, still the quote\n" +
			"<span>\n" +
			"/affected still the quote\n" +
			"\n" +
			"/withdraw wrong triage\n",
		want: []Command{{Verb: Withdraw, Line: 7, Text: "wrong triage"}},
	},
	{
		name: "a block that interrupts the quote's paragraph ends it",
		comment: "> quoted\n" +
			"---\n" +
			"/fixed after a thematic break\n" +
			"> quoted\n" +
			"# Decision\n" +
			"/under_investigation after a heading\n" +
			"> quoted\n" +
			"- a list item\n" +
			"/withdraw after a list item\n",
		want: []Command{
			{Verb: Fixed, Line: 3, Text: "after a thematic break\n> quoted\n# Decision"},
			{Verb: UnderInvestigation, Line: 6, Text: "after a heading\n> quoted\n- a list item"},
			{Verb: Withdraw, Line: 9, Text: "after a list item"},
		},
	},
	{
		name: "no lazy continuation after a quote that holds no paragraph",
		comment: ">\n" +
			"/fixed after an empty quote line\n" +
			"> # a quoted heading\n" +
			"/withdraw after a quoted heading\n" +
			"> ```\n" +
			"/affected after a quoted fence: the fence ends with the quote\n",
		want: []Command{
			{Verb: Fixed, Line: 2, Text: "after an empty quote line\n> # a quoted heading"},
			{Verb: Withdraw, Line: 4, Text: "after a quoted heading\n> ```"},
			{Verb: Affected, Line: 6, Text: "after a quoted fence: the fence ends with the quote"},
		},
	},
	{
		name: "a fence ends the quote; a lazy line may open an HTML comment",
		comment: "> quoted\n" +
			"```\n" +
			"/fixed in the fence\n" +
			"```\n" +
			"> quoted\n" +
			"lazy <!-- opens\n" +
			"\n" +
			"/affected in the comment\n" +
			"-->\n" +
			"/fixed after both\n" +
			"> quoted\n" +
			"lazy <!-- opens\n" +
			"-->\n" +
			"/affected still the quote\n",
		want: []Command{{Verb: Fixed, Line: 10, Text: "after both\n> quoted\nlazy <!-- opens\n-->\n/affected still the quote"}},
	},
	{
		name: "HTML comments hide commands, on one line or several",
		comment: "<!-- /fixed -->\n" +
			"<!--\n" +
			"Template: replace with your decision\n" +
			"/not_affected:component_not_present\n" +
			"-->\n" +
			"Looks good <!-- hidden\n" +
			"/affected x\n" +
			"--> to me.\n" +
			"`<!--` is only code\n" +
			"/withdraw wrong triage\n",
		want: []Command{{Verb: Withdraw, Line: 10, Text: "wrong triage"}},
	},
	{
		name:    "an unclosed HTML comment hides the rest",
		comment: "<!-- draft\n/fixed\n/affected x\n",
	},
	{
		name: "hyphens, capitals and branch=",
		comment: "/Not-Affected:Component-Not-Present branch=release-1.3*\n" +
			"/UNDER-INVESTIGATION\n" +
			"/Fixed BRANCHES=release-1.33,release-1.33,master\n" +
			"/withdraw branches=release-1.31",
		want: []Command{
			{Verb: NotAffected, Justification: vex.ComponentNotPresent, Branches: []string{"release-1.3*"}, Line: 1},
			{Verb: UnderInvestigation, Line: 2},
			{Verb: Fixed, Branches: []string{"release-1.33", "master"}, Line: 3},
			{Verb: Withdraw, Branches: []string{"release-1.31"}, Line: 4},
		},
	},
	{
		name:    "Windows line endings",
		comment: "/affected\r\nBump golang.org/x/net to v0.38.0.\r\n\r\nSee #131234.\r\n/lgtm\r\n",
		want:    []Command{{Verb: Affected, Line: 1, Text: "Bump golang.org/x/net to v0.38.0.\n\nSee #131234."}},
	},
	{
		name:    "old Mac line endings and a byte-order mark",
		comment: "\ufeff/fixed\rin v1.33.2\r/hold",
		want:    []Command{{Verb: Fixed, Line: 1, Text: "in v1.33.2"}},
	},
	{
		name: "slash lines inside a fence belong to the text",
		comment: "/affected Run on every control-plane node:\n" +
			"```sh\n" +
			"/usr/local/bin/kubeadm upgrade apply v1.33.3\n" +
			"```\n" +
			"then restart the kubelet.\n" +
			"/usr/bin/true ends it, as any line starting with a slash\n",
		want: []Command{{Verb: Affected, Line: 1,
			Text: "Run on every control-plane node:\n```sh\n/usr/local/bin/kubeadm upgrade apply v1.33.3\n```\nthen restart the kubelet."}},
	},
	{
		name: "indentation: three spaces start a command, four are code",
		comment: "Example:\n\n" +
			"    /fixed\n" +
			"\t/fixed\n" +
			"   /fixed by #1\n" +
			"      /usr/bin stays in the text\n",
		want: []Command{{Verb: Fixed, Line: 5, Text: "by #1\n      /usr/bin stays in the text"}},
	},
	{
		name:    "other slash words, paths and words glued to a path are ignored",
		comment: "/kind bug\n/assign @enj\n/cc @kubernetes/sig-auth-leads\n/usr/bin/kubelet\n/fixed/bin/sh\n/affectedness is not a word we know\n/\n//fixed\n",
	},
	{
		name:    "blank lines around the text are trimmed, inner ones kept",
		comment: "/fixed   \n\n\n   indented first line\n\n\nlast line   \t\n\n\n",
		want:    []Command{{Verb: Fixed, Line: 1, Text: "   indented first line\n\n\nlast line"}},
	},
	{
		name: "a bad command next to good ones",
		comment: "/fixed branches=master\n" +
			"/not_affected:not_called branches=release-1.33\n" +
			"/under_investigation branches=release-1.33\n",
		want: []Command{
			{Verb: Fixed, Branches: []string{"master"}, Line: 1},
			{Verb: UnderInvestigation, Branches: []string{"release-1.33"}, Line: 3},
		},
		problems: []wantProblem{{2, "`not_called` is not an OpenVEX justification"}},
	},
	{
		name:    "invalid UTF-8 and NUL bytes outside commands are ignored",
		comment: "log excerpt: \xff\xfe\x00\x01\n/lgtm\n",
	},
	{
		name:    "withdraw with a reason",
		comment: "/withdraw branches=release-1.32 I scoped this to the wrong branch",
		want:    []Command{{Verb: Withdraw, Branches: []string{"release-1.32"}, Line: 1, Text: "I scoped this to the wrong branch"}},
	},
	{
		name:    "branches= later on the line is text",
		comment: "/fixed in #1 branches=master",
		want:    []Command{{Verb: Fixed, Line: 1, Text: "in #1 branches=master"}},
	},
}

var malformedComments = []parseCase{
	{name: "not_affected without a justification", comment: "/not_affected",
		problems: []wantProblem{{1, "`/not_affected` needs a justification after a colon"}}},
	{name: "justification after a space", comment: "/not-affected vulnerable-code-not-present we never call it",
		problems: []wantProblem{{1, "the justification goes right after a colon: `/not_affected:vulnerable_code_not_present`"}}},
	{name: "empty justification", comment: "/not_affected: vulnerable_code_not_present",
		problems: []wantProblem{{1, "there is no justification after the colon"}}},
	{name: "unknown justification", comment: "x\n/not_affected:unused",
		problems: []wantProblem{{2, "`unused` is not an OpenVEX justification"}}},
	{name: "misspelt justification", comment: "/not_affected:vulnerable_code_not_in_exec_path",
		problems: []wantProblem{{1, "did you mean `vulnerable_code_not_in_execute_path`?"}}},
	{name: "abbreviated justification", comment: "/not_affected:not_in_execute_path",
		problems: []wantProblem{{1, "did you mean `vulnerable_code_not_in_execute_path`?"}}},
	{name: "affected without an action statement", comment: "/affected\n\n/lgtm",
		problems: []wantProblem{{1, "`/affected` needs an action statement"}}},
	{name: "affected with branches but no action statement", comment: "/affected branches=release-1.33   \n",
		problems: []wantProblem{{1, "`/affected` needs an action statement"}}},
	{name: "justification on fixed", comment: "/fixed:component_not_present",
		problems: []wantProblem{{1, "`/fixed` takes no justification; only `/not_affected` does"}}},
	{name: "justification on withdraw", comment: "/withdraw:",
		problems: []wantProblem{{1, "`/withdraw` takes no justification"}}},
	{name: "command glued to punctuation", comment: "/fixed.",
		problems: []wantProblem{{1, "`/fixed` is directly followed by `.`"}}},
	{name: "empty branches", comment: "/fixed branches= done",
		problems: []wantProblem{{1, "`branches=` names no branch"}}},
	{name: "double comma", comment: "/fixed branches=release-1.32,,release-1.33",
		problems: []wantProblem{{1, "has an empty branch name"}}},
	{name: "space after a comma", comment: "/fixed branches=release-1.32, release-1.33",
		problems: []wantProblem{{1, "has an empty branch name; separate branches with commas and no spaces"}}},
	{name: "dot dot", comment: "/fixed branches=../../etc/passwd",
		problems: []wantProblem{{1, `holds ".."`}}},
	{name: "bad pattern", comment: "/fixed branches=release-1.[3",
		problems: []wantProblem{{1, "is not a valid pattern"}}},
	{name: "shell metacharacters", comment: "/fixed branches=main;rm",
		problems: []wantProblem{{1, "holds ';'"}}},
	{name: "quoted branch", comment: `/fixed branches="main"`,
		problems: []wantProblem{{1, `holds '"'`}}},
	{name: "leading dash", comment: "/fixed branches=--force",
		problems: []wantProblem{{1, `starts with "-"`}}},
	{name: "lock component", comment: "/fixed branches=release/1.33.lock",
		problems: []wantProblem{{1, `ending with ".lock"`}}},
	{name: "too many branches", comment: "/fixed branches=" + manyBranches(MaxBranches+1),
		problems: []wantProblem{{1, "lists 33 branches; at most 32"}}},
	{name: "branch too long", comment: "/fixed branches=" + strings.Repeat("b", MaxBranchSize+1),
		problems: []wantProblem{{1, "is 256 bytes long"}}},
	{name: "branches with a colon", comment: "/fixed branches:release-1.33",
		problems: []wantProblem{{1, "branches are given with `branches=`, not a colon"}}},
	{name: "text too long", comment: "/affected\n" + strings.Repeat("Upgrade.\n", MaxTextSize/9+1),
		problems: []wantProblem{{1, "may be at most 16384 bytes"}}},
	{name: "NUL byte in the text", comment: "/fixed\nin v1.2\x00.3",
		problems: []wantProblem{{2, "control character U+0000"}}},
	{name: "invalid UTF-8 in the command", comment: "ok\n/not_affected:component_not_present \xc3\x28",
		problems: []wantProblem{{2, "not valid UTF-8"}}},
	{name: "bidi override in the text", comment: "/affected upgrade \u202eto 1.0\u202c now",
		problems: []wantProblem{{1, "bidirectional formatting character U+202E"}}},
	{name: "several problems, in order", comment: "/affected\n/lgtm\n/not_affected\n/fixed:x",
		problems: []wantProblem{{1, "action statement"}, {3, "needs a justification"}, {4, "takes no justification"}}},
}

func manyBranches(n int) string {
	var b []string
	for i := range n {
		b = append(b, "release-1."+strings.Repeat("9", i%3+1)+string(rune('a'+i%26)))
	}
	return strings.Join(b, ",")
}

func TestParse(t *testing.T) {
	for _, tc := range slices.Concat(kubernetesComments, malformedComments) {
		t.Run(tc.name, func(t *testing.T) {
			cmds, problems := Parse(tc.comment)
			checkCommands(t, tc.comment, cmds, tc.want)
			if len(problems) != len(tc.problems) {
				t.Fatalf("got %d problems, want %d: %v", len(problems), len(tc.problems), problems)
			}
			for i, p := range problems {
				w := tc.problems[i]
				if p.Line != w.line || !strings.Contains(p.Reason, w.reason) {
					t.Errorf("problem %d: line %d, reason %q; want line %d, a reason with %q", i, p.Line, p.Reason, w.line, w.reason)
				}
				if p.Written == "" || p.Usage == "" {
					t.Errorf("problem %d has no Written or Usage: %#v", i, p)
				}
			}
		})
	}
}

func checkCommands(t *testing.T, comment string, got, want []Command) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d commands, want %d:\n%#v", len(got), len(want), got)
	}
	for i := range got {
		g := got[i]
		g.Raw = ""
		if !reflect.DeepEqual(g, want[i]) {
			t.Errorf("command %d:\n got %#v\nwant %#v", i, g, want[i])
		}
		if !strings.HasPrefix(got[i].Raw, "/") && !strings.HasPrefix(strings.TrimLeft(got[i].Raw, " \ufeff"), "/") {
			t.Errorf("command %d: Raw %q does not start with the command", i, got[i].Raw)
		}
	}
}

func TestParseRaw(t *testing.T) {
	comment := "Decision:\r\n   /Fixed branches=master  by #1\r\n\r\n  - and #2\r\n\r\n\r\n/lgtm"
	cmds, problems := Parse(comment)
	if len(problems) != 0 || len(cmds) != 1 {
		t.Fatalf("Parse: %v, %v", cmds, problems)
	}
	if want := "   /Fixed branches=master  by #1\n\n  - and #2"; cmds[0].Raw != want {
		t.Errorf("Raw = %q, want %q", cmds[0].Raw, want)
	}
	if want := "by #1\n\n  - and #2"; cmds[0].Text != want {
		t.Errorf("Text = %q, want %q", cmds[0].Text, want)
	}
}

func TestParseProblemWritten(t *testing.T) {
	_, problems := Parse("thanks\n/not_affected:vulnerable_code_not_present\x00 \xff" + strings.Repeat("x", 1000))
	if len(problems) != 1 {
		t.Fatalf("problems: %v", problems)
	}
	p := problems[0]
	if p.Line != 2 || !strings.HasPrefix(p.Written, `/not_affected:vulnerable_code_not_present\u0000 \xff`) || !strings.HasSuffix(p.Written, "…") || len(p.Written) > maxShown+10 {
		t.Errorf("problem %#v", p)
	}
	if p.Usage != Usage(NotAffected) {
		t.Errorf("Usage = %q", p.Usage)
	}
}

func TestParseHostile(t *testing.T) {
	t.Run("largest comment", func(t *testing.T) {
		c := "/fixed branches=master\n" + strings.Repeat("x", MaxCommentSize-len("/fixed branches=master\n"))
		cmds, problems := Parse(c)
		if len(cmds) != 0 || len(problems) != 1 || problems[0].Line != 1 || !strings.Contains(problems[0].Reason, "16384") {
			t.Fatalf("a comment of exactly %d bytes: %d commands, %v", len(c), len(cmds), problems)
		}
	})
	t.Run("too large a comment", func(t *testing.T) {
		c := "/fixed\n" + strings.Repeat("a\n", MaxCommentSize)
		cmds, problems := Parse(c)
		if len(cmds) != 0 || len(problems) != 1 || problems[0].Line != 0 || !strings.Contains(problems[0].Reason, "at most 65536 bytes") {
			t.Fatalf("%d commands, %v", len(cmds), problems)
		}
	})
	t.Run("10k lines of slashes", func(t *testing.T) {
		cmds, problems := Parse(strings.Repeat("/\n", 10000) + "/fixed\n" + strings.Repeat("//\n", 10000))
		if len(problems) != 0 || len(cmds) != 1 || cmds[0].Text != "" || cmds[0].Line != 10001 {
			t.Fatalf("%v, %v", cmds, problems)
		}
	})
	t.Run("thousands of broken commands", func(t *testing.T) {
		cmds, problems := Parse(strings.Repeat("/affected\n", 6000))
		if len(cmds) != 0 || len(problems) != 6000 {
			t.Fatalf("%d commands, %d problems", len(cmds), len(problems))
		}
		if r := Reply(problems); len(r) > 4096 || !strings.Contains(r, "and 5990 more") {
			t.Errorf("a reply of %d bytes:\n%s", len(r), r)
		}
	})
	t.Run("thousands of commands", func(t *testing.T) {
		cmds, problems := Parse(strings.Repeat("/fixed branches=release-1.3*\n", 2000))
		if len(cmds) != 2000 || len(problems) != 0 {
			t.Fatalf("%d commands, %d problems", len(cmds), len(problems))
		}
	})
	// Inputs that a careless scanner spends quadratic time on; each
	// must be read well within the time limit.
	slow := map[string]string{
		"backtick runs":       backtickRuns(MaxCommentSize - 100),
		"comment openers":     strings.Repeat("<!--", MaxCommentSize/4),
		"fence openers":       strings.Repeat("```\n~~~~\n", MaxCommentSize/9),
		"one long line":       "/fixed " + strings.Repeat("é", MaxCommentSize/2-8),
		"list markers":        strings.Repeat("- ", MaxCommentSize/2-4) + "```",
		"commands with colon": strings.Repeat("/not_affected:"+strings.Repeat("x", 80)+"\n", MaxCommentSize/96),
	}
	for name, c := range slow {
		t.Run(name, func(t *testing.T) {
			if len(c) > MaxCommentSize {
				t.Fatalf("the input is %d bytes", len(c))
			}
			start := time.Now()
			Parse(c)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Parse took %v", d)
			}
		})
	}
}

// backtickRuns returns runs of backticks of growing length separated by
// "<", about n bytes.
func backtickRuns(n int) string {
	var b strings.Builder
	for i := 1; b.Len()+i+1 < n; i++ {
		b.WriteString(strings.Repeat("`", i))
		b.WriteString("<")
	}
	return b.String()
}

func TestRoundTrip(t *testing.T) {
	texts := []string{
		"",
		"one line",
		"/usr/bin/kubelet is not shipped",
		"branches=master is text here",
		"~~~ a fence opened on the command line\n/inside the fence\n~~~\nafter",
		"```go get golang.org/x/net@v0.38.0``` is not a fence\n```\n/in a fence\n```",
		"<!-- a comment\n/fixed inside\n-->\nafter",
		"  indented\n\n\n- a\n- b",
		"> quoted\n\tand a tab",
	}
	for _, v := range Verbs() {
		for _, text := range texts {
			if v == Affected && text == "" {
				continue
			}
			c := Command{Verb: v, Text: text}
			if v == NotAffected {
				c.Justification = vex.InlineMitigationsAlreadyExist
			}
			for _, branches := range [][]string{nil, {"master"}, {"release-1.3[0-4]", "release-1.*"}} {
				c.Branches = branches
				checkRoundTrip(t, c)
			}
		}
	}
}

// checkRoundTrip checks that c, written out with Comment, and with String
// and its text on the next line, reads back as c.
func checkRoundTrip(t *testing.T, c Command) {
	t.Helper()
	comments := []string{c.Comment()}
	if !strings.HasPrefix(c.Text, "/") {
		comments = append(comments, c.String()+"\n"+c.Text)
	}
	for _, comment := range comments {
		cmds, problems := Parse(comment)
		if len(cmds) != 1 || len(problems) != 0 {
			t.Fatalf("Parse(%q) = %#v, %v; want %#v", comment, cmds, problems, c)
		}
		got := cmds[0]
		if got.Line != 1 {
			t.Errorf("Parse(%q): line %d", comment, got.Line)
		}
		got.Line, got.Raw = c.Line, c.Raw
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("Parse(%q):\n got %#v\nwant %#v", comment, got, c)
		}
	}
}

func TestCommandString(t *testing.T) {
	for _, tc := range []struct {
		c    Command
		want string
	}{
		{Command{Verb: NotAffected, Justification: vex.VulnerableCodeNotInExecutePath, Branches: []string{"release-1.33"}, Text: "x"},
			"/not_affected:vulnerable_code_not_in_execute_path branches=release-1.33"},
		{Command{Verb: Affected, Text: "upgrade"}, "/affected"},
		{Command{Verb: Fixed, Branches: []string{"master", "release-1.*"}}, "/fixed branches=master,release-1.*"},
		{Command{Verb: UnderInvestigation}, "/under_investigation"},
		{Command{Verb: Withdraw, Branches: []string{}}, "/withdraw"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

func TestProblemError(t *testing.T) {
	p := Problem{Line: 3, Written: "/fixed.", Reason: "bad", Usage: "/fixed [note]"}
	if got, want := p.Error(), "line 3: /fixed.: bad (usage: /fixed [note])"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	p = Problem{Reason: "too long"}
	if got, want := p.Error(), "comment: too long"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestCheckBranch(t *testing.T) {
	for _, b := range []string{"master", "main", "release-1.33", "release-1.*", "release-1.3[0-4]", "feature/ipv6-dual-stack",
		"v1.0+build", "dependabot/go_modules/golang.org/x/net-0.38.0", "relëase", "@x", "?"} {
		if err := CheckBranch(b); err != nil {
			t.Errorf("CheckBranch(%q) = %v", b, err)
		}
	}
	for _, b := range []string{"", "a b", "a..b", "a//b", "-x", "/x", "x/", "x.", "@", "a/.hidden", "x.lock", "a/x.lock/b",
		"a~1", "a^", "a:b", `a\b`, "[", "a\x00", "a\u202e", "a,b", strings.Repeat("x", 256), "<!--", "`x`"} {
		err := CheckBranch(b)
		if err == nil {
			t.Errorf("CheckBranch(%q) accepted it", b)
		} else if !strings.Contains(err.Error(), ErrBranch.Error()) {
			t.Errorf("CheckBranch(%q) = %v, not wrapping ErrBranch", b, err)
		}
	}
}

func TestJustificationsMatchOpenVEX(t *testing.T) {
	var ours []string
	for _, j := range justifications {
		ours = append(ours, string(j.value))
		if !j.value.Valid() {
			t.Errorf("%q is not valid for go-vex", j.value)
		}
	}
	if !reflect.DeepEqual(slices.Sorted(slices.Values(ours)), slices.Sorted(slices.Values(vex.Justifications()))) {
		t.Errorf("our justifications %v, go-vex's %v", ours, vex.Justifications())
	}
}

func TestVerbs(t *testing.T) {
	for _, v := range Verbs() {
		if !v.Valid() || Usage(v) == "" {
			t.Errorf("verb %q: valid %v, usage %q", v, v.Valid(), Usage(v))
		}
		if !strings.HasPrefix(Usage(v), "/"+string(v)) {
			t.Errorf("Usage(%q) = %q", v, Usage(v))
		}
	}
	if Verb("lgtm").Valid() || Usage("lgtm") != "" {
		t.Errorf("lgtm is a verb")
	}
}

func TestHelp(t *testing.T) {
	h := Help()
	cmds, problems := Parse(h)
	if len(cmds) != 0 || len(problems) != 0 {
		t.Errorf("Parse(Help()) = %v, %v", cmds, problems)
	}
	for _, j := range vex.Justifications() {
		if !strings.Contains(h, j) {
			t.Errorf("Help does not list %s", j)
		}
	}
	for _, v := range Verbs() {
		if !strings.Contains(h, forms[v].syntax) {
			t.Errorf("Help does not show %s", forms[v].syntax)
		}
	}
	if outside := outsideCode(h); strings.ContainsAny(outside, "<>") {
		t.Errorf("Help has angle brackets outside code, which Markdown reads as HTML:\n%s", outside)
	}
}

// outsideCode returns the Markdown without its code spans and indented
// code lines.
func outsideCode(md string) string {
	var b strings.Builder
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "    ") {
			continue
		}
		for i := 0; i < len(line); {
			if line[i] != '`' {
				b.WriteByte(line[i])
				i++
				continue
			}
			n := backtickRun(line[i:])
			end := closingBackticks(line[i+n:], n)
			if end < 0 {
				b.WriteString(line[i : i+n])
				i += n
				continue
			}
			i += n + end + n
		}
		b.WriteByte('\n')
	}
	return b.String()
}
