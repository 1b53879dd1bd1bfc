// Package infile reads files named from outside — on the command line, in a
// configuration — the one way: only regular files (a FIFO, a device or a
// directory is refused before anything blocks on it), at most a given size,
// and giving up when the context is cancelled.
package infile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

var (
	// ErrNotRegular: the path names a FIFO, a device, a socket or a
	// directory, not a regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file holds more than the bytes allowed.
	ErrTooLarge = errors.New("file too large")
)

// chunk is how much is read between two looks at the context.
const chunk = 64 << 10

// Open opens the regular file at path for reading. It never blocks on a
// FIFO (the file is opened non-blocking and checked before use) and
// refuses anything but a regular file with ErrNotRegular. The caller
// closes the file.
func Open(ctx context.Context, path string) (*os.File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s is a %s", ErrNotRegular, path, kind(st.Mode()))
	}
	return f, nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "device"
	}
	return "special file (" + m.Type().String() + ")"
}

// Read reads the regular file at path, of at most limit bytes.
func Read(ctx context.Context, path string, limit int64) ([]byte, error) {
	f, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(ctx, f, path, limit)
}

// ReadAll reads r to its end, at most limit bytes, name saying what r is
// in errors. It returns as soon as ctx is cancelled, even when a read
// blocks (stdin, a pipe): the blocked read is left to the caller's closing
// of r.
func ReadAll(ctx context.Context, r io.Reader, name string, limit int64) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var buf bytes.Buffer
		lr := io.LimitReader(r, limit+1)
		for {
			if err := ctx.Err(); err != nil {
				done <- result{nil, err}
				return
			}
			_, err := io.CopyN(&buf, lr, chunk)
			if err == io.EOF {
				done <- result{buf.Bytes(), nil}
				return
			}
			if err != nil {
				done <- result{nil, fmt.Errorf("reading %s: %w", name, err)}
				return
			}
		}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-done:
		if res.err != nil {
			return nil, res.err
		}
		if int64(len(res.data)) > limit {
			return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, name, limit)
		}
		return res.data, nil
	}
}

// Copy copies the regular file at path to w, however large, giving up when
// ctx is cancelled; it returns the bytes copied.
func Copy(ctx context.Context, w io.Writer, path string) (int64, error) {
	f, err := Open(ctx, path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.CopyN(w, f, chunk)
		total += n
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("reading %s: %w", path, err)
		}
	}
}
