package dashboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 640, 220
	padL, padR     = 48, 16
	padT, padB     = 16, 36
	maxLinePoints  = 180
)

type charts struct {
	Open     lineChart
	Decision barChart
	Share    []shareBar
}

// lineChart is a series of points over time.
type lineChart struct {
	Points  []point
	Path    string
	Max     int
	XLabels []axisLabel
	YLabels []axisLabel
}

type point struct {
	X, Y  float64
	At    time.Time
	Value int
}

type axisLabel struct {
	X, Y   float64
	Text   string
	Anchor string
}

// barChart is counts in named buckets.
type barChart struct {
	Bars    []bar
	Max     int
	Samples int
	Median  string
}

type bar struct {
	X, Y, W, H float64
	Label      string
	Value      int
}

// shareBar is one branch's findings by who decided them.
type shareBar struct {
	Branch                    string
	Analysis, People, Waiting int
	Total                     int
	// Widths in percent of the bar.
	AnalysisW, PeopleW, WaitingW float64
	Y                            float64
}

func buildCharts(s *snapshot) charts {
	return charts{Open: openOverTime(s), Decision: timeToDecision(s), Share: shareByBranch(s)}
}

type stateEvent struct {
	at     time.Time
	triage string
	open   bool
}

// openOverTime counts the triages open at the end of each day, from the
// first recorded state change to today (at most maxLinePoints points: a
// longer history is sampled every few days).
func openOverTime(s *snapshot) lineChart {
	var evs []stateEvent
	for _, v := range s.Views {
		for _, ev := range v.Events {
			if ev.Kind != store.KindState {
				continue
			}
			var sc struct {
				To string `json:"to"`
			}
			if json.Unmarshal(ev.Data, &sc) == nil {
				evs = append(evs, stateEvent{ev.At, v.ID, sc.To == string(triage.Open)})
			}
		}
	}
	if len(evs) == 0 {
		return lineChart{}
	}
	slices.SortStableFunc(evs, func(a, b stateEvent) int { return a.at.Compare(b.at) })
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	first, last := day(evs[0].at), day(s.Now)
	if last.Before(first) {
		last = first
	}
	days := int(last.Sub(first).Hours()/24) + 1
	step := 1
	if days > maxLinePoints {
		step = (days + maxLinePoints - 1) / maxLinePoints
	}
	open := map[string]bool{}
	count, i := 0, 0
	var c lineChart
	for d := 0; d < days; d += step {
		end := first.AddDate(0, 0, d+1)
		if d+step >= days {
			end = last.AddDate(0, 0, 1) // the last point is today
		}
		for ; i < len(evs) && evs[i].at.Before(end); i++ {
			e := evs[i]
			if e.open != open[e.triage] {
				if e.open {
					count++
				} else {
					count--
				}
				open[e.triage] = e.open
			}
		}
		c.Points = append(c.Points, point{At: end.Add(-time.Nanosecond), Value: count})
		if count > c.Max {
			c.Max = count
		}
	}
	scaleLine(&c)
	return c
}

func scaleLine(c *lineChart) {
	ymax := max(c.Max, 1)
	n := len(c.Points)
	var path strings.Builder
	for i := range c.Points {
		p := &c.Points[i]
		x := float64(padL)
		if n > 1 {
			x += float64(i) * float64(chartW-padL-padR) / float64(n-1)
		} else {
			x += float64(chartW-padL-padR) / 2
		}
		p.X = round1(x)
		p.Y = round1(float64(chartH-padB) - float64(p.Value)*float64(chartH-padT-padB)/float64(ymax))
		if i == 0 {
			fmt.Fprintf(&path, "M%s %s", ftoa(p.X), ftoa(p.Y))
		} else {
			fmt.Fprintf(&path, " L%s %s", ftoa(p.X), ftoa(p.Y))
		}
	}
	c.Path = path.String()
	if n > 0 {
		idx := []int{0}
		if n > 1 {
			idx = append(idx, n/2, n-1)
		}
		for k, i := range slices.Compact(idx) {
			anchor := "middle"
			switch {
			case n == 1:
			case k == 0:
				anchor = "start"
			case i == n-1:
				anchor = "end"
			}
			c.XLabels = append(c.XLabels, axisLabel{X: c.Points[i].X, Y: chartH - padB + 16, Text: c.Points[i].At.Format("2006-01-02"), Anchor: anchor})
		}
	}
	for _, v := range slices.Compact([]int{0, ymax / 2, ymax}) {
		c.YLabels = append(c.YLabels, axisLabel{X: padL - 6, Y: round1(float64(chartH-padB) - float64(v)*float64(chartH-padT-padB)/float64(ymax) + 4), Text: strconv.Itoa(v), Anchor: "end"})
	}
}

