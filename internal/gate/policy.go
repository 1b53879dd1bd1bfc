package gate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	"go.yaml.in/yaml/v3"
)

// Limits on policy files.
const (
	// MaxPolicySize bounds a policy file.
	MaxPolicySize = 1 << 20
	// MaxRules bounds the rules of a policy.
	MaxRules = 1000
	// MaxExpressionSize bounds one rule's CEL expression.
	MaxExpressionSize = 4096
	// CostLimit bounds the work of evaluating one rule on one finding, in
	// cel-go's cost units.
	CostLimit = 100_000
)

// Action is what a policy rule does with a finding it matches.
type Action string

// Actions.
const (
	ActionFail  Action = "fail"
	ActionWarn  Action = "warn"
	ActionAllow Action = "allow"
)

// CELPolicy is a compiled policy file: CEL rules tried in order before
// the default rule; the first whose condition holds decides.
type CELPolicy struct {
	// Name is where the policy came from (a file name).
	Name string
	// Digest is "sha256:<hex>" of the file's bytes.
	Digest string
	Rules  []Rule
}

// Rule is one policy rule.
type Rule struct {
	Name string
	// When is the rule's CEL condition.
	When   string
	Action Action
	// Expires is the first instant the rule no longer applies (the day
	// after the date written); zero for never.
	Expires time.Time
	Reason  string
	// Line is the line of the rule in the policy file.
	Line    int
	program cel.Program
}

// policyFile is the YAML form of a policy file.
type policyFile struct {
	Version int        `yaml:"version"`
	Rules   []ruleFile `yaml:"rules"`
}

type ruleFile struct {
	Name    located `yaml:"name"`
	When    located `yaml:"when"`
	Action  located `yaml:"action"`
	Expires located `yaml:"expires"`
	Reason  string  `yaml:"reason"`
}

// located is a scalar with the line it was written on.
type located struct {
	Value string
	Line  int
}

func (l *located) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a single value, not a list or mapping", n.Line)
	}
	l.Value, l.Line = n.Value, n.Line
	return nil
}

// ReadPolicy reads and compiles a policy file of at most MaxPolicySize
// bytes. Errors wrap ErrPolicy and name the line.
func ReadPolicy(r io.Reader, name string) (*CELPolicy, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy %s: %w", name, err)
	}
	return ParsePolicy(data, name)
}

// ParsePolicy compiles a policy file. The YAML is read strictly: unknown
// keys, duplicate keys and a second document are errors; every rule needs a
// unique name, a condition that type-checks as a bool and an action.
func ParsePolicy(data []byte, name string) (*CELPolicy, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrPolicy, name, fmt.Sprintf(format, args...))
	}
	if len(data) > MaxPolicySize {
		return nil, bad("more than %d bytes", MaxPolicySize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var pf policyFile
	if err := dec.Decode(&pf); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, bad("the file is empty")
		}
		return nil, bad("%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, bad("a policy file holds one YAML document")
	}
	if pf.Version != 0 && pf.Version != 1 {
		return nil, bad("version %d is not one this vexloom reads (want 1)", pf.Version)
	}
	if len(pf.Rules) > MaxRules {
		return nil, bad("%d rules; at most %d", len(pf.Rules), MaxRules)
	}
	env, err := policyEnv()
	if err != nil {
		return nil, fmt.Errorf("building the policy environment: %w", err)
	}
	sum := sha256.Sum256(data)
	p := &CELPolicy{Name: name, Digest: "sha256:" + hex.EncodeToString(sum[:])}
	seen := map[string]int{}
	for i, rf := range pf.Rules {
		line := firstLine(rf.Name.Line, rf.When.Line, rf.Action.Line, rf.Expires.Line)
		where := fmt.Sprintf("rule %d (line %d)", i+1, line)
		if rf.Name.Value == "" {
			return nil, bad("%s has no name", where)
		}
		where = fmt.Sprintf("rule %q (line %d)", rf.Name.Value, line)
		if prev, dup := seen[rf.Name.Value]; dup {
			return nil, bad("%s: the name is already used by the rule on line %d", where, prev)
		}
		seen[rf.Name.Value] = line
		rule := Rule{Name: rf.Name.Value, When: rf.When.Value, Reason: strings.TrimSpace(rf.Reason), Line: line}
		switch Action(rf.Action.Value) {
		case ActionFail, ActionWarn, ActionAllow:
			rule.Action = Action(rf.Action.Value)
		case "":
			return nil, bad("%s has no action: want fail, warn or allow", where)
		default:
			return nil, bad("%s, line %d: action %q: want fail, warn or allow", where, rf.Action.Line, shorten(rf.Action.Value))
		}
		if rf.Expires.Value != "" {
			exp, err := parseExpiry(rf.Expires.Value)
			if err != nil {
				return nil, bad("%s, line %d: %v", where, rf.Expires.Line, err)
			}
			rule.Expires = exp
		}
		if strings.TrimSpace(rule.When) == "" {
			return nil, bad("%s has no condition (when)", where)
		}
		if len(rule.When) > MaxExpressionSize {
			return nil, bad("%s, line %d: the condition is %d bytes; at most %d", where, rf.When.Line, len(rule.When), MaxExpressionSize)
		}
		ast, iss := env.Compile(rule.When)
		if iss.Err() != nil {
			return nil, bad("%s, line %d: %v", where, rf.When.Line, iss.Err())
		}
		if ast.OutputType() != cel.BoolType {
			return nil, bad("%s, line %d: the condition is of type %s; it must be a bool", where, rf.When.Line, ast.OutputType())
		}
		prg, err := env.Program(ast, cel.CostLimit(CostLimit))
		if err != nil {
			return nil, bad("%s, line %d: %v", where, rf.When.Line, err)
		}
		rule.program = prg
		p.Rules = append(p.Rules, rule)
	}
	return p, nil
}

