package attest

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/vexloom/vexloom/internal/digest"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/vexloom/vexloom/internal/vex"
)

// rawStatement is an in-toto statement over the demo document with the
// subjects given verbatim, signed the way sigstore-go signs anything.
func rawStatementBundle(t *testing.T, s signer, subjects string) []byte {
	t.Helper()
	pred, err := vex.Marshal(demoDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	st := `{"_type":"https://in-toto.io/Statement/v1","subject":` + subjects + `,"predicateType":"https://openvex.dev/ns/v0.2.0","predicate":` + string(pred) + `}`
	if !json.Valid([]byte(st)) {
		t.Fatalf("test statement is not JSON: %s", subjects)
	}
	return signRaw(t, s.key, &sign.DSSEData{Data: []byte(st), PayloadType: PayloadType})
}

// Hostile subjects: a bundle signed by the trusted key counts for an
// artifact only when that artifact's digest is one of its subjects, and
// then only for the products bound to that subject.
func TestVerifySubjectBinding(t *testing.T) {
	s := newSigner(t)
	const module = "pkg:golang/k8s.io/kubernetes@v1.34.2"
	release := strings.Repeat("2", 40)
	foreign := strings.Repeat("1", 40)
	releaseCommit := mustDigest(t, "gitCommit:"+release)
	image := mustDigest(t, "sha256:"+imageSHA256)
	subj := func(name, alg, hex string) string {
		return `{"name":"` + name + `","digest":{"` + alg + `":"` + hex + `"}}`
	}
	cases := []struct {
		name     string
		subjects string
		asked    []Digest
		any      bool
		want     error
		products []string // the products the result keeps
	}{
		{"the release commit", "[" + subj(module, "gitCommit", release) + "]", []Digest{releaseCommit}, false, nil, []string{module}},
		{"another commit", "[" + subj(module, "gitCommit", foreign) + "]", []Digest{releaseCommit}, false, ErrSubject, nil},
		{"another commit, any", "[" + subj(module, "gitCommit", foreign) + "]", []Digest{releaseCommit, image}, true, ErrSubject, nil},
		{"empty subjects", "[]", []Digest{releaseCommit}, false, ErrMalformed, nil},
		{"no subjects", "null", []Digest{releaseCommit}, false, ErrMalformed, nil},
		{"subject without digest", `[{"name":"` + module + `","digest":{}}]`, []Digest{releaseCommit}, false, ErrMalformed, nil},
		{"same hex, another algorithm", "[" + subj(module, "sha1", release) + "]", []Digest{releaseCommit}, false, ErrSubject, nil},
		{"algorithm in another case", "[" + subj(module, "gitcommit", release) + "]", []Digest{releaseCommit}, false, ErrSubject, nil},
		{"sha512 subject, sha256 asked", "[" + subj("kube-apiserver", "sha512", binarySHA512) + "]", []Digest{mustDigest(t, "sha256:"+binarySHA256)}, false, ErrSubject, nil},
		{"the commit under another product's name", "[" + subj("pkg:golang/example.com/other@v1.0.0", "gitCommit", release) + "]", []Digest{releaseCommit}, false, ErrSubject, nil},
		{"duplicate subjects, one foreign", "[" + subj(module, "gitCommit", foreign) + "," + subj(module, "gitCommit", release) + "]", []Digest{releaseCommit}, false, nil, []string{module}},
		{"duplicate subjects, both the same", "[" + subj(module, "gitCommit", release) + "," + subj(module, "gitCommit", release) + "]", []Digest{releaseCommit}, false, nil, []string{module}},
		{"uppercase hex in the subject", "[" + subj(module, "gitCommit", strings.ToUpper(strings.Repeat("ab", 20))) + "]", []Digest{mustDigest(t, "gitCommit:"+strings.Repeat("ab", 20))}, false, nil, []string{module}},
		{"uppercase hex asked", "[" + subj(module, "gitCommit", strings.Repeat("ab", 20)) + "]", []Digest{{Algorithm: GitCommit, Hex: strings.ToUpper(strings.Repeat("ab", 20))}}, false, nil, []string{module}},
		{"malformed hex in the subject", "[" + subj(module, "gitCommit", strings.Repeat("zz", 20)) + "]", []Digest{releaseCommit}, false, ErrMalformed, nil},
		{"the image's name with another digest", "[" + subj(strings.Replace(imagePURL, "%s", imageSHA256, 1), "sha256", hexSum256("another image")) + "]", []Digest{mustDigest(t, "sha256:"+hexSum256("another image"))}, false, ErrSubject, nil},
		{"the binary's name with another digest", "[" + subj("kube-apiserver", "sha256", hexSum256("another binary")) + "]", []Digest{mustDigest(t, "sha256:"+hexSum256("another binary"))}, false, ErrSubject, nil},
		{"image only: the module is not about it", "[" + subj("img", "sha256", imageSHA256) + "]", []Digest{image}, false, nil, []string{strings.Replace(imagePURL, "%s", imageSHA256, 1)}},
		{"any: the image of two asked", "[" + subj("img", "sha256", imageSHA256) + "]", []Digest{releaseCommit, image}, true, nil, []string{strings.Replace(imagePURL, "%s", imageSHA256, 1)}},
		{"all: the image of two asked", "[" + subj("img", "sha256", imageSHA256) + "]", []Digest{releaseCommit, image}, false, ErrSubject, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := rawStatementBundle(t, s, c.subjects)
			res, err := Verify(context.Background(), b, Policy{PublicKey: s.publicKey(t), ArtifactDigests: c.asked, AnyArtifact: c.any})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err != nil {
				if res != nil {
					t.Error("a result came back with the error")
				}
				return
			}
			var got []string
			for _, st := range res.VEX.Statements {
				for _, p := range st.Products {
					got = append(got, p.ID)
				}
			}
			if strings.Join(got, " ") != strings.Join(c.products, " ") {
				t.Errorf("products %q, want %q", got, c.products)
			}
			for _, sub := range res.Subjects {
				found := false
				for _, d := range c.asked {
					if n, err := digest.New(d.Algorithm, d.Hex); err == nil && sub.Has(n) {
						found = true
					}
				}
				if !found {
					t.Errorf("subject %v is none of the artifacts asked about", sub)
				}
			}
		})
	}
}

