package locales_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/clinicbot/clinicbot/locales"
)

func TestCatalogsComplete(t *testing.T) {
	c, err := locales.Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	base := c.Keys(locales.Default)
	if len(base) == 0 {
		t.Fatal("the default catalog is empty")
	}
	for _, lang := range locales.Languages() {
		t.Run(lang, func(t *testing.T) {
			if diff := cmp.Diff(base, c.Keys(lang)); diff != "" {
				t.Errorf("keys of %s differ from %s (-%s +%s):\n%s", lang, locales.Default, locales.Default, lang, diff)
			}
			for _, key := range base {
				want, _ := c.Raw(locales.Default, key)
				got, ok := c.Raw(lang, key)
				if !ok {
					continue
				}
				if got == "" {
					t.Errorf("%s %s is empty", lang, key)
				}
				if diff := cmp.Diff(locales.Placeholders(want), locales.Placeholders(got)); diff != "" {
					t.Errorf("placeholders of %s %s (-%s +%s):\n%s", lang, key, locales.Default, lang, diff)
				}
			}
		})
	}
}

func TestMatch(t *testing.T) {
	tests := []struct{ hint, want string }{
		{"", locales.ZhHK},
		{"zh-hk", locales.ZhHK},
		{"zh-TW", locales.ZhHK},
		{"zh-Hant", locales.ZhHK},
		{"zh", locales.ZhCN},
		{"zh-MO", locales.ZhHK},
		{"zh-Hant-HK", locales.ZhHK},
		{"zh-cn", locales.ZhCN},
		{"zh_CN", locales.ZhCN},
		{"zh-hans", locales.ZhCN},
		{"zh-Hans-CN", locales.ZhCN},
		{"zh-sg", locales.ZhCN},
		{"en", locales.En},
		{"en-GB", locales.En},
		{"id", locales.En},
		{"tl", locales.En},
		{"ms", locales.En},
		{"fr", locales.En},
		{"eng", locales.En},
	}
	for _, tt := range tests {
		if got := locales.Match(tt.hint); got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.hint, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	c := locales.MustLoad()
	tests := []struct {
		name, lang, key string
		args            map[string]any
		want            string
	}{
		{"plain", locales.ZhHK, "opt.book", nil, "為他人預約"},
		{"english", locales.En, "opt.book", nil, "Book for others"},
		{"simplified", locales.ZhCN, "opt.book", nil, "为他人预约"},
		{"args", locales.En, "detail.ref", map[string]any{"ref": "K7QM-4X2P"}, "Reference: K7QM-4X2P"},
		{"missing_arg_kept", locales.En, "detail.ref", nil, "Reference: {ref}"},
		{"unknown_language_is_default", "fr", "opt.book", nil, "為他人預約"},
		{"missing_key_is_key", locales.En, "no.such.key", nil, "no.such.key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Text(tt.lang, tt.key, tt.args); got != tt.want {
				t.Errorf("Text(%q, %q) = %q, want %q", tt.lang, tt.key, got, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	hk := time.FixedZone("HKT", 8*3600)
	morning := time.Date(2026, 11, 28, 9, 15, 0, 0, hk)
	afternoon := time.Date(2026, 11, 28, 14, 5, 0, 0, hk)
	noon := time.Date(2026, 11, 28, 12, 0, 0, 0, hk)
	tests := []struct{ name, got, want string }{
		{"zh_hk_datetime", locales.FormatDateTime(locales.ZhHK, morning), "2026年11月28日（星期六）上午9:15"},
		{"en_datetime", locales.FormatDateTime(locales.En, morning), "Sat 28 Nov 2026, 9:15 am"},
		{"zh_cn_datetime", locales.FormatDateTime(locales.ZhCN, afternoon), "2026年11月28日（星期六）下午2:05"},
		{"en_noon", locales.FormatTime(locales.En, noon), "12:00 pm"},
		{"zh_noon", locales.FormatTime(locales.ZhHK, noon), "下午12:00"},
		{"en_period", locales.FormatPeriod(locales.En, morning, morning.Add(15*time.Minute)), "Sat 28 Nov 2026, 9:15 am to 9:30 am"},
		{"zh_birth", locales.FormatBirthDate(locales.ZhHK, 1970, time.January, 1), "1970年1月1日"},
		{"en_birth", locales.FormatBirthDate(locales.En, 1970, time.January, 1), "1 January 1970"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func ExampleFormatDateTime() {
	hk := time.FixedZone("HKT", 8*3600)
	t := time.Date(2026, 11, 28, 9, 15, 0, 0, hk)
	for _, lang := range locales.Languages() {
		fmt.Println(locales.FormatDateTime(lang, t))
	}
	// Output:
	// 2026年11月28日（星期六）上午9:15
	// Sat 28 Nov 2026, 9:15 am
	// 2026年11月28日（星期六）上午9:15
}

func ExampleFormatIdle() {
	for _, d := range []time.Duration{15 * time.Minute, time.Hour, 90 * time.Minute, time.Minute} {
		fmt.Printf("%s | %s | %s\n", locales.FormatIdle(locales.ZhHK, d), locales.FormatIdle(locales.En, d), locales.FormatIdle(locales.ZhCN, d))
	}
	// Output:
	// 15分鐘 | 15 minutes | 15分钟
	// 1小時 | 1 hour | 1小时
	// 1小時30分鐘 | 1 hour 30 minutes | 1小时30分钟
	// 1分鐘 | 1 minute | 1分钟
}
