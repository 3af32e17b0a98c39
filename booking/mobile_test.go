package booking

import "testing"

func TestParseMobile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   Mobile
		reason Reason
	}{
		{name: "plain", in: "91234578", want: "91234578"},
		{name: "spaced", in: "9123 4578", want: "91234578"},
		{name: "dashed", in: "9123-4578", want: "91234578"},
		{name: "plus_852", in: "+852 9123 4578", want: "91234578"},
		{name: "plus_852_dash", in: "+852-91234578", want: "91234578"},
		{name: "bare_852", in: "85291234578", want: "91234578"},
		{name: "bracketed_852", in: "(852) 9123 4578", want: "91234578"},
		{name: "plus_bracketed", in: "+(852)91234578", want: "91234578"},
		{name: "bracketed_plus", in: "(+852)91234578", want: "91234578"},
		{name: "fullwidth", in: "＋８５２　９１２３　４５７８", want: "91234578"},
		{name: "first_digit_4", in: "41234567", want: "41234567"},
		{name: "first_digit_5", in: "51234567", want: "51234567"},
		{name: "starts_852", in: "85212345", want: "85212345"},
		{name: "empty", in: "", reason: ReasonEmpty},
		{name: "blank", in: " - ", reason: ReasonEmpty},
		{name: "fixed_line", in: "21234567", reason: ReasonNotMobile},
		{name: "first_digit_3", in: "+852 3123 4567", reason: ReasonNotMobile},
		{name: "first_digit_0", in: "01234567", reason: ReasonNotMobile},
		{name: "seven_digits", in: "9123457", reason: ReasonFormat},
		{name: "nine_digits", in: "912345789", reason: ReasonFormat},
		{name: "other_country", in: "+86 13812345678", reason: ReasonFormat},
		{name: "plus_without_code", in: "+91234578", reason: ReasonFormat},
		{name: "letters", in: "9123abcd", reason: ReasonFormat},
		{name: "852_twice", in: "+852 852 91234578", reason: ReasonFormat},
		{name: "dots", in: "9123.4578", reason: ReasonFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseMobile(tt.in)
			checkValidation(t, "mobile", tt.reason, err)
			if got != tt.want {
				t.Errorf("ParseMobile(%q) = %q, want %q", tt.in, string(got), string(tt.want))
			}
		})
	}
}

func TestMobileFormats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		m           Mobile
		wantMasked  string
		wantDisplay string
	}{
		{name: "mobile", m: "91234578", wantMasked: "9***-**78", wantDisplay: "9123 4578"},
		{name: "zero", m: "", wantMasked: "", wantDisplay: ""},
		{name: "not_parsed", m: "+85291234578", wantMasked: "**********78", wantDisplay: "+85291234578"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.m.Masked(); got != tt.wantMasked {
				t.Errorf("Mobile(%q).Masked() = %q, want %q", string(tt.m), got, tt.wantMasked)
			}
			if got := tt.m.String(); got != tt.wantMasked {
				t.Errorf("Mobile(%q).String() = %q, want %q", string(tt.m), got, tt.wantMasked)
			}
			if got := tt.m.LogValue().String(); got != tt.wantMasked {
				t.Errorf("Mobile(%q).LogValue() = %q, want %q", string(tt.m), got, tt.wantMasked)
			}
			if got := tt.m.Display(); got != tt.wantDisplay {
				t.Errorf("Mobile(%q).Display() = %q, want %q", string(tt.m), got, tt.wantDisplay)
			}
		})
	}
}

func TestMaskTail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    string
		keep int
		want string
	}{
		{name: "phone", s: "85291234578", keep: 4, want: "*******4578"},
		{name: "exactly_keep", s: "1234", keep: 4, want: "****"},
		{name: "shorter_than_keep", s: "12", keep: 4, want: "**"},
		{name: "empty", s: "", keep: 4, want: ""},
		{name: "keep_zero", s: "1234", keep: 0, want: "****"},
		{name: "keep_negative", s: "1234", keep: -1, want: "****"},
		{name: "runes", s: "陳大文先生", keep: 2, want: "***先生"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := maskTail(tt.s, tt.keep); got != tt.want {
				t.Errorf("maskTail(%q, %d) = %q, want %q", tt.s, tt.keep, got, tt.want)
			}
		})
	}
}
