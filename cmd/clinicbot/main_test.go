package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/postgres"
	"github.com/clinicbot/clinicbot/booking/sqlite"
	"github.com/clinicbot/clinicbot/bot/console"
	"github.com/clinicbot/clinicbot/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds clinicbot once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "clinicbot-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "clinicbot")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// result is what one run of the binary gave.
type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary with exactly env as its environment.
func runBin(t *testing.T, env []string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return r
}

// backend is where a test's bookings live: the embedded SQLite default or a
// PostgreSQL schema of its own.
type backend struct {
	name string
	env  []string
	open func(ctx context.Context) (booking.Store, error)
}

func sqliteBackend(t *testing.T) backend {
	dir := t.TempDir()
	return backend{
		name: "sqlite",
		env:  []string{"CLINICBOT_DATA_DIR=" + dir},
		open: func(ctx context.Context) (booking.Store, error) {
			return sqlite.Open(ctx, filepath.Join(dir, "clinicbot.db"))
		},
	}
}

func postgresBackend(t *testing.T) backend {
	u := testenv.PostgresSchema(t)
	key := make([]byte, 32)
	rand.Read(key)
	return backend{
		name: "postgres",
		env: []string{
			"CLINICBOT_DATA_DIR=" + t.TempDir(),
			"DATABASE_URL=" + u,
			"CLINICBOT_DATA_KEY=" + base64.StdEncoding.EncodeToString(key),
		},
		open: func(ctx context.Context) (booking.Store, error) { return postgres.Open(ctx, u) },
	}
}

// blocks splits the chat's output into its reply blocks.
func blocks(out string) []string {
	parts := strings.Split(out, console.Separator+"\n")
	if len(parts) > 0 && strings.TrimSpace(parts[0]) == "" {
		parts = parts[1:]
	}
	return parts
}

// The scripted conversations, zh-HK, typed as a booker would: by the
// options' words rather than their numbers, so that they do not depend on
// the date or on which clinics have places.
var (
	scriptBook = []string{"為他人預約", "身份證", "A123456(3)", "1970", "是", "91234567", "確定", "指定診所", "香港", "環翠", "接納預約", "離開"}
	// Enquiry and cancel name the booked clinic to verify.
	scriptEnquire = []string{"為他人查詢", "身份證", "A123456(3)", "1970/1/1", "是", "環翠", "確定", "離開"}
	scriptCancel  = []string{"為他人取消", "身份證", "A123456(3)", "01/01/1970", "是", "環翠", "確定", "取消預約", "是", "離開"}
)

// TestChat drives the built binary's terminal chat through standard input:
// a booking, an enquiry and a cancellation, checked in the replies and in
// the store.
func TestChat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		backend func(*testing.T) backend
	}{
		{"sqlite", sqliteBackend},
		{"postgres", postgresBackend},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testChat(t, tt.backend(t))
		})
	}
}

