package cli

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/gate"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
)

// Release images are multi-arch indexes (every registry.k8s.io image is).
// publish --to oci attaches the signed bundle to each platform manifest
// (the subjects of the statement), so gate --vex oci:REPO:TAG must look
// there too when the tag names an index. It looks only at the index
// digest, so a correctly signed and published statement never opens the
// gate.
func TestGateOCIMultiArchIndex(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	priv, pub := keyPair(t, dir, "maintainer")
	scanFile, err := filepath.Abs(filepath.Join("..", "gate", "testdata", "demo.govulncheck.json"))
	if err != nil {
		t.Fatal(err)
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")

	// An index of two platform images, pushed by tag.
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var plats []v1.Hash
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		plats = append(plats, d)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	tag, err := name.NewTag(host + "/demo/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}

	// The release VEX names each platform image, as assemble writes it, and
	// is signed and attached as publish --to oci does.
	var products []openvex.Product
	var subjects []publish.Subject
	var purls []string
	for _, d := range plats {
		purl := "pkg:oci/app@" + d.String() + "?repository_url=" + host + "/demo/app"
		purls = append(purls, purl)
		products = append(products, openvex.Product{
			Component:     openvex.Component{ID: purl, Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(d.Hex)}},
			Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: "pkg:golang/golang.org/x/net"}}},
		})
		subjects = append(subjects, digest.SubjectOf(purl, publish.Digest{Algorithm: "sha256", Hex: d.Hex}))
	}
	doc := notAffectedHTML(products[0].Component)
	doc.Statements[0].Products = products
	bf := filepath.Join(dir, "b.json")
	signTestDocument(t, doc, priv, bf)
	b, err := os.ReadFile(bf)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	store, err := publish.NewOCI(host+"/demo/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(context.Background(), publish.Object{
		Bundle: b, Document: pred, Kind: publish.KindRelease, Ref: "v1", Products: purls, Subjects: subjects,
	}); err != nil {
		t.Fatal(err)
	}

	// Sanity: by a platform digest the gate finds and counts it.
	if _, stderr, code := e.run("gate", "--scan", scanFile, "--vex", "oci:"+host+"/demo/app@"+plats[0].String(), "--key", pub, "-q"); code != 0 {
		t.Fatalf("by platform digest: exit %d: %s", code, stderr)
	}
	// By the release tag (an index), as the README and gate --help show it.
	out, stderr, code := e.run("gate", "--scan", scanFile, "--vex", "oci:"+host+"/demo/app:v1", "--key", pub, "--format", "json", "-q")
	var r gate.Result
	_ = json.Unmarshal([]byte(out), &r)
	if code != 0 {
		t.Errorf("gate --vex oci:<multi-arch tag> ignores the signed VEX that publish --to oci attached to the platform images: exit %d, want 0\nstderr: %s", code, stderr)
	}
}

// update publishes every branch document to the local store and
// regenerates the feed from it, without the publish policy: the feed
// (what trivy vex repo subscribes to) then carries under_investigation
// statements, which README and publish --help say are never public unless
// --publish-under-investigation.
func TestUpdateKeepsUnderInvestigationOutOfFeed(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()
	feedDir := filepath.Join(p.dir, "vex", "feed")
	var found []string
	err := filepath.WalkDir(filepath.Join(feedDir, "pkg"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := vex.Parse(data)
		if err != nil {
			return err
		}
		for _, s := range doc.Statements {
			if s.Status == openvex.StatusUnderInvestigation {
				found = append(found, string(s.Vulnerability.Name))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("after update the public feed holds %d under_investigation statements (%s…); the publish policy says they are never public", len(found), found[0])
	}
}
