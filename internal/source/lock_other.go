//go:build !unix

package source

import "context"

// lockMirror is a no-op where advisory file locks are not available.
func lockMirror(ctx context.Context, mirror string) (func(), error) { return func() {}, nil }
