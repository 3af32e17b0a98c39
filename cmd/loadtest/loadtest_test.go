package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
	"github.com/clinicbot/clinicbot/dialog"
	"github.com/clinicbot/clinicbot/internal/testenv"
	"github.com/clinicbot/clinicbot/locales"
)

func TestNewPatientHKIDValid(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for _, i := range []int{0, 1, 9, 10, 999_999, 1_000_000, 12_345_678, 25_999_999} {
		p, err := newPatient(i)
		if err != nil {
			t.Fatalf("newPatient(%d) = %v", i, err)
		}
		if _, err := booking.ParseHKID(p.HKID); err != nil {
			t.Errorf("ParseHKID(%q) = %v, want a valid HKID", p.HKID, err)
		}
		if _, err := booking.ParseMobile(p.Mobile); err != nil {
			t.Errorf("ParseMobile(%q) = %v, want a valid mobile", p.Mobile, err)
		}
		if seen[p.HKID] {
			t.Errorf("newPatient(%d) repeats HKID %q", i, p.HKID)
		}
		seen[p.HKID] = true
	}
	if _, err := newPatient(26_000_000); err == nil {
		t.Errorf("newPatient(26000000) = nil error, want out of range")
	}
}

func TestLongestPlain(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"請選擇：", "請選擇："},
		{"{region}所有診所名額已滿，請按 /back 返回選擇其他地區。", "所有診所名額已滿，請按 /back 返回選擇其他地區。"},
		{"出生日期：{date}，正確嗎？\nsecond line", "出生日期："},
	}
	for _, tt := range tests {
		if got := longestPlain(tt.raw); got != tt.want {
			t.Errorf("longestPlain(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// TestSurgeSmall runs a small surge end to end against the test services:
// 50 bookers for 10 places, every invariant checked by the tool itself.
// It checks correctness, not speed: the router's per-update deadline is
// raised so that a slow or busy machine cannot turn a late answer into a
// "try again" reply and fail the run.
func TestSurgeSmall(t *testing.T) {
	pg := testenv.PostgresURL(t)
	rd := patientRedis(testenv.RedisURL(t))
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-mode=surge", "-bookers=50", "-places=10", "-arrival=1s",
		"-postgres=" + pg, "-redis=" + rd, "-timeout=120s", "-update-timeout=60s"}, &out, &errs)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("run(surge) = %v; stderr: %s", err, errs.String())
	}
	for _, want := range []string{"PASS  exactly the places were booked", "PASS  everyone else was told the quota is full", "PASS  no booking without an accept"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "FAIL") {
		t.Errorf("report has a FAIL")
	}
}

// TestThroughputTelegramSmall plays a few bookers through the Telegram
// adapter and the fake Bot API server, with enquiries and cancels.
func TestThroughputTelegramSmall(t *testing.T) {
	pg := testenv.PostgresURL(t)
	rd := patientRedis(testenv.RedisURL(t))
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-mode=throughput", "-path=telegram", "-telegram-limit=false", "-v",
		"-bookers=20", "-concurrency=10", "-enquire=0.2", "-cancel=0.2",
		"-postgres=" + pg, "-redis=" + rd, "-timeout=120s", "-update-timeout=60s"}, &out, &errs)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("run(throughput telegram) = %v; stderr: %s", err, errs.String())
	}
	for _, line := range []string{"Telegram calls per booking", "Telegram calls by method"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("report lacks %q", line)
		}
	}
}

func TestChatCalls(t *testing.T) {
	calls := []telegramtest.Call{
		{Method: "getUpdates"},
		{Method: "sendMessage", ChatID: 1},
		{Method: "answerCallbackQuery", ChatID: 1},
		{Method: "editMessageText", ChatID: 1},
		{Method: "deleteMessage", ChatID: 2},
		{Method: "sendMessage", ChatID: 2},
		{Method: "setMyCommands"},
	}
	// Only sends and edits count; every chat call is listed.
	n, by := chatCalls(calls)
	if want := "answerCallbackQuery 1, deleteMessage 1, editMessageText 1, sendMessage 2"; n != 3 || by != want {
		t.Errorf("chatCalls = %d, %q; want 3, %q", n, by, want)
	}
}

