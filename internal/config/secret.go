package config

import (
	"log/slog"
	"net/url"
)

// redacted stands in for a secret in every printed form.
const redacted = "[redacted]"

// Secret is a configuration value that must never be printed: a bot token,
// a data key, a webhook secret. String, GoString and LogValue redact it;
// Reveal returns it for the one place that uses it.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String redacts the secret; an unset secret prints as empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts the secret for %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// LogValue redacts the secret for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the secret for encoders (JSON logs of a Config).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SecretURL is a connection URL that may carry a password, such as
// DATABASE_URL or REDIS_URL. Its printed forms keep the scheme, host and
// path but hide the password; a value that is not a URL is hidden whole.
type SecretURL string

// Reveal returns the URL itself.
func (u SecretURL) Reveal() string { return string(u) }

// String returns the URL with its password redacted.
func (u SecretURL) String() string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(string(u))
	if err != nil || p.Scheme == "" || p.Opaque != "" {
		return redacted
	}
	if p.User != nil {
		if _, has := p.User.Password(); has {
			p.User = url.UserPassword(p.User.Username(), "xxxxx")
		}
	}
	// Query parameters may carry a password too (password=..., sslpassword=...).
	if q := p.Query(); len(q) > 0 {
		for k := range q {
			switch k {
			case "password", "sslpassword", "sslkey", "passfile":
				q.Set(k, "xxxxx")
			}
		}
		p.RawQuery = q.Encode()
	}
	return p.String()
}

// GoString redacts the URL for %#v.
func (u SecretURL) GoString() string { return `"` + u.String() + `"` }

// LogValue redacts the URL for log/slog.
func (u SecretURL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalText redacts the URL for encoders.
func (u SecretURL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }
