package staff

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/internal/testenv"
	"github.com/clinicbot/clinicbot/locales"
)

// ArtefactsVar names the directory the browser test writes its
// screenshots to; unset, testdata/artefacts (ignored by git).
const ArtefactsVar = "CLINICBOT_TEST_ARTEFACTS"

// artefacts returns the directory for t's screenshots, made if need be.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(ArtefactsVar)
	if dir == "" {
		dir = filepath.Join("testdata", "artefacts")
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artefacts: %v", err)
	}
	return dir
}

// TestBrowser drives a real Chromium through a staff member's morning:
// sign in, read the day, close a slot, upload a bad schedule and read its
// errors. Screenshots of each step are kept in artefacts(t), at a phone's
// width.
func TestBrowser(t *testing.T) {
	exe := testenv.Chromium(t)
	f := newFixture(t)
	srv := httptest.NewServer(f.srv)
	t.Cleanup(srv.Close)
	dir := artefacts(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(412, 915),
		chromedp.UserDataDir(t.TempDir()),
	)
	// A bound on the whole session, so that a hung browser ends the test;
	// nothing is asserted about how long a step takes.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	// do runs steps that return nothing; read reads one value.
	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	read := func(step string, a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(bctx, a)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return v
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	lang := locales.En

	// Sign in, in English, by keyboard: the name field has the focus, and
	// Enter in the password field signs in.
	do("open the sign-in page",
		chromedp.Navigate(srv.URL+"/staff/login?lang="+lang),
		chromedp.WaitVisible(css(`#name`)),
		shot("1-login"),
	)
	if focused, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || focused != "name" {
		t.Errorf("focus on the sign-in page is on %q, %v; want the name field", focused, err)
	}
	do("sign in",
		chromedp.SendKeys(css(`#name`), "nurse-a"),
		chromedp.SendKeys(css(`#password`), password+kb.Enter),
		chromedp.WaitVisible(css(`form.logout`)),
	)
	if h1, want := read("heading", chromedp.Text(css(`h1`))), text(lang, "day.title", locales.FormatDate(lang, testNow)); h1 != want {
		t.Errorf("after sign-in the heading is %q, want %q", h1, want)
	}

	// Read the day: clinic A's booking, its patient masked; not clinic B's.
	main := read("read the day", chromedp.Text(css(`main`)))
	do("screenshot", shot("2-day"))
	if !strings.Contains(main, string(f.bookingA.Reference)) || !strings.Contains(main, patientA.Document.Masked()) {
		t.Errorf("day page lacks booking %s with patient %s:\n%s", f.bookingA.Reference, patientA.Document.Masked(), main)
	}
	if strings.Contains(main, patientA.Document.Number) || strings.Contains(main, string(f.bookingB.Reference)) {
		t.Errorf("day page shows a document in clear or another clinic's booking:\n%s", main)
	}

	// Close the 10:00 slot: its booking is cancelled, and the page says the
	// booker is being told.
	slot := fmt.Sprintf("#slot-%d", f.slotA.ID)
	reason := fmt.Sprintf(`#close-reason-%d`, f.slotA.ID)
	do("close a slot",
		chromedp.Click(css(slot+` details summary`)),
		chromedp.WaitVisible(css(reason)),
		chromedp.SendKeys(css(reason), "doctor ill"),
		shot("3-close-form"),
		chromedp.Click(css(slot+` form button`)),
		chromedp.WaitVisible(css(`.notice`)),
		shot("4-closed"),
	)
	if notice := read("notice", chromedp.Text(css(`.notice`))); notice != text(lang, "result.notified") {
		t.Errorf("close confirmation notice = %q, want %q", notice, text(lang, "result.notified"))
	}
	do("back to the day",
		chromedp.Click(css(`main a[href^="/staff/day"]`)),
		chromedp.WaitVisible(css(slot+`.closed`)),
		shot("5-day-after-close"),
	)
	if state, want := read("closed slot", chromedp.Text(css(slot+` .state`))), text(lang, "day.closed", "doctor ill", "nurse-a"); state != want {
		t.Errorf("closed slot says %q, want %q", state, want)
	}
	if got := f.bookingStatus(f.bookingA.ID); got != "cancelled" {
		t.Errorf("booking on the closed slot = %s, want cancelled", got)
	}

	// Upload a schedule with two bad rows: both are listed with their line
	// numbers, and nothing is imported.
	file := filepath.Join(t.TempDir(), "week.csv")
	if err := os.WriteFile(file, []byte("service,clinic,date,start,end,capacity\n"+
		"clinic,clinic-a,2025-03-12,09:00,09:15,4\n"+
		"clinic,nowhere,2025-03-12,09:00,09:15,4\n"+
		"clinic,clinic-a,2025-03-12,10:00,09:15,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	do("upload a bad schedule",
		chromedp.Click(css(`a[href="/staff/schedule"]`)),
		chromedp.WaitVisible(css(`#file`)),
		chromedp.SetUploadFiles(css(`#file`), []string{file}),
		chromedp.Click(css(`main form button`)),
		chromedp.WaitVisible(css(`#upload-result`)),
		shot("6-upload-errors"),
	)
	result := read("upload result", chromedp.Text(css(`#upload-result`)))
	if !strings.Contains(result, text(lang, "schedule.errors", 2)) || !strings.Contains(result, "line 3") || !strings.Contains(result, "line 4") {
		t.Errorf("upload result = %q, want two problems on lines 3 and 4", result)
	}
	if slots, err := f.store.Slots(f.ctx, booking.SlotQuery{From: time.Date(2025, 3, 12, 0, 0, 0, 0, hk)}); err != nil || len(slots) != 0 {
		t.Errorf("bad upload stored %d slot(s), %v; want none", len(slots), err)
	}

	// The quota of the week, as bars: clinic A's closed slot no longer
	// counts, its 11:00 slot does.
	do("quota",
		chromedp.Click(css(`a[href="/staff/quota"]`)),
		chromedp.WaitVisible(css(`table.quota meter`)),
		shot("7-quota"),
	)
	if cell := read("quota cell", chromedp.Text(css(`table.quota tbody td`))); !strings.Contains(cell, text(lang, "quota.taken", 0, 4)) {
		t.Errorf("quota of clinic A today = %q, want %q", cell, text(lang, "quota.taken", 0, 4))
	}
	// The language switch: the day in Traditional Chinese, the default.
	do("switch to zh-HK",
		chromedp.Click(css(`a[href="/staff/day"]`)),
		chromedp.WaitVisible(css(`nav.langs a[lang="zh-HK"]`)),
		chromedp.Click(css(`nav.langs a[lang="zh-HK"]`)),
		chromedp.WaitVisible(css(`html[lang="zh-HK"] form.logout`)),
		shot("8-day-zh-HK"),
	)
	if h1, want := read("heading in zh-HK", chromedp.Text(css(`h1`))), text(locales.ZhHK, "day.title", locales.FormatDate(locales.ZhHK, testNow)); h1 != want {
		t.Errorf("heading after switching to zh-HK = %q, want %q", h1, want)
	}
	t.Logf("screenshots in %s", dir)
}
