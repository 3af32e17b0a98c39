// Package filemode keeps the files that hold personal data or keys private
// to their owner: it creates them with mode 0600 and refuses those that
// group or others may read.
package filemode

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
)

// Private is the mode of a file that holds personal data or keys.
const Private fs.FileMode = 0o600

// Exposed is one file that group or others may access, and its mode.
type Exposed struct {
	Path string
	Mode fs.FileMode
}

// ExposedError lists the files a check found open to group or others.
type ExposedError struct {
	Files []Exposed
}

func (e *ExposedError) Error() string {
	parts := make([]string, len(e.Files))
	for i, f := range e.Files {
		parts[i] = fmt.Sprintf("%s has mode %04o", f.Path, f.Mode.Perm())
	}
	return strings.Join(parts, ", ") + ": readable by group or others"
}

// Paths returns the exposed files' paths.
func (e *ExposedError) Paths() []string {
	paths := make([]string, len(e.Files))
	for i, f := range e.Files {
		paths[i] = f.Path
	}
	return paths
}

// Create creates the file at path with mode Private unless it exists, then
// checks it and companions (such as SQLite's path-wal and path-shm, which
// SQLite creates with the mode of the file they belong to) as Check does.
func Create(path string, companions ...string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, Private)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return Check(append([]string{path}, companions...)...)
}

// Check fails with an *ExposedError naming every file of paths that exists
// and that group or others may read, write or run: such a file is refused
// rather than used. A missing file passes. On systems without Unix
// permissions (Windows) every file passes.
func Check(paths ...string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	var exposed []Exposed
	for _, p := range paths {
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 {
			exposed = append(exposed, Exposed{Path: p, Mode: info.Mode().Perm()})
		}
	}
	if len(exposed) > 0 {
		return &ExposedError{Files: exposed}
	}
	return nil
}
