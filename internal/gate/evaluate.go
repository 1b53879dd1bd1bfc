package gate

import (
	"fmt"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/chatops"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/scan"
)

// ResultSchema identifies the version of the gate's JSON result. It
// changes only when a field changes meaning or is removed.
const ResultSchema = "https://github.com/vexloom/vexloom/schema/gate/v1"

// DefaultRule is the name of the rule that decides when no policy rule does.
const DefaultRule = "default"

// Verdict is the gate's decision on one finding, or on the release.
type Verdict string

// Verdicts.
const (
	VerdictFail Verdict = "fail"
	VerdictWarn Verdict = "warn"
	VerdictPass Verdict = "pass"
)

// Options are what the gate weighs beyond findings and statements.
type Options struct {
	// Release names the release point (a git ref), for reports.
	Release string
	// Products are the package URLs of what the release ships (its
	// modules, binaries and per-platform images): a statement about one of
	// them, with the finding's dependency as subcomponent or no
	// subcomponent at all, applies to the finding.
	Products []string
	// Policy adds rules tried before the default rule; nil for the
	// default rule alone.
	Policy *Policy
	// AllowUnsigned counts statements that did not verify.
	AllowUnsigned bool
	// Now is the time of the decision (ages, expiries, the result's date).
	Now time.Time
	// Link, when set, gives the triage page of a finding for "what to do".
	Link func(Finding) string
}

// Result is the gate's decision on a release.
type Result struct {
	Schema    string    `json:"schema"`
	Release   string    `json:"release,omitempty"`
	Evaluated time.Time `json:"evaluated"`
	// Policy names the policy: DefaultRule, or the file's name and digest.
	Policy        PolicyRef `json:"policy"`
	AllowUnsigned bool      `json:"allow_unsigned"`
	// Verdict is fail when any finding fails, else pass.
	Verdict Verdict `json:"verdict"`
	Counts  Counts  `json:"counts"`
	// Findings are the decisions per finding, failures first.
	Findings []FindingVerdict `json:"findings"`
}

// PolicyRef names the policy a result was decided by.
type PolicyRef struct {
	Name   string `json:"name"`
	Digest string `json:"digest,omitempty"`
	Rules  int    `json:"rules"`
}

// Counts counts findings by verdict.
type Counts struct {
	Fail int `json:"fail"`
	Warn int `json:"warn"`
	Pass int `json:"pass"`
}

// FindingVerdict is the decision on one finding and why.
type FindingVerdict struct {
	Finding Finding `json:"finding"`
	Verdict Verdict `json:"verdict"`
	// Rule is the rule that decided: DefaultRule or a policy rule's name.
	Rule string `json:"rule"`
	// Reason says why, in a sentence.
	Reason string `json:"reason"`
	// Action says what to do about a failure or warning.
	Action string `json:"action,omitempty"`
	// Link is the finding's triage page, when the caller knows it.
	Link string `json:"link,omitempty"`
	// Statement is the statement that counted (the latest applicable
	// one), if any.
	Statement *Statement `json:"statement,omitempty"`
	// Ignored are applicable statements that did not count because they
	// did not verify.
	Ignored []Statement `json:"ignored,omitempty"`
	// Expired names rules that matched but had expired.
	Expired []string `json:"expired_rules,omitempty"`
}

// Passed reports whether the release may ship.
func (r *Result) Passed() bool { return r.Verdict != VerdictFail }

// Err returns nil when the release may ship, else an error wrapping
// ErrFailed that counts the failures (the command exits 3 on it).
func (r *Result) Err() error {
	if r.Passed() {
		return nil
	}
	return fmt.Errorf("%w: %d of %d findings fail", ErrFailed, r.Counts.Fail, len(r.Findings))
}

