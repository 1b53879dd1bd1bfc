package source

import (
	"slices"
	"sync"
)

// What a commit holds never changes: its file list, its files' contents,
// the tree hash of a directory, its time, whether it descends from another
// commit, which of a given set of tags it reaches. These answers are kept for the life of the process, keyed by full
// object names, so that the many commands and runners one process serves
// (the dashboard's server, a test binary) and the several stages of one
// update (owners, modules, Go version, content keys) ask git once per
// commit. They are bounded: the oldest go first.

// isFullHash reports whether s is a full object name (SHA-1 or SHA-256),
// the only revisions whose answers cannot change.
func isFullHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// bounded is a map that forgets its oldest entries beyond max.
type bounded[V any] struct {
	mu    sync.Mutex
	max   int
	m     map[string]V
	order []string
}

func newBounded[V any](max int) *bounded[V] {
	return &bounded[V]{max: max, m: map[string]V{}}
}

func (b *bounded[V]) get(k string) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

func (b *bounded[V]) put(k string, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[k]; ok {
		b.m[k] = v
		return
	}
	b.m[k] = v
	b.order = append(b.order, k)
	for len(b.order) > b.max {
		delete(b.m, b.order[0])
		b.order = b.order[1:]
	}
}

// smallFile is the largest file whose content is kept: go.mod, OWNERS,
// .go-version and their like are far smaller.
const smallFile = 256 << 10

var (
	// fileLists holds each commit's paths, sorted, for lookups; a
	// Kubernetes commit's list is about 2 MB.
	fileLists = newBounded[[]string](48)
	// fileContents holds small files by "commit:path".
	fileContents = newBounded[[]byte](8192)
	// treeHashes holds "commit:dir" → tree object name ("" for none).
	treeHashes = newBounded[string](8192)
	// commits holds a full object name → the commit it names.
	commits = newBounded[Commit](8192)
	// ancestry holds "ancestor descendant" → whether it is one.
	ancestry = newBounded[bool](8192)
	// distances holds "from..to" → the commits in to not in from.
	distances = newBounded[int](8192)
	// mergedTags holds "commit tagset" → the tags the commit reaches, and
	// tagsOn "tip tagset" → the tags on a branch with their commits (a tag
	// set is refs.tagSet).
	mergedTags = newBounded[[]string](1024)
	tagsOn     = newBounded[[]Tag](1024)
)

// listed reports whether path is in commit's file list, and whether that
// list is known at all.
func listed(commit, path string) (found, known bool) {
	files, ok := fileLists.get(commit)
	if !ok {
		return false, false
	}
	_, found = slices.BinarySearch(files, path)
	return found, true
}
