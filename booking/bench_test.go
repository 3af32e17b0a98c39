package booking

import (
	"bytes"
	"testing"
	"time"
)

func BenchmarkParseHKID(b *testing.B) {
	for b.Loop() {
		if _, err := ParseHKID("Ａ１２３４５６（３）"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseDateOfBirth(b *testing.B) {
	today := Date{2024, time.June, 15}
	for b.Loop() {
		if _, err := ParseDateOfBirth("1970年1月1日", today); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPatientAndBirthKey(b *testing.B) {
	p, err := NewProtector(bytes.Repeat([]byte{1}, MinKeySize))
	if err != nil {
		b.Fatal(err)
	}
	doc := Document{DocumentHKID, "A1234563"}
	for b.Loop() {
		p.PatientKey(doc)
		p.BirthKey(doc, Date{1970, 1, 1})
	}
}

func BenchmarkSealOpen(b *testing.B) {
	p, err := NewProtector(bytes.Repeat([]byte{1}, MinKeySize))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		sealed, err := p.Seal([]byte("91234578"), "mobile")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Open(sealed, "mobile"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGenerateSlotsDefault(b *testing.B) {
	var ids []ClinicID
	for _, c := range DefaultClinics() {
		ids = append(ids, c.ID)
	}
	spec := DefaultSchedule(Date{2024, time.June, 15}, ids)
	for b.Loop() {
		if _, err := GenerateSlots(spec); err != nil {
			b.Fatal(err)
		}
	}
}
