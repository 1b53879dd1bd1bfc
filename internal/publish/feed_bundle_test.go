package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/digest"
)

// A signed document's bundle travels in the feed beside the regrouped
// per-package documents: in the archive and the directory, named by its
// digest, listed nowhere in index.json (whose schema allows no extra
// fields), and removed from the directory once the feed no longer holds it.
func TestFeedCarriesBundles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	local, err := NewLocal(t.TempDir(), clockAt(t0.Add(48*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	feed, err := NewFeed(FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example/feed", Dir: out}, local)
	if err != nil {
		t.Fatal(err)
	}
	signedDoc := docBytes(t, t0, stmt("CVE-1", imageID, openvex.StatusNotAffected, t0, xnet))
	bundle := signedBundle(t, signedDoc, digestOf("image"))
	if _, err := feed.Publish(ctx, Object{Bundle: bundle, Document: signedDoc, Products: []string{imageID}, Kind: KindRelease, Ref: "v1",
		Subjects: []Subject{digest.SubjectOf(imageID, digestOf("image"))}}); err != nil {
		t.Fatal(err)
	}
	unsigned := docBytes(t, t0, stmt("CVE-2", kube, openvex.StatusFixed, t0))
	if _, err := feed.Publish(ctx, Object{Document: unsigned, Products: []string{kube}, Kind: KindBranch, Ref: "main"}); err != nil {
		t.Fatal(err)
	}
	snap := feed.Snapshot()
	name := FeedBundleDir + "/" + SHA256(bundle).Hex + FeedBundleSuffix
	var bundles []string
	for p := range snap.Files {
		if strings.HasPrefix(p, FeedBundleDir+"/") {
			bundles = append(bundles, p)
		}
	}
	if len(bundles) != 1 || bundles[0] != name {
		t.Fatalf("bundles in the feed: %v, want [%s]", bundles, name)
	}
	files := untar(t, snap.Files[FeedArchiveName])
	if !bytes.Equal(files[name], bundle) {
		t.Errorf("the archive does not carry the bundle at %s", name)
	}
	if disk, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name))); err != nil || !bytes.Equal(disk, bundle) {
		t.Errorf("the directory does not hold the bundle: %v", err)
	}
	var idx map[string]json.RawMessage
	if err := json.Unmarshal(files[FeedIndexPath], &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx) != 2 || bytes.Contains(files[FeedIndexPath], []byte(FeedBundleDir)) {
		t.Errorf("index.json names more than updated_at and packages: %s", files[FeedIndexPath])
	}

	// A feed built from other documents no longer holds the old bundle.
	other, err := BuildSignedFeed(FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example/feed"}, [][]byte{unsigned}, [][]byte{nil}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.WriteDir(out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(name))); !os.IsNotExist(err) {
		t.Errorf("a stale bundle stays in the directory: %v", err)
	}
}
