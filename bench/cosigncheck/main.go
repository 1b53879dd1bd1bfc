// Command cosigncheck checks that an attestation signed by vexloom
// (internal/attest) verifies with cosign, the reference Sigstore client.
//
// Run it from the root of the vexloom repository:
//
//	go run ./bench/cosigncheck                      # cosign v3.1.3, built from the module proxy
//	go run ./bench/cosigncheck -cosign-version v2.6.5
//	go run ./bench/cosigncheck -cosign /path/to/cosign
//
// It needs the Go module proxy to build cosign (a few minutes the first
// time; the module cache makes later builds quick) and nothing else: no
// network service is contacted. It
//
//  1. builds cosign with `go install github.com/sigstore/cosign/<major>/cmd/cosign@VERSION`
//     into a temporary directory, with the installed go command
//     (GOTOOLCHAIN=local), unless -cosign names a binary;
//  2. generates an ECDSA P-256 key pair with internal/attest (pub.pem);
//  3. writes an artifact file and a demo OpenVEX document whose product is
//     that artifact by its sha256, wraps it in an in-toto statement and
//     signs it into a Sigstore bundle (bundle.json) with internal/attest,
//     and checks it with internal/attest's own Verify;
//  4. runs `cosign verify-blob-attestation --key pub.pem --bundle bundle.json
//     --type https://openvex.dev/ns/v0.2.0 --insecure-ignore-tlog ARTIFACT`
//     (plus, where that version has the flag, --new-bundle-format and
//     --trusted-root with an empty trusted root, without which cosign v2
//     fetches Sigstore's TUF root; v3 reads the new bundle format by
//     default and needs neither). --insecure-ignore-tlog is needed
//     because a key-based vexloom bundle is signed offline and carries no
//     transparency-log entry;
//  5. runs the same command against a different artifact, which cosign must
//     reject, so that a PASS means cosign really compared the subject.
//
// It prints the cosign version and PASS or FAIL, and exits 1 on FAIL or
// when a step fails, 2 for bad usage. -keep keeps the working directory.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// emptyTrustedRoot is a Sigstore trusted root with no authorities.
const emptyTrustedRoot = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`

const (
	defaultCosignVersion = "v3.1.3"
	exitUsage            = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	version := flag.String("cosign-version", defaultCosignVersion, "cosign version to build from the module proxy (v2.x or v3.x)")
	binary := flag.String("cosign", "", "use this cosign binary instead of building one")
	keep := flag.Bool("keep", false, "keep the working directory")
	flag.Parse()
	if flag.NArg() != 0 || (!strings.HasPrefix(*version, "v2.") && !strings.HasPrefix(*version, "v3.")) {
		fmt.Fprintln(os.Stderr, "usage: cosigncheck [-cosign-version v3.x.y | -cosign PATH] [-keep]")
		os.Exit(exitUsage)
	}
	if err := run(ctx, *version, *binary, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "cosigncheck:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, version, binary string, keep bool) error {
	dir, err := os.MkdirTemp("", "cosigncheck-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("working directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	if binary == "" {
		binary, err = buildCosign(ctx, dir, version)
		if err != nil {
			return fmt.Errorf("building cosign %s: %w", version, err)
		}
	}
	out, err := command(ctx, binary, "version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("cosign version: %w\n%s", err, out)
	}
	fmt.Println("cosign", versionLine(out))

	artifact, bundlePath, pubPath, err := signDemo(ctx, dir)
	if err != nil {
		return err
	}
	help, _ := command(ctx, binary, "verify-blob-attestation", "--help").CombinedOutput()
	args := []string{"verify-blob-attestation", "--key", pubPath, "--bundle", bundlePath,
		"--type", attest.PredicateType, "--insecure-ignore-tlog=true"}
	if bytes.Contains(help, []byte("--new-bundle-format")) {
		// cosign v2 reads the new bundle format only with a trusted root,
		// which it fetches from Sigstore's TUF repository unless given one.
		// A key-based bundle needs no certificate or log authority, so an
		// empty trusted root is the honest one (cosign v3 needs none).
		root := filepath.Join(dir, "trusted_root.json")
		if err := os.WriteFile(root, []byte(emptyTrustedRoot), 0o644); err != nil {
			return err
		}
		args = append(args, "--new-bundle-format", "--trusted-root", root)
	}

	fmt.Println("$ cosign", strings.Join(append(args, filepath.Base(artifact)), " "))
	out, err = command(ctx, binary, append(args, artifact)...).CombinedOutput()
	fmt.Print(indent(out))
	if err != nil {
		fmt.Println("FAIL: cosign rejected the vexloom bundle")
		return errors.New("cosign verification failed")
	}

	other := filepath.Join(dir, "other-artifact")
	if err := os.WriteFile(other, []byte("not the attested artifact\n"), 0o644); err != nil {
		return err
	}
	fmt.Println("$ cosign", strings.Join(append(args, filepath.Base(other)), " "))
	out, err = command(ctx, binary, append(args, other)...).CombinedOutput()
	fmt.Print(indent(out))
	if err == nil {
		fmt.Println("FAIL: cosign accepted the bundle for an artifact that is not its subject")
		return errors.New("cosign did not check the subject")
	}
	fmt.Println("PASS: cosign verified the vexloom bundle and rejected it for another artifact")
	return nil
}

// buildCosign builds cosign into dir/bin with the installed go command.
func buildCosign(ctx context.Context, dir, version string) (string, error) {
	major := "v2"
	if strings.HasPrefix(version, "v3.") {
		major = "v3"
	}
	pkg := "github.com/sigstore/cosign/" + major + "/cmd/cosign@" + version
	bin := filepath.Join(dir, "bin")
	fmt.Println("building", pkg)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "install", pkg)
	// Outside any module, so this repository's go.mod plays no part.
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOTOOLCHAIN=local", "GOFLAGS=", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, tail(out, 4<<10))
	}
	fmt.Printf("built in %s\n", time.Since(start).Round(time.Second))
	return filepath.Join(bin, "cosign"), nil
}

// signDemo writes the artifact, the public key and the bundle of a demo
// OpenVEX document about the artifact, and checks the bundle with
// internal/attest.
func signDemo(ctx context.Context, dir string) (artifact, bundlePath, pubPath string, err error) {
	content := []byte("vexloom demo binary\n")
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	artifact = filepath.Join(dir, "vexloom-demo")
	if err := os.WriteFile(artifact, content, 0o644); err != nil {
		return "", "", "", err
	}

	privPEM, pubPEM, err := attest.GenerateKey()
	if err != nil {
		return "", "", "", err
	}
	pubPath = filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pubPath, pubPEM, 0o644); err != nil {
		return "", "", "", err
	}
	key, err := attest.LoadPrivateKey(privPEM, nil)
	if err != nil {
		return "", "", "", err
	}

	ts := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	doc := vex.NewDocument("vexloom cosigncheck", "vexloom", ts)
	doc.Statements = []openvex.Statement{{
		Vulnerability: vex.Vulnerability{ID: "GO-2025-3503", Aliases: []string{"CVE-2025-22870"}}.OpenVEX(),
		Timestamp:     &ts,
		Status:        openvex.StatusNotAffected,
		Justification: openvex.VulnerableCodeNotInExecutePath,
		Products: []openvex.Product{{
			Component: openvex.Component{
				ID:     "vexloom-demo",
				Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(digest)},
			},
			Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: purl.Go("golang.org/x/net", "v0.35.0")}}},
		}},
	}}
	if err := vex.Finalize(doc); err != nil {
		return "", "", "", err
	}
	stmt, err := attest.Statement(doc)
	if err != nil {
		return "", "", "", err
	}
	bundle, err := attest.Sign(ctx, stmt, key)
	if err != nil {
		return "", "", "", err
	}
	bundlePath = filepath.Join(dir, "bundle.json")
	if err := os.WriteFile(bundlePath, bundle, 0o644); err != nil {
		return "", "", "", err
	}
	pub, err := attest.LoadPublicKey(pubPEM)
	if err != nil {
		return "", "", "", err
	}
	if _, err := attest.Verify(ctx, bundle, attest.Policy{
		PublicKey:       pub,
		ArtifactDigests: []attest.Digest{{Algorithm: "sha256", Hex: digest}},
	}); err != nil {
		return "", "", "", fmt.Errorf("vexloom's own verification: %w", err)
	}
	fmt.Println("vexloom signed and verified", filepath.Base(bundlePath), "for sha256:"+digest)
	return artifact, bundlePath, pubPath, nil
}

func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	// cosign must not reach for a Sigstore service or TUF root; an
	// unroutable proxy makes any attempt fail loudly instead of hanging.
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=")
	return cmd
}

func versionLine(out []byte) string {
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "GitVersion:" {
			return f[1]
		}
	}
	return strings.TrimSpace(tail(out, 200))
}

func indent(b []byte) string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ") + "\n"
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
