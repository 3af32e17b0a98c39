package config

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(nil)
	if err != nil {
		t.Fatalf("Load(nil) = %v", err)
	}
	want := Config{
		DataDir:            ".",
		SQLitePath:         filepath.Join(".", "clinicbot.db"),
		HTTPAddr:           ":8080",
		LogFormat:          "auto",
		Lang:               "zh-HK",
		Retention:          Period(90 * 24 * time.Hour),
		BookingLead:        30 * time.Minute,
		BookingWindowDays:  3,
		ScheduleDays:       14,
		SessionTTL:         15 * time.Minute,
		UpdateTimeout:      30 * time.Second,
		ShutdownTimeout:    20 * time.Second,
		TelegramRate:       25,
		TelegramChatRate:   1,
		MaxActivePerBooker: 4,
		MaxPatientsPerHour: 6,
		Hold:               3 * time.Minute,
		ReminderBefore:     24 * time.Hour,
		QuietHours:         "22:00-08:00",
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Load(nil) (-want +got):\n%s", diff)
	}
	if got, want := c.KeyPath(), "clinicbot.key"; got != want {
		t.Errorf("KeyPath() = %q, want %q", got, want)
	}
	if d, a := c.WhatsAppDB(); d != "sqlite" || a != "file:whatsapp.db" {
		t.Errorf("WhatsAppDB() = %q, %q; want sqlite, file:whatsapp.db", d, a)
	}
}

func TestLoadProduction(t *testing.T) {
	t.Parallel()
	c, err := Load([]string{
		"DATABASE_URL=postgres://bot:pw@db:5432/clinicbot",
		"REDIS_URL=redis://:pw@redis:6379/0",
		"CLINICBOT_DATA_KEY=" + key,
		"TELEGRAM_BOT_TOKEN=123:abc",
		"TELEGRAM_WEBHOOK_URL=https://bot.example.org/telegram",
		"TELEGRAM_WEBHOOK_SECRET=s3cret_-",
		"WHATSAPP_ENABLED=true",
		"CLINICBOT_RETENTION=30d",
		"CLINICBOT_DATA_DIR=/data",
		"LOG_LEVEL=debug",
		"TELEGRAM_RATE=1000",
		"TELEGRAM_CHAT_RATE=2.5",
	})
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	if c.TelegramRate != 1000 || c.TelegramChatRate != 2.5 {
		t.Errorf("TelegramRate, TelegramChatRate = %v, %v; want 1000, 2.5", c.TelegramRate, c.TelegramChatRate)
	}
	if !c.Postgres() || !c.Webhook() || !c.WhatsAppEnabled {
		t.Errorf("Postgres, Webhook, WhatsAppEnabled = %v, %v, %v; want all true", c.Postgres(), c.Webhook(), c.WhatsAppEnabled)
	}
	if d, a := c.WhatsAppDB(); d != "postgres" || a != "postgres://bot:pw@db:5432/clinicbot" {
		t.Errorf("WhatsAppDB() = %q, %q; want the DATABASE_URL", d, a)
	}
	if got := c.Retention.Duration(); got != 30*24*time.Hour {
		t.Errorf("Retention = %v, want 720h", got)
	}
	if got := c.Level(slog.LevelInfo); got != slog.LevelDebug {
		t.Errorf("Level = %v, want DEBUG", got)
	}
	if c.SQLitePath != "/data/clinicbot.db" {
		t.Errorf("SQLitePath = %q, want /data/clinicbot.db", c.SQLitePath)
	}
}

