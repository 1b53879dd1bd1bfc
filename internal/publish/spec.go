package publish

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-github/v75/github"
)

// ErrStoreSpec is wrapped by the error for a store spec OpenStore does not
// know.
var ErrStoreSpec = errors.New("unknown store")

// StoreSpecs is what OpenStore accepts, for messages.
const StoreSpecs = "local[:DIR], feed[:DIR], oci:REF or github:OWNER/REPO"

// Project is what a store spec is resolved against: the project's own
// stores and how to reach the others.
type Project struct {
	// LocalDir is the project's local store ("local").
	LocalDir string
	// Feed describes the project's feed ("feed"; "feed:DIR" writes it to
	// DIR instead of Feed.Dir). It is generated from the local store.
	Feed FeedConfig
	// Now is the clock of the stores.
	Now func() time.Time
	// OCI are the registry options (authentication) of "oci:" stores.
	OCI []remote.Option
	// GitHub returns the client of "github:" stores.
	GitHub func(context.Context) (*github.Client, error)
}

// OpenStore opens the store a spec names:
//
//	local[:DIR]        the project's local store, or the one in DIR
//	feed[:DIR]         the project's feed, written to its directory or DIR
//	oci:REF            the registry of the image REF, as referrers
//	github:OWNER/REPO  GitHub's attestation store
func OpenStore(ctx context.Context, spec string, p Project) (Store, error) {
	kind, where, hasWhere := strings.Cut(spec, ":")
	switch {
	case spec == "local":
		return p.Local()
	case kind == "local" && hasWhere:
		return NewLocal(where, p.Now)
	case spec == "feed":
		return p.FeedIn(p.Feed.Dir)
	case kind == "feed" && hasWhere:
		return p.FeedIn(where)
	case kind == "oci" && hasWhere:
		opts := append([]remote.Option{remote.WithContext(ctx)}, p.OCI...)
		return NewOCI(where, p.Now, opts...)
	case kind == "github" && hasWhere:
		if p.GitHub == nil {
			return nil, errors.New("no GitHub client to publish with")
		}
		client, err := p.GitHub(ctx)
		if err != nil {
			return nil, err
		}
		return NewGitHub(client, where)
	}
	return nil, fmt.Errorf("%w %q: want %s", ErrStoreSpec, spec, StoreSpecs)
}

// OpenStores opens the stores of several specs, in order.
func OpenStores(ctx context.Context, specs []string, p Project) ([]Store, error) {
	var out []Store
	for _, s := range specs {
		st, err := OpenStore(ctx, s, p)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Local opens the project's local store.
func (p Project) Local() (*Local, error) {
	return NewLocal(p.LocalDir, p.Now)
}

// FeedIn opens the project's feed, generated from its local store and
// written to dir.
func (p Project) FeedIn(dir string) (*Feed, error) {
	local, err := p.Local()
	if err != nil {
		return nil, err
	}
	cfg := p.Feed
	cfg.Dir = dir
	return NewFeed(cfg, local)
}