func firstLine(lines ...int) int {
	min := 0
	for _, l := range lines {
		if l > 0 && (min == 0 || l < min) {
			min = l
		}
	}
	return min
}

// parseExpiry reads an expiry: a date (the rule applies through that day,
// UTC) or an RFC 3339 time (the rule applies before it).
func parseExpiry(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("expires %q: want a date (2026-12-31) or an RFC 3339 time", shorten(s))
}

// The policy input, as CEL sees it (documented in POLICY.md). Field names
// come from the cel tags.
type celFinding struct {
	ID             string    `cel:"id"`
	Aliases        []string  `cel:"aliases"`
	Ecosystem      string    `cel:"ecosystem"`
	Module         string    `cel:"module"`
	Version        string    `cel:"version"`
	FixedVersion   string    `cel:"fixed_version"`
	Product        string    `cel:"product"`
	Level          string    `cel:"level"`
	LevelRank      int64     `cel:"level_rank"`
	Symbols        []string  `cel:"symbols"`
	Severity       float64   `cel:"severity"`
	SeverityVector string    `cel:"severity_vector"`
	Published      time.Time `cel:"published"`
	Modified       time.Time `cel:"modified"`
	AgeDays        int64     `cel:"age_days"`
}

type celStatement struct {
	Status        string    `cel:"status"`
	Justification string    `cel:"justification"`
	Verified      bool      `cel:"verified"`
	Source        string    `cel:"source"`
	Origin        string    `cel:"origin"`
	Timestamp     time.Time `cel:"timestamp"`
	AgeDays       int64     `cel:"age_days"`
}

func policyEnv() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[celFinding](), reflect.TypeFor[celStatement](), ext.ParseStructTags(true)),
		ext.Strings(),
		cel.Variable("finding", cel.ObjectType("gate.celFinding")),
		cel.Variable("statement", cel.ObjectType("gate.celStatement")),
		cel.Variable("now", cel.TimestampType),
	)
}

// policyInput builds the activation of one finding.
func policyInput(f *Finding, st *Statement, now time.Time) map[string]any {
	cf := &celFinding{
		ID:             f.ID,
		Aliases:        nonNil(f.Aliases),
		Ecosystem:      f.Ecosystem,
		Module:         f.Module,
		Version:        f.Version,
		FixedVersion:   f.FixedVersion,
		Product:        f.Product,
		Level:          f.Level.String(),
		LevelRank:      int64(f.Level),
		Symbols:        nonNil(f.Symbols),
		Severity:       f.Severity.Score,
		SeverityVector: f.Severity.Vector,
		Published:      orEpoch(f.Published),
		Modified:       orEpoch(f.Modified),
		AgeDays:        ageDays(f.Published, now),
	}
	in := map[string]any{"finding": cf, "statement": types.NullValue, "now": now}
	if st != nil {
		in["statement"] = &celStatement{
			Status:        string(st.Status),
			Justification: string(st.Justification),
			Verified:      st.Verified,
			Source:        string(st.Source),
			Origin:        st.Origin,
			Timestamp:     st.Timestamp,
			AgeDays:       ageDays(st.Timestamp, now),
		}
	}
	return in
}

// orEpoch gives unknown (zero) times as the Unix epoch, CEL's timestamp(0).
func orEpoch(t time.Time) time.Time {
	if t.IsZero() {
		return time.Unix(0, 0).UTC()
	}
	return t
}

// ageDays is the number of whole days from t to now, -1 when t is unknown.
func ageDays(t, now time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	d := now.Sub(t)
	if d < 0 {
		return 0
	}
	return int64(d / (24 * time.Hour))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// match evaluates the rule's condition.
func (r *Rule) match(in map[string]any) (bool, error) {
	out, _, err := r.program.Eval(in)
	if err != nil {
		return false, fmt.Errorf("policy rule %q (line %d): %w", r.Name, r.Line, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("policy rule %q (line %d): the condition gave %v, not a bool", r.Name, r.Line, out)
	}
	return b, nil
}
