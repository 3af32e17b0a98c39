package booking_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

func ExampleParseHKID() {
	for _, in := range []string{"a123456(3)", "AB123456 9", "Ｚ４３７６２６（Ａ）", "A123456(4)", "A12345(3)"} {
		doc, err := booking.ParseHKID(in)
		var ve *booking.ValidationError
		if errors.As(err, &ve) {
			fmt.Printf("%q: refused, %s\n", in, ve.Reason)
			continue
		}
		fmt.Printf("%q: %s, masked %s\n", in, doc.Display(), doc.Masked())
	}
	// Output:
	// "a123456(3)": A123456(3), masked A123***(*)
	// "AB123456 9": AB123456(9), masked AB12***(*)
	// "Ｚ４３７６２６（Ａ）": Z437626(A), masked Z437***(*)
	// "A123456(4)": refused, hkid_check
	// "A12345(3)": refused, format
}

func ExampleDocument_Masked() {
	hkid, _ := booking.ParseHKID("A123456(3)")
	passport, _ := booking.ParseOtherDocument("e1234567")
	fmt.Println(hkid.Masked())
	fmt.Println(passport.Masked())
	// Printing a Document prints it masked.
	fmt.Println(hkid)
	// Output:
	// A123***(*)
	// E12*****
	// A123***(*)
}

func ExampleParseDateOfBirth() {
	today := booking.Date{Year: 2024, Month: time.June, Day: 15}
	for _, in := range []string{"1970/1/1", "01/02/1970", "1970年2月1日", "1970", "31/2/1970", "2030-01-01", "1/1/70"} {
		dob, err := booking.ParseDateOfBirth(in, today)
		var ve *booking.ValidationError
		if errors.As(err, &ve) {
			fmt.Printf("%s: refused, %s\n", in, ve.Reason)
			continue
		}
		fmt.Printf("%s: %s\n", in, dob)
	}
	// Output:
	// 1970/1/1: 1970-01-01
	// 01/02/1970: 1970-02-01
	// 1970年2月1日: 1970-02-01
	// 1970: 1970-01-01
	// 31/2/1970: refused, impossible
	// 2030-01-01: refused, future
	// 1/1/70: refused, format
}

func ExampleParseMobile() {
	for _, in := range []string{"+852 9123 4578", "(852) 6123-4567", "2123 4567"} {
		m, err := booking.ParseMobile(in)
		if err != nil {
			fmt.Println(in, "refused:", err)
			continue
		}
		fmt.Println(in, "=>", m.Display(), m.Masked())
	}
	// Output:
	// +852 9123 4578 => 9123 4578 9***-**78
	// (852) 6123-4567 => 6123 4567 6***-**67
	// 2123 4567 refused: invalid mobile: not_mobile
}

func ExampleParseReference() {
	ref, err := booking.ParseReference("k7qm 4x2p")
	fmt.Println(ref, err)
	// O is read as 0, I and L as 1.
	ref, err = booking.ParseReference("KOQM-IX2L")
	fmt.Println(ref, err)
	// Output:
	// K7QM-4X2P <nil>
	// K0QM-1X21 <nil>
}

func ExampleGenerateSlots() {
	spec := booking.DefaultSchedule(booking.Date{Year: 2024, Month: time.June, Day: 15}, []booking.ClinicID{"wan-tsui"})
	slots, err := booking.GenerateSlots(spec)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(slots), "slots")
	for _, s := range slots[:3] {
		fmt.Printf("%-6s %-8s %s–%s (%d places)\n", s.Service, s.ClinicID,
			s.Start.In(booking.HongKong()).Format("2006-01-02 15:04"), s.End.In(booking.HongKong()).Format("15:04"), s.Capacity)
	}
	// Output:
	// 784 slots
	// video           2024-06-15 09:00–09:15 (6 places)
	// clinic wan-tsui 2024-06-15 09:00–09:15 (4 places)
	// video           2024-06-15 09:15–09:30 (6 places)
}

func ExampleNewHKID() {
	doc, err := booking.NewHKID("A", "123456")
	if err != nil {
		panic(err)
	}
	fmt.Println(doc.Display())
	// Output: A123456(3)
}
