package dashboard

import (
	"slices"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"
)

// docDiff is what changed between two versions of a VEX document, by
// statement: one per vulnerability and product.
type docDiff struct {
	Added, Removed, Changed []statementChange
	Unchanged               int
}

type statementChange struct {
	Vulnerability string `json:"vulnerability"`
	Product       string `json:"product"`
	From          string `json:"from,omitempty"`
	To            string `json:"to,omitempty"`
}

func statementKeys(doc *openvex.VEX) (map[string]string, map[string][2]string) {
	status := map[string]string{}
	names := map[string][2]string{}
	for _, st := range doc.Statements {
		var products []string
		for _, p := range st.Products {
			id := p.ID
			var subs []string
			for _, sc := range p.Subcomponents {
				subs = append(subs, sc.ID)
			}
			slices.Sort(subs)
			if len(subs) > 0 {
				id += " (" + strings.Join(subs, ", ") + ")"
			}
			products = append(products, id)
		}
		if len(products) == 0 {
			products = []string{""}
		}
		text := string(st.Status)
		if st.Justification != "" {
			text += ":" + string(st.Justification)
		}
		for _, p := range products {
			k := string(st.Vulnerability.Name) + "\x00" + p
			status[k] = text
			names[k] = [2]string{string(st.Vulnerability.Name), p}
		}
	}
	return status, names
}

// diffDocuments compares the statements of two documents.
func diffDocuments(a, b *openvex.VEX) *docDiff {
	sa, na := statementKeys(a)
	sb, nb := statementKeys(b)
	d := &docDiff{}
	for k, from := range sa {
		n := na[k]
		to, ok := sb[k]
		switch {
		case !ok:
			d.Removed = append(d.Removed, statementChange{n[0], n[1], from, ""})
		case to != from:
			d.Changed = append(d.Changed, statementChange{n[0], n[1], from, to})
		default:
			d.Unchanged++
		}
	}
	for k, to := range sb {
		if _, ok := sa[k]; !ok {
			n := nb[k]
			d.Added = append(d.Added, statementChange{n[0], n[1], "", to})
		}
	}
	for _, l := range [][]statementChange{d.Added, d.Removed, d.Changed} {
		slices.SortFunc(l, func(x, y statementChange) int {
			return strings.Compare(x.Vulnerability+"\x00"+x.Product, y.Vulnerability+"\x00"+y.Product)
		})
	}
	return d
}
