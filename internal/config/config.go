// Package config reads clinicbot's configuration from environment variables
// into a typed Config, once, in main. Every missing or bad variable is
// reported in one error; secrets redact themselves when printed or logged.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// Config is clinicbot's whole configuration. Field tags name the variables;
// README.md lists them all.
type Config struct {
	// Storage.
	DataDir     string    `env:"CLINICBOT_DATA_DIR" envDefault:"."`
	SQLitePath  string    `env:"CLINICBOT_SQLITE_PATH"`
	DatabaseURL SecretURL `env:"DATABASE_URL"`
	RedisURL    SecretURL `env:"REDIS_URL"`
	DataKey     Secret    `env:"CLINICBOT_DATA_KEY"`

	// Telegram.
	TelegramToken         Secret  `env:"TELEGRAM_BOT_TOKEN"`
	TelegramAPIEndpoint   string  `env:"TELEGRAM_API_ENDPOINT"`
	TelegramWebhookURL    string  `env:"TELEGRAM_WEBHOOK_URL"`
	TelegramWebhookSecret Secret  `env:"TELEGRAM_WEBHOOK_SECRET"`
	TelegramRate          float64 `env:"TELEGRAM_RATE" envDefault:"25"`
	TelegramChatRate      float64 `env:"TELEGRAM_CHAT_RATE" envDefault:"1"`

	// WhatsApp.
	WhatsAppEnabled bool      `env:"WHATSAPP_ENABLED" envDefault:"false"`
	WhatsAppStore   SecretURL `env:"WHATSAPP_STORE"`

	// Operations.
	HTTPAddr  string `env:"HTTP_ADDR" envDefault:":8080"`
	LogLevel  string `env:"LOG_LEVEL"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"auto"`

	// Conversation and booking rules.
	Lang              string        `env:"CLINICBOT_LANG" envDefault:"zh-HK"`
	Retention         Period        `env:"CLINICBOT_RETENTION" envDefault:"90d"`
	BookingLead       time.Duration `env:"CLINICBOT_BOOKING_LEAD" envDefault:"30m"`
	BookingWindowDays int           `env:"CLINICBOT_BOOKING_WINDOW_DAYS" envDefault:"3"`
	ScheduleDays      int           `env:"CLINICBOT_SCHEDULE_DAYS" envDefault:"14"`
	SessionTTL        time.Duration `env:"CLINICBOT_SESSION_TTL" envDefault:"15m"`
	Hold              time.Duration `env:"CLINICBOT_HOLD" envDefault:"3m"`
	UpdateTimeout     time.Duration `env:"CLINICBOT_UPDATE_TIMEOUT" envDefault:"30s"`
	ShutdownTimeout   time.Duration `env:"CLINICBOT_SHUTDOWN_TIMEOUT" envDefault:"20s"`

	// Limits on one booker (one chat): a caregiver of many clients on
	// WhatsApp raises them.
	MaxActivePerBooker int `env:"CLINICBOT_MAX_ACTIVE_PER_BOOKER" envDefault:"4"`
	MaxPatientsPerHour int `env:"CLINICBOT_MAX_PATIENTS_PER_HOUR" envDefault:"6"`

	// Reminders: how long ahead of the appointment (0: none), and the
	// hours (Hong Kong time) in which none is sent ("off": any hour).
	ReminderBefore time.Duration `env:"CLINICBOT_REMINDER_BEFORE" envDefault:"24h"`
	QuietHours     string        `env:"CLINICBOT_QUIET_HOURS" envDefault:"22:00-08:00"`
}

// Reminders is when the booking's reminder is sent, as configured.
func (c Config) Reminders() booking.Reminders {
	q, _ := booking.ParseQuietHours(c.QuietHours) // checked by Load
	return booking.Reminders{Before: c.ReminderBefore, Quiet: q, Location: booking.HongKong()}
}

// Error is every problem found in the configuration.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	return "config: " + strconv.Itoa(len(e.Problems)) + " problem(s): " + strings.Join(e.Problems, "; ")
}

// Load reads the configuration from environ (os.Environ's "KEY=value"
// form) and validates it. The error, an *Error, lists every problem.
func Load(environ []string) (Config, error) {
	var c Config
	var problems []string
	err := env.ParseWithOptions(&c, env.Options{Environment: env.ToMap(environ)})
	var agg env.AggregateError
	switch {
	case err == nil:
	case errors.As(err, &agg):
		for _, e := range agg.Errors {
			problems = append(problems, describe(e))
		}
	default:
		problems = append(problems, err.Error())
	}
	problems = append(problems, c.check()...)
	if len(problems) > 0 {
		return Config{}, &Error{Problems: problems}
	}
	if c.SQLitePath == "" {
		c.SQLitePath = filepath.Join(c.DataDir, "clinicbot.db")
	}
	return c, nil
}

// describe names the variable of a parse error rather than the Go field.
func describe(err error) string {
	var pe env.ParseError
	if errors.As(err, &pe) {
		name := pe.Name
		if f, ok := reflect.TypeFor[Config]().FieldByName(pe.Name); ok {
			name, _, _ = strings.Cut(f.Tag.Get("env"), ",")
		}
		return fmt.Sprintf("%s: %v", name, pe.Err)
	}
	return err.Error()
}

// maxPerBooker bounds the limits on one booker: a caregiver of many clients
// needs more than a family, but no chat needs more than this.
const maxPerBooker = 10000

var webhookSecretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// check returns the problems the variables' types cannot catch.
func (c *Config) check() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL.Reveal()); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			add("DATABASE_URL: want postgres://user:password@host:port/database")
		}
		if c.DataKey == "" {
			add("CLINICBOT_DATA_KEY: required when DATABASE_URL is set (every replica must seal with the same key)")
		}
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL.Reveal()); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			add("REDIS_URL: want redis://[:password@]host:port/db")
		}
	}
	if c.DataKey != "" && !validKey(c.DataKey.Reveal()) {
		add("CLINICBOT_DATA_KEY: want 32 bytes, base64 encoded (openssl rand -base64 32)")
	}
	if c.TelegramAPIEndpoint != "" && strings.Count(c.TelegramAPIEndpoint, "%s") != 2 {
		add("TELEGRAM_API_ENDPOINT: want a URL with two %%s, e.g. http://host:port/bot%%s/%%s")
	}
	if c.TelegramWebhookURL != "" {
		if u, err := url.Parse(c.TelegramWebhookURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			add("TELEGRAM_WEBHOOK_URL: want an absolute https URL")
		}
		if c.TelegramToken == "" {
			add("TELEGRAM_WEBHOOK_URL: set TELEGRAM_BOT_TOKEN too")
		}
		if c.TelegramWebhookSecret == "" {
			add("TELEGRAM_WEBHOOK_SECRET: required in webhook mode")
		}
	}
	if c.TelegramWebhookSecret != "" && !webhookSecretRE.MatchString(c.TelegramWebhookSecret.Reveal()) {
		add("TELEGRAM_WEBHOOK_SECRET: want 1-256 characters of A-Z, a-z, 0-9, _ and -")
	}
	// Telegram's own ceiling is 1,000 messages a second with paid broadcasts.
	if c.TelegramRate <= 0 || c.TelegramRate > 1000 {
		add("TELEGRAM_RATE: want messages a second overall, more than 0 and at most 1000")
	}
	if c.TelegramChatRate <= 0 || c.TelegramChatRate > max(c.TelegramRate, 0) {
		add("TELEGRAM_CHAT_RATE: want messages a second to one chat, more than 0 and at most TELEGRAM_RATE")
	}
	if c.WhatsAppStore != "" {
		if _, _, err := c.whatsAppStore(); err != nil {
			add("WHATSAPP_STORE: %v", err)
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		add("HTTP_ADDR: want host:port, e.g. :8080")
	}
	if c.LogLevel != "" {
		var l slog.Level
		if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
			add("LOG_LEVEL: want debug, info, warn or error")
		}
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		add("LOG_FORMAT: want auto, json or text")
	}
	if !locales.Supported(c.Lang) {
		add("CLINICBOT_LANG: want one of %s", strings.Join(locales.Languages(), ", "))
	}
	if c.Retention.Duration() < 24*time.Hour {
		add("CLINICBOT_RETENTION: want at least 1d")
	}
	if c.BookingLead < 0 {
		add("CLINICBOT_BOOKING_LEAD: must not be negative")
	}
	if c.BookingWindowDays < 1 || c.BookingWindowDays > 60 {
		add("CLINICBOT_BOOKING_WINDOW_DAYS: want 1 to 60")
	}
	if c.ScheduleDays < 1 || c.ScheduleDays > 366 {
		add("CLINICBOT_SCHEDULE_DAYS: want 1 to 366")
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"CLINICBOT_MAX_ACTIVE_PER_BOOKER", c.MaxActivePerBooker},
		{"CLINICBOT_MAX_PATIENTS_PER_HOUR", c.MaxPatientsPerHour},
	} {
		if n.v < 1 || n.v > maxPerBooker {
			add("%s: want 1 to %d", n.name, maxPerBooker)
		}
	}
	if c.ReminderBefore < 0 || c.ReminderBefore > 7*24*time.Hour {
		add("CLINICBOT_REMINDER_BEFORE: want 0 (no reminder) to 168h")
	}
	if _, err := booking.ParseQuietHours(c.QuietHours); err != nil {
		add("CLINICBOT_QUIET_HOURS: want HH:MM-HH:MM (Hong Kong time) or off")
	}
	// A hold outliving the conversation would keep a place from everyone
	// for a booker who can no longer accept it.
	if c.Hold < 10*time.Second || (c.SessionTTL > 0 && c.Hold > c.SessionTTL) {
		add("CLINICBOT_HOLD: want at least 10s and at most CLINICBOT_SESSION_TTL")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"CLINICBOT_SESSION_TTL", c.SessionTTL},
		{"CLINICBOT_UPDATE_TIMEOUT", c.UpdateTimeout},
		{"CLINICBOT_SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	} {
		if d.v <= 0 {
			add("%s: must be positive", d.name)
		}
	}
	return p
}

func validKey(s string) bool {
	_, err := booking.ParseKey(s)
	return err == nil
}

// Level returns the log level: LOG_LEVEL when set, otherwise def.
func (c Config) Level(def slog.Level) slog.Level {
	if c.LogLevel == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return def
	}
	return l
}

// Postgres reports whether bookings live in PostgreSQL.
func (c Config) Postgres() bool { return c.DatabaseURL != "" }

// KeyPath is where the embedded default keeps its data key: beside the
// SQLite file, with the extension .key.
func (c Config) KeyPath() string {
	return strings.TrimSuffix(c.SQLitePath, filepath.Ext(c.SQLitePath)) + ".key"
}

// Serves reports whether a chat network is configured (Telegram or
// WhatsApp); without one, serve chats in the terminal.
func (c Config) Serves() bool { return c.TelegramToken != "" || c.WhatsAppEnabled }

// Webhook reports whether Telegram runs in webhook mode.
func (c Config) Webhook() bool { return c.TelegramWebhookURL != "" }

// WhatsAppDB returns the whatsmeow device store's dialect ("sqlite" or
// "postgres", as bot/whatsapp.OpenDeviceStore takes them) and DSN.
// WHATSAPP_STORE is either a postgres:// URL or sqlite:PATH; unset, it is
// DATABASE_URL when that is set, otherwise whatsapp.db in the data directory.
func (c Config) WhatsAppDB() (dialect, dsn string) {
	d, a, err := c.whatsAppStore()
	if err != nil {
		return "", ""
	}
	return d, a
}

func (c Config) whatsAppStore() (dialect, dsn string, err error) {
	raw := c.WhatsAppStore.Reveal()
	switch {
	case raw == "" && c.DatabaseURL != "":
		return "postgres", c.DatabaseURL.Reveal(), nil
	case raw == "":
		return "sqlite", "file:" + filepath.Join(c.DataDir, "whatsapp.db"), nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return "postgres", raw, nil
	case strings.HasPrefix(raw, "sqlite:") && len(raw) > len("sqlite:") && !strings.ContainsRune(raw, '?'):
		return "sqlite", "file:" + strings.TrimPrefix(raw, "sqlite:"), nil
	}
	return "", "", errors.New("want postgres://... or sqlite:PATH")
}

// String describes the configuration with every secret redacted.
func (c Config) String() string {
	var b strings.Builder
	for i, a := range c.attrs() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a.Key + "=" + a.Value.String())
	}
	return b.String()
}

// LogValue describes the configuration for log/slog, secrets redacted.
func (c Config) LogValue() slog.Value { return slog.GroupValue(c.attrs()...) }

func (c Config) attrs() []slog.Attr {
	set := func(s Secret) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	return []slog.Attr{
		slog.String("sqlite_path", c.SQLitePath),
		slog.String("database_url", c.DatabaseURL.String()),
		slog.String("redis_url", c.RedisURL.String()),
		slog.String("data_key", set(c.DataKey)),
		slog.String("telegram_bot_token", set(c.TelegramToken)),
		slog.String("telegram_api_endpoint", c.TelegramAPIEndpoint),
		slog.String("telegram_webhook_url", c.TelegramWebhookURL),
		slog.String("telegram_webhook_secret", set(c.TelegramWebhookSecret)),
		slog.Bool("whatsapp_enabled", c.WhatsAppEnabled),
		slog.String("whatsapp_store", c.WhatsAppStore.String()),
		slog.String("http_addr", c.HTTPAddr),
		slog.String("lang", c.Lang),
		slog.String("retention", c.Retention.String()),
		slog.Duration("booking_lead", c.BookingLead),
		slog.Int("booking_window_days", c.BookingWindowDays),
		slog.Int("schedule_days", c.ScheduleDays),
		slog.Duration("session_ttl", c.SessionTTL),
		slog.Duration("hold", c.Hold),
		slog.Duration("update_timeout", c.UpdateTimeout),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.Int("max_active_per_booker", c.MaxActivePerBooker),
		slog.Int("max_patients_per_hour", c.MaxPatientsPerHour),
		slog.Duration("reminder_before", c.ReminderBefore),
		slog.String("quiet_hours", c.QuietHours),
	}
}