// TestThroughputMemorySessionsSmall runs the router with sessions in
// process, as the embedded default keeps them, and measures what a held
// session costs the process.
func TestThroughputMemorySessionsSmall(t *testing.T) {
	pg := testenv.PostgresURL(t)
	rd := patientRedis(testenv.RedisURL(t))
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-mode=throughput", "-sessions=memory", "-bookers=20", "-concurrency=10", "-hold=20",
		"-postgres=" + pg, "-redis=" + rd, "-timeout=120s", "-update-timeout=60s"}, &out, &errs)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("run(throughput, memory sessions) = %v; stderr: %s", err, errs.String())
	}
	for _, want := range []string{"process heap per active session", "memory sessions", "PASS  every booker finished its conversation"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "Redis per active session") {
		t.Errorf("report measures Redis sessions, but sessions were kept in process")
	}
}

func TestParseFlagsRefuses(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"unknown_mode":  {"-mode=soak"},
		"unknown_path":  {"-path=whatsapp"},
		"unknown_drill": {"-drills=disk"},
		"shares":        {"-enquire=0.7", "-cancel=0.7"},
		"no_bookers":    {"-bookers=-1"},
		"sessions":      {"-sessions=disk"},
		"memory_faults": {"-mode=faults", "-sessions=memory"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			var errs bytes.Buffer
			if _, err := parseFlags(args, &errs); err == nil {
				t.Errorf("parseFlags(%q) = nil error, want a refusal", args)
			}
		})
	}
}

func TestReminderFlags(t *testing.T) {
	t.Parallel()
	c, err := parseFlags([]string{"-mode=reminders"}, io.Discard)
	if err != nil || c.bookers != 10000 || c.noticeRate != 300 || c.killAt != 0.4 {
		t.Errorf("parseFlags(-mode=reminders) = %d bookers, rate %v, kill at %v, %v; want 10000, 300, 0.4", c.bookers, c.noticeRate, c.killAt, err)
	}
	for _, bad := range [][]string{
		{"-mode=reminders", "-kill-at=1"},
		{"-mode=reminders", "-notice-rate=0"},
		{"-mode=reminders", "-lease=0s"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%v) = nil error, want a refusal", bad)
		}
	}
}

// TestSurgeTelegramSmall runs a small surge through the Telegram adapter
// with its send limits on, against a fake Bot API that answers 429 above
// Telegram's limit.
func TestSurgeTelegramSmall(t *testing.T) {
	pg := testenv.PostgresURL(t)
	rd := patientRedis(testenv.RedisURL(t))
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-mode=surge", "-path=telegram", "-bookers=20", "-places=5", "-arrival=1s",
		"-come-back=1s", "-postgres=" + pg, "-redis=" + rd, "-timeout=120s", "-update-timeout=60s"}, &out, &errs)
	t.Log(out.String())
	if err != nil {
		t.Fatalf("run(surge telegram) = %v; stderr: %s", err, errs.String())
	}
	for _, line := range []string{"asked to come back (bookers, replies)", "time to first reply", "time to booking",
		"Telegram calls per booking", "Telegram 429 answers"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("report lacks %q", line)
		}
	}
}

// TestBusyScreen: the waiting message is a screen of its own, on both
// paths, not an unknown one or an apology.
func TestBusyScreen(t *testing.T) {
	cat := locales.MustLoad()
	text := cat.Text(locales.Default, "busy.wait", nil)
	if st := screenOf(dialog.Result{Replies: []dialog.Reply{{Key: "busy.wait", Text: text}}}).step; st != stBusy {
		t.Errorf("router path: step = %v, want busy", st)
	}
	var keys []string
	for _, s := range signatures() {
		if strings.Contains(text, s.text) {
			keys = append(keys, s.key)
		}
	}
	if st := classify(screen{keys: keys}); st != stBusy {
		t.Errorf("telegram path: step = %v (keys %v), want busy", st, keys)
	}
	// "No places in either service" heads the menu, in one message.
	full := screen{keys: []string{"service.none", "menu.prompt"}, options: []string{"book", "enq", "cxl"}}
	if st := classify(full); st != stQuotaFull {
		t.Errorf("telegram path, no places with the menu: step = %v, want quota_full", st)
	}
}

// patientRedis gives the small runs' Redis client the time a machine
// running every package's tests under the race detector may take to
// answer. The bot's own bounds (500 ms a read, see redisstore.ClientOptions)
// are for production, where a Redis that slow is failing: here it would
// turn a slow CI machine into apologies (and a lock left to expire) that
// say nothing of the tool these tests check.
func patientRedis(url string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "dial_timeout=5s&read_timeout=5s&write_timeout=5s&pool_timeout=10s"
}
