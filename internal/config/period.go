package config

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Period is a length of time written in days ("90d") or as a Go duration
// ("36h"). It reads CLINICBOT_RETENTION.
type Period time.Duration

// Duration returns p as a time.Duration.
func (p Period) Duration() time.Duration { return time.Duration(p) }

// String writes whole days as "90d", anything else as a Go duration.
func (p Period) String() string {
	d := time.Duration(p)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// UnmarshalText parses "90d" or a Go duration such as "36h".
func (p *Period) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*366 {
			return errors.New("want a number of days such as 90d, or a duration such as 36h")
		}
		*p = Period(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a number of days such as 90d, or a duration such as 36h")
	}
	*p = Period(d)
	return nil
}
