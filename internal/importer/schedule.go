package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/clinicbot/clinicbot/booking"
)

// ScheduleColumns are the columns of a schedule file, CSV header or YAML
// keys. Dates and times are local to the clinics (Hong Kong):
//
//	service   clinic or video
//	clinic    the clinic's ID; empty for video
//	date      2025-03-01
//	start     09:00
//	end       09:15 (24:00 for midnight)
//	capacity  places, at least 1
var ScheduleColumns = []string{"service", "clinic", "date", "start", "end", "capacity"}

// row is one schedule row as written, with the line of each field.
type row struct {
	line   int
	fields map[string]string
}

// ParseSchedule reads a schedule in format (CSV or YAML) and returns its
// slots in UTC. clinics are the known clinics: a row naming another is
// refused. Every bad row is reported, in a *Error, and then no slot is
// returned. loc is the clinics' time zone.
func ParseSchedule(name string, format Format, r io.Reader, clinics []booking.Clinic, loc *time.Location) ([]booking.Slot, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var p problems
	var rows []row
	switch format {
	case CSV:
		rows = csvRows(data, &p)
	case YAML:
		rows = yamlRows(data, &p)
	default:
		return nil, fmt.Errorf("%s: schedules are CSV or YAML: %w", name, ErrFormat)
	}
	known := make(map[booking.ClinicID]bool, len(clinics))
	for _, c := range clinics {
		known[c.ID] = true
	}
	type key struct {
		service booking.ServiceKind
		clinic  booking.ClinicID
		start   time.Time
	}
	seen := make(map[key]int)
	var slots []booking.Slot
	for _, rw := range rows {
		s, ok := parseSlot(rw, known, loc, &p)
		if !ok {
			continue
		}
		k := key{s.Service, s.ClinicID, s.Start}
		if first, dup := seen[k]; dup {
			p.add(rw.line, "the same slot as line %d", first)
			continue
		}
		seen[k] = rw.line
		slots = append(slots, s)
	}
	if len(rows) == 0 && len(p.errs) == 0 {
		p.add(1, "no slots in the file")
	}
	slices.SortStableFunc(p.errs, func(a, b *LineError) int { return a.Line - b.Line })
	if err := p.err(name); err != nil {
		return nil, err
	}
	return slots, nil
}

func csvRows(data []byte, p *problems) []row {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		p.add(csvLine(err, 1), "%v", csvCause(err))
		return nil
	}
	hline, _ := cr.FieldPos(0)
	cols := make([]string, len(header))
	have := make(map[string]bool)
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		cols[i] = h
		switch {
		case !slices.Contains(ScheduleColumns, h):
			p.add(hline, "unknown column %q (want %s)", h, strings.Join(ScheduleColumns, ","))
		case have[h]:
			p.add(hline, "column %q twice", h)
		}
		have[h] = true
	}
	for _, c := range ScheduleColumns {
		if !have[c] && c != "clinic" {
			p.add(hline, "missing column %q", c)
		}
	}
	if len(p.errs) > 0 {
		return nil
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			p.add(csvLine(err, hline), "%v", csvCause(err))
			// A quoting error leaves the reader's position unreliable.
			var pe *csv.ParseError
			if errors.As(err, &pe) && !errors.Is(pe.Err, csv.ErrFieldCount) {
				return rows
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank row of a spreadsheet
		}
		if len(rec) != len(cols) {
			p.add(line, "%d fields, want %d as in the header", len(rec), len(cols))
			continue
		}
		rw := row{line: line, fields: make(map[string]string, len(cols))}
		for i, v := range rec {
			rw.fields[cols[i]] = strings.TrimSpace(v)
		}
		rows = append(rows, rw)
	}
}

func csvLine(err error, def int) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		return pe.Line
	}
	return def
}

