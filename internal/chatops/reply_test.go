package chatops

import (
	"strings"
	"testing"
)

func TestReply(t *testing.T) {
	if got := Reply(nil); got != "" {
		t.Errorf("Reply(nil) = %q", got)
	}
	comment := "/lgtm\n" +
		"/not_affected:unused\n" +
		"/affected\n" +
		"/fixed branches=release-1.32, release-1.33\n" +
		"/withdraw:`<b>x</b>`\n"
	_, problems := Parse(comment)
	if len(problems) != 4 {
		t.Fatalf("problems: %v", problems)
	}
	problems = append(problems, Problem{Reason: "the comment is too long"},
		// A problem as a backend might make it, from a command's own
		// line: the reply must not carry the command along.
		Problem{Line: 7, Written: "/fixed branches=release-1.29\n/affected x", Reason: "release-1.29 is not a branch\n/fixed", Usage: "/fixed [note]"})
	r := Reply(problems)
	for _, want := range []string{
		"vexloom found 6 problems in this comment:\n\n",
		"- Line 2, `/not_affected:unused`: `unused` is not an OpenVEX justification.\n" +
			"  Write it as `/not_affected:<justification> [branches=A,B] [impact statement]`: the vulnerability cannot be exploited on those branches, for the reason the justification names; the justification is one of component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, inline_mitigations_already_exist.\n",
		"- Line 3, `/affected`: `/affected` needs an action statement",
		"has an empty branch name; separate branches with commas and no spaces: `branches=release-1.32,release-1.33`.\n",
		"- Line 5, `` /withdraw:`<b>x</b>` ``: `/withdraw` takes no justification",
		"- The comment: the comment is too long.\n",
		"- Line 7, `/fixed branches=release-1.29\\u000a/affected x`: release-1.29 is not a branch /fixed.\n  Write it as `/fixed [note]`.",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("the reply lacks %q:\n%s", want, r)
		}
	}
	checkReply(t, r)
}

func TestReplyOne(t *testing.T) {
	_, problems := Parse("/fixed:x")
	r := Reply(problems)
	if !strings.HasPrefix(r, "vexloom found a problem in this comment:\n\n- Line 1, `/fixed:x`:") {
		t.Errorf("reply:\n%s", r)
	}
	checkReply(t, r)
}

// checkReply checks what every reply must be: read by Parse as nothing,
// and free of HTML outside code.
func checkReply(t *testing.T, r string) {
	t.Helper()
	if cmds, problems := Parse(r); len(cmds) != 0 || len(problems) != 0 {
		t.Errorf("Parse(Reply(…)) = %v, %v\n%s", cmds, problems, r)
	}
	if strings.ContainsAny(strings.NewReplacer(`\<`, "", `\>`, "").Replace(outsideCode(r)), "<>") {
		t.Errorf("the reply has angle brackets outside code:\n%s", r)
	}
	for _, line := range strings.Split(r, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "/") {
			t.Errorf("reply line %q starts with a slash", line)
		}
	}
}

func TestCode(t *testing.T) {
	for s, want := range map[string]string{
		"x":      "`x`",
		"a`b":    "``a`b``",
		"`a":     "`` `a ``",
		"a``` b": "````a``` b````",
		" a ":    "`  a  `",
		"":       "`  `",
	} {
		if got := code(s); got != want {
			t.Errorf("code(%q) = %q, want %q", s, got, want)
		}
	}
}
