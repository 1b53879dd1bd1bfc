package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnUnusableStoreFileIsNeverReplaced: a store database that exists but
// is not a vexloom store (here: emptied, or someone else's data) stops
// every command that opens the store, read-only or not, with an error
// naming the file; the file is left byte for byte as it was.
func TestAnUnusableStoreFileIsNeverReplaced(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	storeDir := filepath.Join(p.dir, ".vexloom")

	// Before any update, reading commands say there is no store and
	// create nothing.
	for _, args := range [][]string{{"status"}, {"history"}, {"triage", "list"}, {"vex", "--branch", "main"}} {
		_, stderr, code := p.cmd(args...)
		if code != 1 || !strings.Contains(stderr, "no store in "+storeDir+" yet") {
			t.Errorf("%v without a store: exit %d: %s", args, code, stderr)
		}
	}
	if _, err := os.Stat(storeDir); !os.IsNotExist(err) {
		t.Fatalf("a reading command created %s: %v", storeDir, err)
	}

	if err := os.MkdirAll(storeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(storeDir, "vexloom.db")
	for _, content := range []string{"", "not a database\n", strings.Repeat("\x00", 4096)} {
		if err := os.WriteFile(db, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"status"}, {"history"}, {"triage", "list"}, {"vex", "--branch", "main"}, {"update"}} {
			_, stderr, code := p.cmd(args...)
			if code != 1 || !strings.Contains(stderr, db) || !strings.Contains(stderr, "not a vexloom store") {
				t.Errorf("%v on %q: exit %d: %s", args, content, code, stderr)
			}
			got, err := os.ReadFile(db)
			if err != nil || string(got) != content {
				t.Fatalf("%v rewrote the store file: %d bytes, %v", args, len(got), err)
			}
			for _, side := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(db + side); !os.IsNotExist(err) {
					t.Errorf("%v left %s behind", args, filepath.Base(db+side))
				}
			}
		}
	}
}
