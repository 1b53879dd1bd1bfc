package advisory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/redact"
)

// maxDirFiles bounds a directory of OSV files.
const maxDirFiles = MaxOSVEntries

// validators are what a source was last read at: the HTTP validators of a
// URL, the digest of a file or directory.
type validators struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Digest       string `json:"digest,omitempty"`
}

// document is one JSON document read from a source.
type document struct {
	name string
	data []byte
}

// fetchResult is what reading one source gave.
type fetchResult struct {
	docs        []document
	validators  validators
	notModified bool
}

func isURL(loc string) bool {
	return strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://")
}

// fetch reads a source. With prev set, a URL is asked conditionally (304:
// notModified, no documents) and a file or directory is reported
// notModified when its digest is unchanged (its documents are still read).
func fetch(ctx context.Context, client *http.Client, loc string, limit int64, dirOK bool, prev *validators) (*fetchResult, error) {
	if isURL(loc) {
		return fetchURL(ctx, client, loc, limit, prev)
	}
	fi, err := os.Stat(loc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFetch, loc, err)
	}
	var docs []document
	if fi.IsDir() {
		if !dirOK {
			return nil, fmt.Errorf("%w: %s is a directory, not a feed file", ErrInvalid, loc)
		}
		docs, err = readDir(ctx, loc)
	} else {
		var data []byte
		data, err = readFile(ctx, loc, limit)
		docs = []document{{name: loc, data: data}}
	}
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, d := range docs {
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(d.name), len(d.data))
		h.Write(d.data)
	}
	res := &fetchResult{docs: docs, validators: validators{Digest: "sha256:" + hex.EncodeToString(h.Sum(nil))}}
	res.notModified = prev != nil && prev.Digest == res.validators.Digest
	return res, nil
}

// readFile reads an advisory file: a regular file (never a FIFO or a
// device), at most limit bytes, giving up when ctx is cancelled.
func readFile(ctx context.Context, name string, limit int64) ([]byte, error) {
	data, err := infile.Read(ctx, name, limit)
	switch {
	case errors.Is(err, infile.ErrTooLarge):
		return nil, fmt.Errorf("%w: %s is larger than the %d bytes allowed", ErrInvalid, name, limit)
	case err != nil && ctx.Err() != nil:
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	return data, nil
}

// readDir reads the *.json files under dir (sorted, symbolic links not
// followed), each at most one OSV entry's size.
func readDir(ctx context.Context, dir string) ([]document, error) {
	var docs []document
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".json") || !d.Type().IsRegular() {
			return nil
		}
		if len(docs) == maxDirFiles {
			return fmt.Errorf("%w: %s has more than %d OSV files", ErrInvalid, dir, maxDirFiles)
		}
		data, err := readFile(ctx, p, MaxOSVSize)
		if err != nil {
			return err
		}
		total += int64(len(data))
		if total > 4*MaxOSVSize {
			return fmt.Errorf("%w: %s holds more than %d bytes of OSV", ErrInvalid, dir, 4*MaxOSVSize)
		}
		rel, _ := filepath.Rel(dir, p)
		docs = append(docs, document{name: rel, data: data})
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrInvalid) || errors.Is(err, ErrFetch) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: reading %s: %w", ErrFetch, dir, err)
	}
	slices.SortFunc(docs, func(a, b document) int { return strings.Compare(a.name, b.name) })
	return docs, nil
}

func fetchURL(ctx context.Context, client *http.Client, loc string, limit int64, prev *validators) (*fetchResult, error) {
	name := redact.Location(loc)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: not a valid URL", ErrInvalid, name)
	}
	req.Header.Set("Accept", "application/feed+json, application/json;q=0.9, */*;q=0.1")
	conditional := prev != nil && (prev.ETag != "" || prev.LastModified != "")
	if conditional {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, name, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && conditional:
		return &fetchResult{validators: *prev, notModified: true}, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: GET %s: %s", ErrFetch, name, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: GET %s: %d bytes is more than the %d allowed", ErrInvalid, name, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", ErrFetch, name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: GET %s: more than the %d bytes allowed", ErrInvalid, name, limit)
	}
	sum := sha256.Sum256(data)
	return &fetchResult{
		docs: []document{{name: name, data: data}},
		validators: validators{
			ETag:         resp.Header.Get("ETag"),
			LastModified: resp.Header.Get("Last-Modified"),
			Digest:       "sha256:" + hex.EncodeToString(sum[:]),
		},
	}, nil
}