// Has never matches a digest the subject does not carry, the zero digest
// included.
func TestSubjectHasZeroDigest(t *testing.T) {
	if (Subject{Name: "x", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}}).Has(Digest{}) {
		t.Error("a subject has the zero digest")
	}
	if (Subject{Name: "x", Digest: map[string]string{}}).Has(Digest{Algorithm: "sha256"}) {
		t.Error("a subject without digests has an empty one")
	}
}

// FuzzAbout: whatever the subjects, About keeps only subjects that carry
// an artifact asked about and only products bound to them.
func FuzzAbout(f *testing.F) {
	commit := strings.Repeat("2", 40)
	f.Add(`[{"name":"pkg:golang/k8s.io/kubernetes@v1.34.2","digest":{"gitCommit":"` + commit + `"}}]`)
	f.Add(`[{"name":"img","digest":{"sha256":"` + imageSHA256 + `"}},{"name":"img","digest":{"sha256":"` + strings.ToUpper(imageSHA256) + `"}}]`)
	f.Add(`[{"name":"","digest":{"gitCommit":"` + commit + `","sha1":"` + commit + `"}}]`)
	f.Add(`[]`)
	pred, err := vex.Marshal(demoDocument(f))
	if err != nil {
		f.Fatal(err)
	}
	asked := []Digest{{Algorithm: GitCommit, Hex: commit}, {Algorithm: "sha256", Hex: imageSHA256}}
	f.Fuzz(func(t *testing.T, subjects string) {
		st := `{"_type":"https://in-toto.io/Statement/v1","subject":` + subjects + `,"predicateType":"https://openvex.dev/ns/v0.2.0","predicate":` + string(pred) + `}`
		doc, subs, err := ReadStatement([]byte(st))
		if err != nil {
			return
		}
		before := len(doc.Statements)
		about, matched, dropped := About(doc, subs, asked)
		if len(doc.Statements) != before {
			t.Fatal("About changed its input")
		}
		names := map[string]bool{}
		for _, s := range matched {
			if !s.Has(asked[0]) && !s.Has(asked[1]) {
				t.Fatalf("subject %v carries no artifact asked about", s)
			}
			names[s.Name] = true
		}
		kept := 0
		for _, st := range about.Statements {
			for _, p := range st.Products {
				kept++
				own, _ := productDigests(p.Component)
				bound := names[p.ID] || names[p.Identifiers["purl"]]
				for _, d := range own {
					for _, s := range matched {
						if s.Has(d) {
							bound = true
						}
					}
				}
				if !bound {
					t.Fatalf("product %s kept but bound to no subject asked about", p.ID)
				}
			}
		}
		total := 0
		for _, st := range doc.Statements {
			total += len(st.Products)
		}
		if kept+dropped != total {
			t.Fatalf("%d kept + %d dropped != %d products", kept, dropped, total)
		}
	})
}