func csvCause(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// yamlRows reads a YAML sequence of mappings, or a mapping whose "slots"
// key holds one.
func yamlRows(data []byte, p *problems) []row {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.add(yamlErrLine(err), "not YAML: %v", err)
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil
	}
	seq := doc.Content[0]
	if seq.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(seq.Content); i += 2 {
			if k := seq.Content[i]; k.Value == "slots" {
				found = seq.Content[i+1]
			} else {
				p.add(k.Line, "unknown key %q (want slots)", k.Value)
			}
		}
		if found == nil {
			p.add(seq.Line, "want a list of slots, or slots: followed by one")
			return nil
		}
		seq = found
	}
	if seq.Kind != yaml.SequenceNode {
		p.add(seq.Line, "want a list of slots")
		return nil
	}
	var rows []row
	for _, item := range seq.Content {
		if item.Kind != yaml.MappingNode {
			p.add(item.Line, "want a slot: service, clinic, date, start, end, capacity")
			continue
		}
		rw := row{line: item.Line, fields: make(map[string]string)}
		ok := true
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			name := strings.ToLower(k.Value)
			switch {
			case !slices.Contains(ScheduleColumns, name):
				p.add(k.Line, "unknown key %q (want %s)", k.Value, strings.Join(ScheduleColumns, ", "))
				ok = false
			case v.Kind != yaml.ScalarNode:
				p.add(v.Line, "%s: want a single value", name)
				ok = false
			default:
				if _, dup := rw.fields[name]; dup {
					p.add(k.Line, "%s given twice", name)
					ok = false
				}
				rw.fields[name] = strings.TrimSpace(v.Value)
			}
		}
		if ok {
			rows = append(rows, rw)
		}
	}
	return rows
}

// yamlErrLine finds the line in a yaml.v3 error ("yaml: line 3: ...").
func yamlErrLine(err error) int {
	msg := err.Error()
	if _, rest, ok := strings.Cut(msg, "line "); ok {
		end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if end > 0 {
			if n, err := strconv.Atoi(rest[:end]); err == nil {
				return n
			}
		}
	}
	return 1
}

// parseSlot checks one row; each problem is added to p.
func parseSlot(rw row, known map[booking.ClinicID]bool, loc *time.Location, p *problems) (booking.Slot, bool) {
	before := len(p.errs)
	bad := func(format string, args ...any) { p.add(rw.line, format, args...) }
	f := rw.fields

	var s booking.Slot
	s.Service = booking.ServiceKind(strings.ToLower(f["service"]))
	s.ClinicID = booking.ClinicID(f["clinic"])
	switch {
	case f["service"] == "":
		bad("service: missing (want clinic or video)")
	case !s.Service.Valid():
		bad("service: %q is neither clinic nor video", f["service"])
	case s.Service == booking.ServiceClinic && s.ClinicID == "":
		bad("clinic: missing for an in-person slot")
	case s.Service == booking.ServiceClinic && !known[s.ClinicID]:
		bad("clinic: no clinic %q (import clinics first)", f["clinic"])
	case s.Service == booking.ServiceVideo && s.ClinicID != "":
		bad("clinic: must be empty for video")
	}

	day, err := time.ParseInLocation("2006-01-02", f["date"], loc)
	if err != nil {
		bad("date: %q is not a date like 2025-03-01", f["date"])
	}
	start, okStart := clock(f["start"])
	if !okStart {
		bad("start: %q is not a time like 09:00", f["start"])
	}
	end, okEnd := clock(f["end"])
	if !okEnd {
		bad("end: %q is not a time like 09:15", f["end"])
	}
	if okStart && okEnd && end <= start {
		bad("end: %s is not after start %s", f["end"], f["start"])
	}
	if err == nil && okStart && okEnd {
		y, m, d := day.Date()
		s.Start = time.Date(y, m, d, 0, int(start/time.Minute), 0, 0, loc).UTC()
		s.End = time.Date(y, m, d, 0, int(end/time.Minute), 0, 0, loc).UTC()
	}
	capacity, cerr := strconv.Atoi(f["capacity"])
	if cerr != nil || capacity < 1 || capacity > 10000 {
		bad("capacity: %q is not a whole number from 1 to 10000", f["capacity"])
	}
	s.Capacity = capacity
	if len(p.errs) > before {
		return booking.Slot{}, false
	}
	// The domain's own rules, should they be stricter than the above.
	if err := s.Validate(); err != nil {
		bad("%v", err)
		return booking.Slot{}, false
	}
	return s, true
}

// clock reads "09:00" (or "9:00", or "24:00") as an offset from midnight.
func clock(s string) (time.Duration, bool) {
	hs, ms, ok := strings.Cut(s, ":")
	if !ok || len(hs) < 1 || len(hs) > 2 || len(ms) != 2 {
		return 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) || hs[0] == '+' || hs[0] == '-' || ms[0] == '+' || ms[0] == '-' {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}
