package imagevex

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vexloom/vexloom/internal/store"
)

// Each tracked release reads the reports its {tag} names, each report with
// the release image of the repository it names (its platform by digest);
// a release image that cannot be read costs its reports only, and a
// release without reports records nothing.
func TestIngestReleases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, _, d, st := releaseFixture(t, "v2")

	dir := t.TempDir()
	report := func(image, pkg string) string {
		return `{"SchemaVersion": 2, "ArtifactName": "` + image + `", "ArtifactType": "container_image",
		  "Results": [{"Target": "x (alpine 3.21)", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": [
		    {"VulnerabilityID": "CVE-2025-8888", "PkgName": "` + pkg + `", "InstalledVersion": "1.0-r0"}]}]}`
	}
	for file, body := range map[string]string{
		"v2/app.json":     report(host+"/release/app:v2", "busybox"),
		"v2/missing.json": report(host+"/release/missing:v2", "musl"),
	} {
		p := filepath.Join(dir, filepath.FromSlash(file))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var notes bytes.Buffer
	res, err := IngestReleases(ctx, ReleasesOptions{
		Store:   st,
		Points:  []ReleasePoint{{Name: "v1", Tag: "v1", Branch: "release-1"}, {Name: "v2", Tag: "v2", Branch: "release-2"}},
		Reports: []string{filepath.Join(dir, "{tag}", "*.json")},
		Images:  []string{host + "/release/app:{tag}", host + "/release/missing:{tag}"},
		Notes:   &notes,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Release != "v2" || len(res[0].Images) != 1 || res[0].Skipped != 2 {
		t.Fatalf("results %+v\n%s", res, notes.String())
	}
	r := res[0].Images[0]
	if r.Image != host+"/release/app" || r.Digest != d.String() || r.Opened != 1 {
		t.Errorf("recorded %+v", r)
	}
	for _, want := range []string{
		host + "/release/app:v2: no base image known",
		"images: release v2: the release image cannot be read: resolving the image " + host + "/release/missing:v2",
		"nothing recorded from its 1 report",
	} {
		if !strings.Contains(notes.String(), want) {
			t.Errorf("notes lack %q:\n%s", want, notes.String())
		}
	}
}

// A release image that cannot be resolved is one line naming it; the
// document is still made, with what the other images give.
func TestDocumentSkipsAnUnresolvableImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, tag, _, st := releaseFixture(t, "v3")
	var notes bytes.Buffer
	missing := host + "/release/missing:v3"
	doc, err := Document(ctx, DocumentOptions{Store: st, Release: "v3", Author: "test", Now: t0,
		Images: []string{missing, tag.String()}, Inherit: true, Notes: &notes})
	if err != nil || doc == nil {
		t.Fatalf("Document with one unresolvable image: %v", err)
	}
	if n := strings.Count(notes.String(), "\n"); !strings.Contains(notes.String(), "images: image "+missing+" cannot be resolved") || n != 1 {
		t.Errorf("want one line naming %s, got:\n%s", missing, notes.String())
	}
}

// releaseFixture serves a loopback registry holding a random image at
// release/app:TAG, and opens an empty store; both close with the test.
func releaseFixture(t *testing.T, version string) (string, name.Tag, v1.Hash, *store.Store) {
	t.Helper()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/release/app:" + version)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), t.TempDir(), func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return host, tag, d, st
}
