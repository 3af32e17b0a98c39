// Package importer reads the files an operator imports: a schedule of
// slots (CSV or YAML) and a list of clinics (YAML or JSON). It validates
// every row before anything is stored and reports every bad row with its
// line number, so that an import is all or nothing.
package importer

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// MaxFileSize is the largest file read; a schedule of a year for every
// clinic is far smaller.
const MaxFileSize = 16 << 20

// ErrFormat: the file's format is not known from its name, or the file is
// not in that format at all.
var ErrFormat = errors.New("importer: unknown file format")

// Format is an import file's format.
type Format string

// The formats read.
const (
	CSV  Format = "csv"
	YAML Format = "yaml"
	JSON Format = "json"
)

// FormatOf returns the format named by the file's extension.
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".yaml", ".yml":
		return YAML, nil
	case ".json":
		return JSON, nil
	}
	return "", fmt.Errorf("%s: want .csv, .yaml, .yml or .json: %w", name, ErrFormat)
}

// LineError is one problem of one row; Line counts from 1.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// Error is every problem found in an import file, in line order.
type Error struct {
	File   string
	Errors []*LineError
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.File, len(e.Errors))
	for _, le := range e.Errors {
		b.WriteString("\n  ")
		b.WriteString(le.Error())
	}
	return b.String()
}

// Unwrap returns the line errors, so errors.As finds a *LineError.
func (e *Error) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i, le := range e.Errors {
		errs[i] = le
	}
	return errs
}

// problems collects line errors.
type problems struct{ errs []*LineError }

func (p *problems) add(line int, format string, args ...any) {
	p.errs = append(p.errs, &LineError{Line: line, Err: fmt.Errorf(format, args...)})
}

func (p *problems) err(file string) error {
	if len(p.errs) == 0 {
		return nil
	}
	return &Error{File: file, Errors: p.errs}
}

func readAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("importer: read: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("importer: file larger than %d bytes: %w", MaxFileSize, ErrFormat)
	}
	// A byte-order mark, as spreadsheet programs write, is not data.
	return []byte(strings.TrimPrefix(string(data), "\uFEFF")), nil
}