func testChat(t *testing.T, be backend) {
	ctx := t.Context()
	chat := func(script []string, wantStages ...string) []string {
		t.Helper()
		r := runBin(t, be.env, strings.Join(script, "\n")+"\n", "chat")
		if r.code != 0 {
			t.Fatalf("chat exited %d\nstderr:\n%s", r.code, r.stderr)
		}
		for _, pd := range []string{"A123456", "91234567", "1970"} {
			if strings.Contains(r.stderr, pd) {
				t.Errorf("the log shows personal data %q:\n%s", pd, r.stderr)
			}
		}
		bl := blocks(r.stdout)
		// One block for the opening menu, then one per input line.
		if len(bl) != len(script)+1 {
			t.Fatalf("%d reply blocks, want %d:\n%s", len(bl), len(script)+1, r.stdout)
		}
		// Each stage's text appears in order, each in a later block.
		i := 0
		for _, stage := range wantStages {
			for i < len(bl) && !strings.Contains(bl[i], stage) {
				i++
			}
			if i == len(bl) {
				t.Fatalf("no reply block (in order) contains %q:\n%s", stage, r.stdout)
			}
		}
		return bl
	}
	bookings := func() []booking.Booking {
		t.Helper()
		s, err := be.open(ctx)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		defer s.Close()
		now := time.Now()
		bs, err := s.Bookings(ctx, booking.BookingQuery{From: now.Add(-24 * time.Hour), To: now.Add(30 * 24 * time.Hour)})
		if err != nil {
			t.Fatalf("Bookings: %v", err)
		}
		return bs
	}

	t.Run("book", func(t *testing.T) {
		bl := chat(scriptBook, "請選擇", "身份證號碼", "出生日期", "1970年1月1日", "手提電話號碼", "確認已獲病人的同意", "名額狀況以供參考", "香港", "系統安排最早的診症時段", "預約成功")
		done := bl[len(bl)-2]
		for _, s := range []string{"環翠普通科門診診所", "A123***(*)", "香港時間", ".ics"} {
			if !strings.Contains(done, s) {
				t.Errorf("the success reply lacks %q:\n%s", s, done)
			}
		}
		bs := bookings()
		if len(bs) != 1 {
			t.Fatalf("%d bookings in the store, want 1", len(bs))
		}
		b := bs[0]
		if b.Status != booking.StatusActive || b.Slot.ClinicID != "wan-tsui" || b.Slot.Service != booking.ServiceClinic ||
			b.Booker != console.Booker || b.PatientMasked != "A123***(*)" {
			t.Errorf("booking = %+v, want active at wan-tsui by the console booker", b)
		}
		if !strings.Contains(done, string(b.Reference)) {
			t.Errorf("the success reply does not give the reference %s:\n%s", b.Reference, done)
		}
	})
	t.Run("enquire", func(t *testing.T) {
		bl := chat(scriptEnquire, "請選擇", "身份證號碼", "出生日期", "已預約之指定診所或視像診症服務", "確認已獲病人的同意", "查詢完成")
		ref := bookings()[0].Reference
		if !strings.Contains(bl[len(bl)-2], string(ref)) {
			t.Errorf("the enquiry result does not give the reference %s:\n%s", ref, bl[len(bl)-2])
		}
	})
	t.Run("cancel", func(t *testing.T) {
		chat(scriptCancel, "請選擇", "身份證號碼", "01/01/1970", "已預約之指定診所或視像診症服務", "確認已獲病人的同意", "取消預約", "確定取消", "取消完成")
		bs := bookings()
		if len(bs) != 1 || bs[0].Status != booking.StatusCancelled {
			t.Fatalf("bookings after cancel = %+v, want the one booking cancelled", bs)
		}
	})
	t.Run("bookings_list", func(t *testing.T) {
		b := bookings()[0]
		date := b.Slot.Start.In(booking.HongKong()).Format(time.DateOnly)
		r := runBin(t, be.env, "", "bookings", "list", "--date", date, "--clinic", "wan-tsui")
		if r.code != 0 {
			t.Fatalf("bookings list exited %d: %s", r.code, r.stderr)
		}
		for _, s := range []string{"環翠普通科門診診所", string(b.Reference), "A123***(*)", "cancelled"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("bookings list lacks %q:\n%s", s, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "A123456") {
			t.Errorf("bookings list shows the document number:\n%s", r.stdout)
		}
	})
}

// TestChatEnglish: --lang picks the conversation's language, and the chat
// ends cleanly at the end of input.
func TestChatEnglish(t *testing.T) {
	t.Parallel()
	be := sqliteBackend(t)
	r := runBin(t, be.env, "", "chat", "--lang", "en")
	if r.code != 0 {
		t.Fatalf("chat exited %d: %s", r.code, r.stderr)
	}
	bl := blocks(r.stdout)
	if len(bl) != 1 || !strings.Contains(bl[0], "  1. ") {
		t.Fatalf("want one block, the numbered main menu; got:\n%s", r.stdout)
	}
	if strings.ContainsAny(bl[0], "請預約") {
		t.Errorf("--lang en answered in Chinese:\n%s", bl[0])
	}
}

// TestConfigErrors: several bad variables are reported together, in one
// message, before anything starts.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	r := runBin(t, []string{
		"CLINICBOT_DATA_DIR=" + t.TempDir(),
		"DATABASE_URL=mysql://db/clinicbot",
		"CLINICBOT_RETENTION=forever",
		"HTTP_ADDR=eighty",
		"LOG_LEVEL=chatty",
		"TELEGRAM_WEBHOOK_URL=https://bot.example.org/hook",
	}, "", "chat")
	if r.code != exitUsage {
		t.Errorf("exit code %d, want %d", r.code, exitUsage)
	}
	for _, v := range []string{"DATABASE_URL", "CLINICBOT_DATA_KEY", "CLINICBOT_RETENTION", "HTTP_ADDR", "LOG_LEVEL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"} {
		if !strings.Contains(r.stderr, v) {
			t.Errorf("stderr does not mention %s:\n%s", v, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing (no chat started)", r.stdout)
	}
}

// TestScheduleImport: a file with bad rows is refused with their line
// numbers and nothing is imported; a good file is imported, and importing
// it again adds nothing and says the slots are unchanged.
func TestScheduleImport(t *testing.T) {
	t.Parallel()
	be := sqliteBackend(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Far in the future, so the generated schedule never touches the day.
	const day = "2099-03-02"
	slotsOn := func() int {
		t.Helper()
		s, err := be.open(t.Context())
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		defer s.Close()
		from, _ := time.ParseInLocation(time.DateOnly, day, booking.HongKong())
		var n int
		for _, svc := range []booking.ServiceKind{booking.ServiceClinic, booking.ServiceVideo} {
			slots, err := s.Slots(t.Context(), booking.SlotQuery{Service: svc, From: from.UTC(), To: from.AddDate(0, 0, 1).UTC()})
			if err != nil {
				t.Fatalf("Slots: %v", err)
			}
			n += len(slots)
		}
		return n
	}
	tests := []struct {
		name      string
		file      string
		wantLines []string
	}{
		{
			name: "csv",
			file: write("bad.csv", "service,clinic,date,start,end,capacity\n"+
				"clinic,wan-tsui,"+day+",09:00,09:15,4\n"+
				"clinic,no-such-clinic,"+day+",09:00,09:15,4\n"+
				"video,,"+day+",09:30,09:15,2\n"),
			wantLines: []string{"line 3: clinic", "line 4: end"},
		},
		{
			name: "yaml",
			file: write("bad.yaml", "slots:\n"+
				"  - {service: clinic, clinic: wan-tsui, date: "+day+", start: \"09:00\", end: \"09:15\", capacity: 4}\n"+
				"  - {service: video, date: "+day+", start: \"10:00\", end: \"10:15\", capacity: 0}\n"+
				"  - {service: clinic, clinic: wan-tsui, date: "+day+", start: \"09:00\", end: \"09:15\", capacity: 5}\n"),
			wantLines: []string{"line 3: capacity", "line 4: the same slot as line 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runBin(t, be.env, "", "schedule", "import", tt.file)
			if r.code != exitFailure {
				t.Errorf("exit code %d, want %d; stdout %s", r.code, exitFailure, r.stdout)
			}
			for _, l := range tt.wantLines {
				if !strings.Contains(r.stderr, l) {
					t.Errorf("stderr lacks %q:\n%s", l, r.stderr)
				}
			}
			if n := slotsOn(); n != 0 {
				t.Errorf("%d slots on %s after a refused import, want 0", n, day)
			}
		})
	}
	t.Run("good_twice", func(t *testing.T) {
		good := write("good.csv", "service,clinic,date,start,end,capacity\n"+
			"clinic,wan-tsui,"+day+",09:00,09:15,4\n"+
			"video,,"+day+",09:00,09:15,2\n")
		for i, want := range []string{
			"imported 2 slot(s): 2 new, 0 updated, 0 unchanged\n",
			"imported 2 slot(s): 0 new, 0 updated, 2 unchanged\n",
		} {
			r := runBin(t, be.env, "", "schedule", "import", good)
			if r.code != 0 || r.stdout != want {
				t.Errorf("import %d: exit %d, stdout %q, want %q; stderr %s", i+1, r.code, r.stdout, want, r.stderr)
			}
		}
		if n := slotsOn(); n != 2 {
			t.Errorf("%d slots on %s, want 2", n, day)
		}
	})
}

// TestScheduleGenerate: the schedule is generated on first use and topping
// it up again adds nothing.
func TestScheduleGenerate(t *testing.T) {
	t.Parallel()
	be := sqliteBackend(t)
	r := runBin(t, be.env, "", "schedule", "generate", "--days", "2")
	if r.code != 0 || strings.HasPrefix(r.stdout, "added 0 ") {
		t.Fatalf("first generate: exit %d, stdout %q, stderr %s; want slots added", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, be.env, "", "schedule", "generate", "--days", "2")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "added 0 ") {
		t.Errorf("second generate: exit %d, stdout %q; want nothing added", r.code, r.stdout)
	}
}