// Evaluate decides on every finding: the policy's rules in order, the first
// whose condition holds deciding (an allow rule past its expiry is skipped
// and reported), then the default rule — a symbol-level finding fails
// unless the latest applicable statement that counts says not_affected or
// fixed; everything else passes and is reported.
func Evaluate(findings []Finding, statements []Statement, opts Options) (*Result, error) {
	now := opts.Now.UTC()
	if opts.Now.IsZero() {
		now = time.Now().UTC()
	}
	now = now.Truncate(time.Second)
	var release []purl.PURL
	for _, p := range opts.Products {
		if pp, ok := purl.Parse(p); ok {
			release = append(release, pp)
		} else {
			return nil, fmt.Errorf("release product %q is not a package URL", shorten(p))
		}
	}
	res := &Result{
		Schema:        ResultSchema,
		Release:       opts.Release,
		Evaluated:     now,
		Policy:        PolicyRef{Name: DefaultRule},
		AllowUnsigned: opts.AllowUnsigned,
		Verdict:       VerdictPass,
		Findings:      []FindingVerdict{},
	}
	if opts.Policy != nil {
		res.Policy = PolicyRef{Name: opts.Policy.Name, Digest: opts.Policy.Digest, Rules: len(opts.Policy.Rules)}
	}
	sorted := append([]Finding(nil), findings...)
	sortFindings(sorted)
	for i := range sorted {
		f := &sorted[i]
		counted, ignored := applicable(f, findingScope(f, release), statements, opts.AllowUnsigned)
		var latest *Statement
		if len(counted) > 0 {
			latest = counted[len(counted)-1]
		}
		v := FindingVerdict{Finding: *f}
		if latest != nil {
			c := *latest
			v.Statement = &c
		}
		for _, s := range ignored {
			v.Ignored = append(v.Ignored, *s)
		}
		decided := false
		if opts.Policy != nil && len(opts.Policy.Rules) > 0 {
			in := policyInput(f, latest, now)
			for j := range opts.Policy.Rules {
				r := &opts.Policy.Rules[j]
				ok, err := r.match(in)
				if err != nil {
					return nil, fmt.Errorf("%s in %s: %w", f.ID, f.Module, err)
				}
				if !ok {
					continue
				}
				if !r.Expires.IsZero() && !now.Before(r.Expires) {
					v.Expired = append(v.Expired, r.Name)
					continue
				}
				v.Rule = r.Name
				v.Verdict = map[Action]Verdict{ActionFail: VerdictFail, ActionWarn: VerdictWarn, ActionAllow: VerdictPass}[r.Action]
				v.Reason = ruleReason(r, f, latest)
				decided = true
				break
			}
		}
		if !decided {
			v.Rule = DefaultRule
			v.Verdict, v.Reason = defaultRule(f, latest)
		}
		if len(v.Expired) > 0 {
			v.Reason += fmt.Sprintf(" The allowance of rule %s has expired.", strings.Join(quoteAll(v.Expired), ", "))
		}
		if len(v.Ignored) > 0 {
			v.Reason += fmt.Sprintf(" %d applicable statement(s) ignored because their signature did not verify (see --allow-unsigned).", len(v.Ignored))
		}
		if v.Verdict != VerdictPass {
			if opts.Link != nil {
				v.Link = opts.Link(*f)
			}
			v.Action = whatToDo(f, latest, v.Link)
		}
		switch v.Verdict {
		case VerdictFail:
			res.Counts.Fail++
			res.Verdict = VerdictFail
		case VerdictWarn:
			res.Counts.Warn++
		default:
			res.Counts.Pass++
		}
		res.Findings = append(res.Findings, v)
	}
	// Failures first, then warnings, then the rest, each in finding order.
	rank := map[Verdict]int{VerdictFail: 0, VerdictWarn: 1, VerdictPass: 2}
	ordered := make([]FindingVerdict, 0, len(res.Findings))
	for _, want := range []Verdict{VerdictFail, VerdictWarn, VerdictPass} {
		for _, v := range res.Findings {
			if rank[v.Verdict] == rank[want] {
				ordered = append(ordered, v)
			}
		}
	}
	res.Findings = ordered
	return res, nil
}

// defaultRule is the gate's built-in rule.
func defaultRule(f *Finding, st *Statement) (Verdict, string) {
	what := fmt.Sprintf("%s@%s", f.Module, f.Version)
	if f.Version == "" {
		what = f.Module
	}
	if st != nil && st.resolves() {
		return VerdictPass, fmt.Sprintf("%s says %s.", describeStatement(st), statusText(st))
	}
	switch f.Level {
	case scan.LevelSymbol:
		reached := "Vulnerable code of " + what + " is called"
		if len(f.Symbols) > 0 {
			reached = fmt.Sprintf("Vulnerable code of %s is called (%s)", what, strings.Join(f.Symbols, ", "))
		}
		if st != nil {
			return VerdictFail, fmt.Sprintf("%s and %s says %s.", reached, describeStatement(st), statusText(st))
		}
		return VerdictFail, reached + " and no verified statement says not_affected or fixed."
	case scan.LevelPackage:
		return VerdictPass, fmt.Sprintf("A vulnerable package of %s is imported, but no vulnerable code is called.", what)
	}
	return VerdictPass, fmt.Sprintf("%s is in the build, but no vulnerable package is shown to be imported.", what)
}

func ruleReason(r *Rule, f *Finding, st *Statement) string {
	reason := r.Reason
	if reason == "" {
		reason = fmt.Sprintf("Policy rule %q matched (%s).", r.Name, r.When)
	} else if !strings.HasSuffix(reason, ".") {
		reason += "."
	}
	if r.Action == ActionAllow && !r.Expires.IsZero() {
		reason += fmt.Sprintf(" Allowed until %s.", r.Expires.Add(-time.Second).Format(time.DateOnly))
	}
	if st != nil {
		reason += fmt.Sprintf(" (%s says %s.)", describeStatement(st), statusText(st))
	}
	return reason
}

func describeStatement(st *Statement) string {
	kind := "the verified statement"
	if !st.Verified {
		kind = "the unverified statement"
	}
	where := string(st.Source)
	if st.Origin != "" {
		where += " " + st.Origin
	}
	if !st.Timestamp.IsZero() {
		return fmt.Sprintf("%s of %s from %s", kind, st.Timestamp.UTC().Format(time.DateOnly), where)
	}
	return fmt.Sprintf("%s from %s", kind, where)
}

func statusText(st *Statement) string {
	if st.Justification != "" {
		return fmt.Sprintf("%s (%s)", st.Status, st.Justification)
	}
	return string(st.Status)
}

// whatToDo says how to clear a failure or warning: the triage where a
// maintainer answers (its link when known, else the command to answer
// with), and the upgrade when a fixed version exists.
func whatToDo(f *Finding, st *Statement, link string) string {
	var parts []string
	if st != nil && st.Status == openvex.StatusAffected && st.ActionStatement != "" {
		parts = append(parts, "Statement says: "+st.ActionStatement)
	}
	if f.FixedVersion != "" {
		parts = append(parts, fmt.Sprintf("Upgrade %s to %s or later.", f.Module, f.FixedVersion))
	}
	answer := fmt.Sprintf("/%s:<justification> or /%s", chatops.NotAffected, chatops.Affected)
	if link != "" {
		parts = append(parts, fmt.Sprintf("Or assess it in the triage %s (answer %s), then publish the signed VEX.", link, answer))
	} else {
		parts = append(parts, fmt.Sprintf("Or assess it: a maintainer answers the triage of %s in %s with %s, then the signed VEX is published.", f.ID, f.Module, answer))
	}
	return strings.Join(parts, " ")
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}
