package importer

import (
	"bytes"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/clinicbot/clinicbot/booking"
)

// ParseClinics reads clinics in the form of booking's embedded clinics.json,
// as JSON or YAML: a list of clinics, or a mapping whose "clinics" key holds
// one. Every clinic is checked with Clinic.Validate and IDs must be unique;
// every problem is reported with its line in a *Error, and then no clinic is
// returned.
func ParseClinics(name string, format Format, r io.Reader) ([]booking.Clinic, error) {
	if format != YAML && format != JSON {
		return nil, fmt.Errorf("%s: clinics are YAML or JSON: %w", name, ErrFormat)
	}
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	var p problems
	// JSON is YAML too, so one reader gives both their line numbers.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.add(yamlErrLine(err), "not %s: %v", format, err)
		return nil, p.err(name)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.add(1, "no clinics in the file")
		return nil, p.err(name)
	}
	seq := doc.Content[0]
	if seq.Kind == yaml.MappingNode {
		var found *yaml.Node
		for i := 0; i+1 < len(seq.Content); i += 2 {
			if k := seq.Content[i]; k.Value == "clinics" {
				found = seq.Content[i+1]
			} else {
				p.add(k.Line, "unknown key %q (want clinics)", k.Value)
			}
		}
		if found == nil {
			p.add(seq.Line, "want a list of clinics, or clinics: followed by one")
			return nil, p.err(name)
		}
		seq = found
	}
	if seq.Kind != yaml.SequenceNode {
		p.add(seq.Line, "want a list of clinics")
		return nil, p.err(name)
	}
	var clinics []booking.Clinic
	first := make(map[booking.ClinicID]int)
	for _, item := range seq.Content {
		c, err := decodeClinic(item)
		if err != nil {
			p.add(item.Line, "%v", err)
			continue
		}
		if err := c.Validate(); err != nil {
			p.add(item.Line, "clinic %q: %v", c.ID, err)
			continue
		}
		if line, dup := first[c.ID]; dup {
			p.add(item.Line, "id %q already used on line %d", c.ID, line)
			continue
		}
		first[c.ID] = item.Line
		clinics = append(clinics, c)
	}
	if len(seq.Content) == 0 {
		p.add(seq.Line, "no clinics in the file")
	}
	if err := p.err(name); err != nil {
		return nil, err
	}
	return clinics, nil
}

// decodeClinic decodes one clinic, refusing unknown keys (a misspelt key
// would otherwise drop its value silently).
func decodeClinic(n *yaml.Node) (booking.Clinic, error) {
	var c booking.Clinic
	if n.Kind != yaml.MappingNode {
		return c, fmt.Errorf("want a clinic: id, region, district, name, address, location")
	}
	raw, err := yaml.Marshal(n)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return booking.Clinic{}, err
	}
	return c, nil
}
