package publish

import (
	"reflect"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/vex"
)

func policyDoc(t *testing.T) *openvex.VEX {
	t.Helper()
	d, err := vex.Parse(docBytes(t, t0,
		stmt("CVE-1", kube, openvex.StatusAffected, t0, xnet),
		stmt("CVE-2", kube, openvex.StatusAffected, t0, xnet),
		stmt("CVE-2", "pkg:golang/k8s.io/kubernetes@v1.35.0", openvex.StatusFixed, t0),
		stmt("CVE-3", kube, openvex.StatusUnderInvestigation, t0),
		stmt("CVE-4", kube, openvex.StatusNotAffected, t0, xnet),
	))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func statuses(d *openvex.VEX) []string {
	var out []string
	for _, st := range d.Statements {
		out = append(out, string(st.Vulnerability.Name)+"="+string(st.Status))
	}
	return out
}

func TestPolicyApply(t *testing.T) {
	embargo := t0.Add(72 * time.Hour)
	for _, c := range []struct {
		name       string
		policy     HoldPolicy
		now        time.Time
		wantPublic []string
		wantHeld   []string // vuln=reason prefix
	}{
		{
			name:       "default holds only under_investigation",
			now:        t0,
			wantPublic: []string{"CVE-1=affected", "CVE-2=affected", "CVE-2=fixed", "CVE-4=not_affected"},
			wantHeld:   []string{"CVE-3=under_investigation statements are not published"},
		},
		{
			name:       "publish under_investigation",
			policy:     HoldPolicy{PublishUnderInvestigation: true},
			now:        t0,
			wantPublic: []string{"CVE-1=affected", "CVE-2=affected", "CVE-2=fixed", "CVE-3=under_investigation", "CVE-4=not_affected"},
		},
		{
			name:       "affected until fixed",
			policy:     HoldPolicy{HoldAffectedUntilFixed: true},
			now:        t0,
			wantPublic: []string{"CVE-2=affected", "CVE-2=fixed", "CVE-4=not_affected"},
			wantHeld:   []string{"CVE-1=affected: held until a fix exists", "CVE-3=under_investigation"},
		},
		{
			name:       "affected until fixed, fix known from the database",
			policy:     HoldPolicy{HoldAffectedUntilFixed: true, FixAvailable: func(v string) bool { return v == "CVE-1" }},
			now:        t0,
			wantPublic: []string{"CVE-1=affected", "CVE-2=affected", "CVE-2=fixed", "CVE-4=not_affected"},
			wantHeld:   []string{"CVE-3=under_investigation"},
		},
		{
			name:       "affected until a date, before it",
			policy:     HoldPolicy{HoldAffectedUntil: embargo},
			now:        embargo.Add(-time.Second),
			wantPublic: []string{"CVE-2=fixed", "CVE-4=not_affected"},
			wantHeld:   []string{"CVE-1=affected: held until 2026-03-04T12:00:00Z", "CVE-2=affected: held until", "CVE-3=under"},
		},
		{
			name:       "affected until a date, at it",
			policy:     HoldPolicy{HoldAffectedUntil: embargo},
			now:        embargo,
			wantPublic: []string{"CVE-1=affected", "CVE-2=affected", "CVE-2=fixed", "CVE-4=not_affected"},
			wantHeld:   []string{"CVE-3=under"},
		},
		{
			name:       "fix or date, whichever first: before both",
			policy:     HoldPolicy{HoldAffectedUntilFixed: true, HoldAffectedUntil: embargo},
			now:        t0,
			wantPublic: []string{"CVE-2=affected", "CVE-2=fixed", "CVE-4=not_affected"},
			wantHeld:   []string{"CVE-1=affected: held until a fix exists or 2026-03-04T12:00:00Z", "CVE-3=under"},
		},
		{
			name:       "fix or date, whichever first: date passed",
			policy:     HoldPolicy{HoldAffectedUntilFixed: true, HoldAffectedUntil: embargo},
			now:        embargo.Add(time.Hour),
			wantPublic: []string{"CVE-1=affected", "CVE-2=affected", "CVE-2=fixed", "CVE-4=not_affected"},
			wantHeld:   []string{"CVE-3=under"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := policyDoc(t)
			orig := statuses(doc)
			origID := doc.ID
			public, held := c.policy.Apply(doc, c.now)
			if got := statuses(public); !reflect.DeepEqual(got, c.wantPublic) {
				t.Errorf("public %v, want %v", got, c.wantPublic)
			}
			if len(held) != len(c.wantHeld) {
				t.Fatalf("held %+v, want %v", held, c.wantHeld)
			}
			for i, h := range held {
				v, reason, _ := strings.Cut(c.wantHeld[i], "=")
				if h.Vulnerability != v || !strings.HasPrefix(h.Reason, reason) || h.Product != kube || h.Status == "" {
					t.Errorf("held[%d] = %+v, want %s", i, h, c.wantHeld[i])
				}
			}
			if !reflect.DeepEqual(statuses(doc), orig) || doc.ID != origID {
				t.Error("Apply modified its input")
			}
			if len(held) > 0 && public.ID == origID {
				t.Error("the public document kept the @id of the full one")
			}
			if len(held) == 0 && public.ID != origID {
				t.Error("nothing held but the @id changed")
			}
		})
	}
}
