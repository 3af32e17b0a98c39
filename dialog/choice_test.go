package dialog

import (
	"testing"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

var testChoices = []choice{
	{id: optYes, key: "opt.yes", alias: "alias.yes"},
	{id: optNo, key: "opt.no", alias: "alias.no"},
	{id: prefixClinic + "robert-black", key: "opt.book.at", name: booking.Text{ZhHK: "柏立基普通科門診診所", En: "Robert Black General Out-patient Clinic", ZhCN: "柏立基普通科门诊诊所"}},
	{id: prefixClinic + "wan-tsui", key: "opt.book.at", name: booking.Text{ZhHK: "環翠普通科門診診所", En: "Wan Tsui General Out-patient Clinic", ZhCN: "环翠普通科门诊诊所"}, full: true},
}

func TestPick(t *testing.T) {
	cat := locales.MustLoad()
	tests := []struct {
		name, text, want string
	}{
		{"number", "1", optYes},
		{"full_width_number", "２", optNo},
		{"number_counts_offered_only", "3", prefixClinic + "robert-black"},
		{"number_out_of_range", "4", ""},
		{"label_zh_hk", "是", optYes},
		{"label_en", "No", optNo},
		{"alias", "係", optYes},
		{"alias_en", "y", optYes},
		{"name_part", "柏立基", prefixClinic + "robert-black"},
		{"name_part_en", "robert black", prefixClinic + "robert-black"},
		{"name_part_zh_cn", "门诊", ""}, // both clinics: ambiguous
		{"full_choice_found", "環翠", prefixClinic + "wan-tsui"},
		{"one_letter_no_part", "r", ""},
		{"punctuation_ignored", "「是」", optYes},
		{"nothing", "   ", ""},
		{"unknown", "banana", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := pick(cat, testChoices, Input{Kind: InputText, Text: tt.text})
			got := ""
			if ok {
				got = c.id
			}
			if got != tt.want {
				t.Errorf("pick(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func FuzzPick(f *testing.F) {
	for _, s := range []string{"1", "是", "robert", "環翠", "", "０", "99999999999999999999", "\u0301"} {
		f.Add(s)
	}
	cat := locales.MustLoad()
	f.Fuzz(func(t *testing.T, text string) {
		c, ok := pick(cat, testChoices, Input{Kind: InputText, Text: text})
		if !ok {
			return
		}
		for _, want := range testChoices {
			if want.id == c.id {
				return
			}
		}
		t.Errorf("pick(%q) = %q, not one of the choices", text, c.id)
	})
}
