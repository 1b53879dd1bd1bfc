package vulndb

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Entries returns a digest of every entry of the database in dir, by ID,
// that leaves out the entry's modified time: sources without real
// modification times (the Go database's module, a directory) get the
// time of the version or of the build, which changes every entry without
// changing what it says. Two databases differ in exactly the entries whose
// digests differ.
func Entries(dir string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("reading the database manifest: %w", err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		_, name, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		id, ok := strings.CutPrefix(name, idDir+"/")
		if !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, idDir, id))
		if err != nil {
			return nil, fmt.Errorf("reading entry %s: %w", id, err)
		}
		b = modifiedField.ReplaceAll(b, nil)
		sum := sha256.Sum256(b)
		out[strings.TrimSuffix(id, ".json")] = hex.EncodeToString(sum[:])
	}
	return out, sc.Err()
}

// modifiedField is an entry's modified time as the builder writes it.
var modifiedField = regexp.MustCompile(`"modified"\s*:\s*"[^"]*",?`)

// Change is how one database differs from another.
type Change struct {
	// Changed are the IDs of new and modified entries; Removed those of
	// entries gone (or withdrawn by deletion).
	Changed []string
	Removed []string
}

// Diff compares two databases' entries (as Entries returns them).
func Diff(old, cur map[string]string) Change {
	var c Change
	for id, sum := range cur {
		if old[id] != sum {
			c.Changed = append(c.Changed, id)
		}
	}
	for id := range old {
		if _, ok := cur[id]; !ok {
			c.Removed = append(c.Removed, id)
		}
	}
	slices.Sort(c.Changed)
	slices.Sort(c.Removed)
	return c
}

// Subset writes to out a database in govulncheck's layout holding only the
// entries ids of the database in dir: their files, the module index
// restricted to them and the database's own modification time.
func Subset(dir, out string, ids []string) error {
	keep := map[string]bool{}
	for _, id := range ids {
		keep[id] = true
	}
	if err := os.MkdirAll(filepath.Join(out, idDir), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "index"), 0o755); err != nil {
		return err
	}
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(dir, idDir, id+".json"))
		if err != nil {
			return fmt.Errorf("reading entry %s: %w", id, err)
		}
		if err := os.WriteFile(filepath.Join(out, idDir, id+".json"), b, 0o644); err != nil {
			return err
		}
	}
	db, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(dbIndex)))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, filepath.FromSlash(dbIndex)), db, 0o644); err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(modulesIndex)))
	if err != nil {
		return err
	}
	var mods []moduleMeta
	if err := json.Unmarshal(raw, &mods); err != nil {
		return fmt.Errorf("reading the module index: %w", err)
	}
	sub := []moduleMeta{}
	for _, m := range mods {
		var vs []moduleVuln
		for _, v := range m.Vulns {
			if keep[v.ID] {
				vs = append(vs, v)
			}
		}
		if len(vs) > 0 {
			sub = append(sub, moduleMeta{Path: m.Path, Vulns: vs})
		}
	}
	data, err := compactJSON(sub)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, filepath.FromSlash(modulesIndex)), data, 0o644)
}
