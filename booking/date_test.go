package booking

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseDateOfBirth(t *testing.T) {
	t.Parallel()
	today := Date{2024, time.June, 15}
	tests := []struct {
		name   string
		in     string
		want   Date
		reason Reason
	}{
		{name: "slash_ymd", in: "1970/1/1", want: Date{1970, 1, 1}},
		{name: "iso", in: "1970-01-01", want: Date{1970, 1, 1}},
		{name: "dots", in: "1970.1.1", want: Date{1970, 1, 1}},
		{name: "dmy_padded", in: "01/01/1970", want: Date{1970, 1, 1}},
		{name: "dmy", in: "1/1/1970", want: Date{1970, 1, 1}},
		{name: "dmy_day_first", in: "3/4/1970", want: Date{1970, time.April, 3}},
		{name: "dmy_dashes", in: "31-12-1999", want: Date{1999, time.December, 31}},
		{name: "ymd_day_last", in: "1970/4/3", want: Date{1970, time.April, 3}},
		{name: "chinese", in: "1970年1月1日", want: Date{1970, 1, 1}},
		{name: "chinese_no_day_mark", in: "1970年12月31", want: Date{1970, 12, 31}},
		{name: "chinese_spaced", in: "1970 年 1 月 2 日", want: Date{1970, 1, 2}},
		{name: "fullwidth", in: "１９７０／１／１", want: Date{1970, 1, 1}},
		{name: "fullwidth_chinese", in: "１９７０年１月１日", want: Date{1970, 1, 1}},
		{name: "bare_year", in: "1970", want: Date{1970, 1, 1}},
		{name: "bare_year_spaces", in: " 1970 ", want: Date{1970, 1, 1}},
		{name: "leap_day", in: "29/2/2000", want: Date{2000, 2, 29}},
		{name: "today", in: "2024-06-15", want: today},
		{name: "exactly_130_years", in: "1894-06-15", want: Date{1894, 6, 15}},
		{name: "empty", in: "", reason: ReasonEmpty},
		{name: "blank", in: " \u3000", reason: ReasonEmpty},
		{name: "feb_31", in: "31/2/1970", reason: ReasonImpossible},
		{name: "not_leap", in: "1900-02-29", reason: ReasonImpossible},
		{name: "month_13", in: "1970/13/1", reason: ReasonImpossible},
		{name: "day_zero", in: "0/1/1970", reason: ReasonImpossible},
		{name: "year_zero", in: "0000", reason: ReasonImpossible},
		{name: "tomorrow", in: "2024-06-16", reason: ReasonFuture},
		{name: "future_year", in: "2025", reason: ReasonFuture},
		{name: "over_130", in: "1894-06-14", reason: ReasonTooOld},
		{name: "two_digit_year", in: "1/1/70", reason: ReasonFormat},
		{name: "two_digit_year_first", in: "70/1/1", reason: ReasonFormat},
		{name: "bare_two_digits", in: "70", reason: ReasonFormat},
		{name: "compact", in: "19700101", reason: ReasonFormat},
		{name: "mixed_separators", in: "1970/1-1", reason: ReasonFormat},
		{name: "year_month_only", in: "1970/1", reason: ReasonFormat},
		{name: "words", in: "1 Jan 1970", reason: ReasonFormat},
		{name: "three_digit_day", in: "001/1/1970", reason: ReasonFormat},
		{name: "chinese_no_month", in: "1970年1日", reason: ReasonFormat},
		{name: "negative", in: "-1970", reason: ReasonFormat},
		{name: "trailing_separator", in: "1970/1/1/", reason: ReasonFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDateOfBirth(tt.in, today)
			checkValidation(t, "date_of_birth", tt.reason, err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseDateOfBirth(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseDateOfBirthTooOldOnLeapDay(t *testing.T) {
	t.Parallel()
	// On 29 February the 130-year limit falls on 28 February of a common
	// year: born that day is allowed, the day before is not.
	today := Date{2024, time.February, 29}
	if _, err := ParseDateOfBirth("1894-02-28", today); err != nil {
		t.Errorf("ParseDateOfBirth(1894-02-28) on %v = %v, want nil", today, err)
	}
	_, err := ParseDateOfBirth("1894-02-27", today)
	checkValidation(t, "date_of_birth", ReasonTooOld, err)
}

func TestDateOf(t *testing.T) {
	t.Parallel()
	hk := HongKong()
	// 16:30 UTC is 00:30 the next day in Hong Kong.
	at := time.Date(2024, time.December, 31, 16, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		loc  *time.Location
		want Date
	}{
		{name: "hong_kong", loc: hk, want: Date{2025, time.January, 1}},
		{name: "utc", loc: time.UTC, want: Date{2024, time.December, 31}},
		{name: "nil_is_utc", loc: nil, want: Date{2024, time.December, 31}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DateOf(at, tt.loc); got != tt.want {
				t.Errorf("DateOf(%v, %v) = %v, want %v", at, tt.loc, got, tt.want)
			}
		})
	}
}

func TestDateMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		d         Date
		wantStr   string
		wantValid bool
		wantZero  bool
	}{
		{name: "ordinary", d: Date{1970, 1, 1}, wantStr: "1970-01-01", wantValid: true},
		{name: "leap_day", d: Date{2000, 2, 29}, wantStr: "2000-02-29", wantValid: true},
		{name: "not_leap", d: Date{2100, 2, 29}, wantStr: "2100-02-29"},
		{name: "april_31", d: Date{2024, 4, 31}, wantStr: "2024-04-31"},
		{name: "month_zero", d: Date{2024, 0, 1}, wantStr: "2024-00-01"},
		{name: "zero", d: Date{}, wantStr: "0000-00-00", wantZero: true},
		{name: "year_9999", d: Date{9999, 12, 31}, wantStr: "9999-12-31", wantValid: true},
		{name: "year_10000", d: Date{10000, 1, 1}, wantStr: "10000-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.d.String(); got != tt.wantStr {
				t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.wantStr)
			}
			if got := tt.d.Valid(); got != tt.wantValid {
				t.Errorf("%#v.Valid() = %v, want %v", tt.d, got, tt.wantValid)
			}
			if got := tt.d.IsZero(); got != tt.wantZero {
				t.Errorf("%#v.IsZero() = %v, want %v", tt.d, got, tt.wantZero)
			}
			if got := tt.d.LogValue().String(); got != "****-**-**" {
				t.Errorf("%#v.LogValue() = %q, want ****-**-**", tt.d, got)
			}
		})
	}
}

func TestDateBefore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b Date
		want bool
	}{
		{name: "earlier_year", a: Date{1969, 12, 31}, b: Date{1970, 1, 1}, want: true},
		{name: "later_year", a: Date{1971, 1, 1}, b: Date{1970, 12, 31}, want: false},
		{name: "earlier_month", a: Date{1970, 1, 31}, b: Date{1970, 2, 1}, want: true},
		{name: "earlier_day", a: Date{1970, 2, 1}, b: Date{1970, 2, 2}, want: true},
		{name: "later_day", a: Date{1970, 2, 3}, b: Date{1970, 2, 2}, want: false},
		{name: "equal", a: Date{1970, 2, 2}, b: Date{1970, 2, 2}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.a.Before(tt.b); got != tt.want {
				t.Errorf("%v.Before(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
