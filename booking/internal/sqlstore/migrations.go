package sqlstore

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one change to a store's schema.
type Migration struct {
	Version int
	Name    string // the file's, e.g. 0001_init.sql
	SQL     string
}

// Migrations reads a store's embedded migrations, the files
// migrations/NNNN_description.sql of fsys, ordered by version. Each version
// may be used once.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := make(map[int]string)
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_description.sql", base)
		}
		if prev, dup := seen[version]; dup {
			return nil, fmt.Errorf("migration %s: version %d already used by %s", base, version, prev)
		}
		seen[version] = base
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: version, Name: base, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
