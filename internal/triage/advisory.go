package triage

import (
	"encoding/json"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// LatestAdvisory returns what the project's own advisories last said, not
// since withdrawn, about the first of refs (a release tag, then its branch)
// they name: nil when they say nothing about any. Advisory assessments
// are scoped to exactly one product ref.
func LatestAdvisory(events []store.Event, refs ...string) *store.Event {
	r := retractions(events)
	for _, ref := range refs {
		var latest *store.Event
		for i := range events {
			ev := &events[i]
			if ev.Kind != store.KindAssessment || ev.Source != string(assess.SourceAdvisory) || len(ev.Branches) != 1 || ev.Branches[0] != ref {
				continue
			}
			if r.on(ev.Seq, ref) {
				latest = nil
				continue
			}
			latest = ev
		}
		if latest != nil {
			return latest
		}
	}
	return nil
}

// AdvisoryImages returns the image repositories an advisory event names
// (from the project's component mapping); empty means every image.
func AdvisoryImages(ev *store.Event) []string {
	var d struct {
		Images []string `json:"images"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	return d.Images
}

// AdvisoryStatement states an advisory's assessment of the project's own
// products: "negative VEX", affected with its action statement or fixed.
func AdvisoryStatement(v scan.Vulnerability, ev *store.Event, products []openvex.Product) openvex.Statement {
	ts := ev.At.UTC().Truncate(time.Second)
	a := vex.Assertion{
		Status:        openvex.Status(ev.Status),
		Justification: openvex.Justification(ev.Justification),
		Impact:        ev.Impact,
		Action:        ev.Action,
		Notes:         "From the project's advisory " + advisoryName(ev, v) + ".",
		Timestamp:     &ts,
	}
	if ev.Notes != "" {
		a.Notes = ev.Notes + " " + a.Notes
	}
	if a.Status == openvex.StatusNotAffected && a.Justification == "" && a.Impact == "" {
		a.Impact = "Not affected, according to the project's advisory."
	}
	return vex.NewStatement(vex.Vulnerability{ID: v.ID, Aliases: v.Aliases, Description: v.Summary}.OpenVEX(), products, a)
}

// advisoryName names an advisory for people: its ID and, when it has one,
// its URL (not where vexloom read it from, which may be a local path).
func advisoryName(ev *store.Event, v scan.Vulnerability) string {
	var d struct {
		Advisory struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		} `json:"advisory"`
	}
	_ = json.Unmarshal(ev.Data, &d)
	name := d.Advisory.ID
	if name == "" {
		name = v.ID
	}
	if d.Advisory.URL != "" {
		name += " (" + d.Advisory.URL + ")"
	}
	return name
}
