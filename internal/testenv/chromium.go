package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// ChromiumVar names the Chromium (or Chrome) binary for browser tests;
// unset, the usual names are looked up on PATH.
const ChromiumVar = "CLINICBOT_TEST_CHROMIUM"

// Chromium returns the path of a Chromium binary for browser tests, or
// skips (fails in CI) when there is none. On Debian: apt-get install chromium.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv(ChromiumVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			tb.Fatalf("%s=%q: %v", ChromiumVar, p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(tb, "no Chromium found (apt-get install chromium, or set "+ChromiumVar+"); the browser test needs one")
	return ""
}