// TestLoadReportsEveryProblem: several bad variables give one error that
// names each of them.
func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := Load([]string{
		"DATABASE_URL=mysql://db/x",          // wrong scheme, and no data key
		"REDIS_URL=localhost:6379",           // not a URL
		"CLINICBOT_RETENTION=ninety",         // parse error (env)
		"CLINICBOT_BOOKING_WINDOW_DAYS=many", // parse error (env)
		"WHATSAPP_ENABLED=perhaps",           // parse error (env)
		"TELEGRAM_WEBHOOK_URL=https://x.example/hook",
		"TELEGRAM_API_ENDPOINT=http://127.0.0.1/bot",
		"HTTP_ADDR=8080",
		"LOG_LEVEL=loud",
		"LOG_FORMAT=xml",
		"CLINICBOT_LANG=fr",
		"CLINICBOT_SESSION_TTL=-1s",
		"TELEGRAM_RATE=1001",   // above paid broadcasts' 1,000
		"TELEGRAM_CHAT_RATE=0", // must be positive
		"CLINICBOT_MAX_ACTIVE_PER_BOOKER=0",
		"CLINICBOT_MAX_PATIENTS_PER_HOUR=lots", // parse error (env)
		"CLINICBOT_HOLD=5s",
		"CLINICBOT_REMINDER_BEFORE=-1h",
		"CLINICBOT_QUIET_HOURS=night",
	})
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Load = %v (%T), want *config.Error", err, err)
	}
	wantVars := []string{
		"DATABASE_URL", "CLINICBOT_DATA_KEY", "REDIS_URL", "CLINICBOT_RETENTION", "CLINICBOT_BOOKING_WINDOW_DAYS",
		"WHATSAPP_ENABLED", "TELEGRAM_WEBHOOK_URL: set TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET",
		"TELEGRAM_API_ENDPOINT", "HTTP_ADDR", "LOG_LEVEL", "LOG_FORMAT", "CLINICBOT_LANG", "CLINICBOT_SESSION_TTL",
		"TELEGRAM_RATE", "TELEGRAM_CHAT_RATE",
		"CLINICBOT_MAX_ACTIVE_PER_BOOKER", "CLINICBOT_MAX_PATIENTS_PER_HOUR",
		"CLINICBOT_HOLD", "CLINICBOT_REMINDER_BEFORE", "CLINICBOT_QUIET_HOURS",
	}
	for _, v := range wantVars {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not mention %s:\n%v", v, err)
		}
	}
	if len(ce.Problems) < len(wantVars) {
		t.Errorf("%d problems, want at least %d:\n%s", len(ce.Problems), len(wantVars), strings.Join(ce.Problems, "\n"))
	}
	// Parse errors name the variable, not the Go field.
	if strings.Contains(err.Error(), "BookingWindowDays") {
		t.Errorf("error names a Go field: %v", err)
	}
}

func TestLoadHoldWithinSession(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env []string
		ok  bool
	}{
		{[]string{"CLINICBOT_HOLD=90s"}, true},
		{[]string{"CLINICBOT_HOLD=15m"}, true},
		{[]string{"CLINICBOT_HOLD=16m"}, false},
		{[]string{"CLINICBOT_HOLD=20m", "CLINICBOT_SESSION_TTL=30m"}, true},
		{[]string{"CLINICBOT_HOLD=0s"}, false},
		{[]string{"CLINICBOT_HOLD=soon"}, false},
	} {
		c, err := Load(tt.env)
		if (err == nil) != tt.ok {
			t.Errorf("Load(%v) = %v, want ok %v", tt.env, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "CLINICBOT_HOLD") {
			t.Errorf("Load(%v) = %v, want it to name CLINICBOT_HOLD", tt.env, err)
		}
		if tt.ok && tt.env[0] == "CLINICBOT_HOLD=90s" && c.Hold != 90*time.Second {
			t.Errorf("Load(%v).Hold = %v, want 90s", tt.env, c.Hold)
		}
	}
}

func TestLoadBadKey(t *testing.T) {
	t.Parallel()
	_, err := Load([]string{"CLINICBOT_DATA_KEY=short"})
	if err == nil || !strings.Contains(err.Error(), "CLINICBOT_DATA_KEY") {
		t.Errorf("Load(short key) = %v, want a CLINICBOT_DATA_KEY problem", err)
	}
}