// decisionBuckets are the ranges of time from first seen to a person's
// decision.
var decisionBuckets = []struct {
	label string
	upTo  time.Duration
}{
	{"< 1 day", 24 * time.Hour},
	{"1–7 days", 7 * 24 * time.Hour},
	{"7–30 days", 30 * 24 * time.Hour},
	{"30–90 days", 90 * 24 * time.Hour},
	{"≥ 90 days", 1<<63 - 1},
}

// timeToDecision measures, for each triage a person decided, the time from
// its first observation to the first decision by a person.
func timeToDecision(s *snapshot) barChart {
	counts := make([]int, len(decisionBuckets))
	var samples []time.Duration
	for _, v := range s.Views {
		var first time.Time
		for _, ev := range v.Events {
			if ev.Kind == store.KindObserved && first.IsZero() {
				first = ev.At
			}
			// A decision: not "under investigation", which decides nothing.
			if ev.Kind == store.KindAssessment && ev.Source == string(assess.SourceMaintainer) && ev.Status != string(openvex.StatusUnderInvestigation) && !first.IsZero() {
				d := ev.At.Sub(first)
				samples = append(samples, d)
				for i, b := range decisionBuckets {
					if d < b.upTo {
						counts[i]++
						break
					}
				}
				break
			}
		}
	}
	c := barChart{Samples: len(samples)}
	for _, n := range counts {
		c.Max = max(c.Max, n)
	}
	ymax := max(c.Max, 1)
	w := float64(chartW-padL-padR) / float64(len(counts))
	for i, n := range counts {
		h := float64(n) * float64(chartH-padT-padB) / float64(ymax)
		c.Bars = append(c.Bars, bar{
			X: round1(float64(padL) + float64(i)*w + 6), W: round1(w - 12),
			Y: round1(float64(chartH-padB) - h), H: round1(h),
			Label: decisionBuckets[i].label, Value: n,
		})
	}
	if len(samples) > 0 {
		slices.Sort(samples)
		c.Median = humanDuration(samples[len(samples)/2])
	}
	return c
}

// shareByBranch counts each branch's findings by who settled them.
func shareByBranch(s *snapshot) []shareBar {
	var out []shareBar
	for _, c := range s.Columns {
		if c.Kind != KindBranch {
			continue
		}
		b := shareBar{Branch: c.Name}
		for _, cl := range c.Cells {
			switch cl.Class {
			case ClassAnalysis:
				b.Analysis++
			case ClassNeeds:
				b.Waiting++
			case "":
			default:
				b.People++
			}
		}
		b.Total = b.Analysis + b.People + b.Waiting
		if b.Total > 0 {
			b.AnalysisW = round1(100 * float64(b.Analysis) / float64(b.Total))
			b.PeopleW = round1(100 * float64(b.People) / float64(b.Total))
			b.WaitingW = round1(100 - b.AnalysisW - b.PeopleW)
		}
		b.Y = float64(len(out) * 28)
		out = append(out, b)
	}
	return out
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// humanDuration says a duration in days or hours.
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	}
	return "moments"
}