// TestSecretsRedacted: no printed or logged form of a Config shows a secret.
func TestSecretsRedacted(t *testing.T) {
	t.Parallel()
	secrets := []string{"tok-SECRET-123", "dbPASSWORD", "redisPASSWORD", "hookSECRET", key}
	c, err := Load([]string{
		"DATABASE_URL=postgres://bot:dbPASSWORD@db:5432/clinicbot?sslmode=disable",
		"REDIS_URL=redis://:redisPASSWORD@redis:6379/0",
		"CLINICBOT_DATA_KEY=" + key,
		"TELEGRAM_BOT_TOKEN=tok-SECRET-123",
		"TELEGRAM_WEBHOOK_URL=https://bot.example.org/telegram",
		"TELEGRAM_WEBHOOK_SECRET=hookSECRET",
	})
	if err != nil {
		t.Fatalf("Load = %v", err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c, "token", c.TelegramToken, "db", c.DatabaseURL)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)
	forms := map[string]string{
		"String": c.String(),
		"%v":     fmt.Sprintf("%v", c),
		"%+v":    fmt.Sprintf("%+v", c),
		"%#v":    fmt.Sprintf("%#v", c),
		"slog":   logged.String(),
	}
	for name, s := range forms {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s form shows secret %q:\n%s", name, secret, s)
			}
		}
	}
	if !strings.Contains(c.String(), "db:5432") || !strings.Contains(c.String(), "redis:6379") {
		t.Errorf("String() hides the hosts too: %s", c)
	}
	if c.TelegramToken.Reveal() != "tok-SECRET-123" {
		t.Errorf("Reveal() = %q", c.TelegramToken.Reveal())
	}
}

func TestSecretURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"postgres://u:p@h:5432/d", "postgres://u:xxxxx@h:5432/d"},
		{"postgres://u@h/d", "postgres://u@h/d"},
		{"postgres://h/d?password=p&sslmode=disable", "postgres://h/d?password=xxxxx&sslmode=disable"},
		{"host=h password=p", "[redacted]"},
		{"redis://:p@h:6379/0", "redis://:xxxxx@h:6379/0"},
	}
	for _, tt := range tests {
		if got := SecretURL(tt.in).String(); got != tt.want {
			t.Errorf("SecretURL(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPeriod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{" 7d ", 7 * 24 * time.Hour, true},
		{"90", 0, false},
		{"d", 0, false},
		{"-3d", 0, false},
		{"ninety", 0, false},
	}
	for _, tt := range tests {
		var p Period
		err := p.UnmarshalText([]byte(tt.in))
		if (err == nil) != tt.ok || (tt.ok && p.Duration() != tt.want) {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, ok %v", tt.in, p.Duration(), err, tt.want, tt.ok)
		}
	}
	if got := Period(90 * 24 * time.Hour).String(); got != "90d" {
		t.Errorf("String() = %q, want 90d", got)
	}
}

func FuzzPeriod(f *testing.F) {
	for _, s := range []string{"90d", "36h", "1h30m", "", "9999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p Period
		if err := p.UnmarshalText([]byte(s)); err != nil {
			return
		}
		var q Period
		if err := q.UnmarshalText([]byte(p.String())); err != nil || q != p {
			t.Fatalf("round trip %q -> %q -> %v, %v", s, p.String(), q, err)
		}
	})
}

func TestReminders(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		env    []string
		before time.Duration
		quiet  string
	}{
		{nil, 24 * time.Hour, "22:00-08:00"},
		{[]string{"CLINICBOT_REMINDER_BEFORE=0", "CLINICBOT_QUIET_HOURS=off"}, 0, "off"},
		{[]string{"CLINICBOT_REMINDER_BEFORE=2h", "CLINICBOT_QUIET_HOURS=23:00-07:30"}, 2 * time.Hour, "23:00-07:30"},
	} {
		c, err := Load(tt.env)
		if err != nil {
			t.Fatalf("Load(%v) = %v", tt.env, err)
		}
		r := c.Reminders()
		if r.Before != tt.before || r.Quiet.String() != tt.quiet {
			t.Errorf("Load(%v).Reminders() = %v %v, want %v %s", tt.env, r.Before, r.Quiet, tt.before, tt.quiet)
		}
	}
}
