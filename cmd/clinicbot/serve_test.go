package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/bot/telegram/telegramtest"
)

// TestServe runs the binary's serve against a fake Telegram: it answers a
// booker, serves /healthz, /readyz and /metrics, and on SIGTERM stops
// cleanly with exit code 0.
func TestServe(t *testing.T) {
	t.Parallel()
	tg := telegramtest.NewServer(t)
	be := sqliteBackend(t)
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append(be.env,
		"TELEGRAM_BOT_TOKEN="+tg.Token,
		"TELEGRAM_API_ENDPOINT="+tg.Endpoint(),
		"HTTP_ADDR=127.0.0.1:0",
		"LOG_FORMAT=json",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	logs := make(chan map[string]any, 100)
	var logText strings.Builder
	var notJSON []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logText.WriteString(sc.Text() + "\n")
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				notJSON = append(notJSON, sc.Text())
				continue
			}
			logs <- rec
		}
		close(logs)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() })

	// The listening address is in the log.
	var addr string
	timeout := time.After(30 * time.Second)
	for addr == "" {
		select {
		case rec, ok := <-logs:
			if !ok {
				t.Fatalf("serve ended before listening: %v", <-exited)
			}
			if rec["msg"] == "http listening" {
				addr, _ = rec["addr"].(string)
			}
		case <-timeout:
			t.Fatal("serve did not listen within 30s")
		}
	}
	go func() {
		for range logs {
		}
	}()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(path); code != http.StatusOK {
			t.Errorf("GET %s = %d %q, want 200", path, code, body)
		}
	}
	if code, body := get("/staff/login"); code != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Errorf("GET /staff/login = %d, want 200 with the sign-in form", code)
	}

	const chat = 4242
	tg.SendText(chat, "/start")
	tg.WaitFor(t, "the main menu", func() bool {
		for _, m := range tg.LastMessages(chat) {
			if strings.Contains(m.Text, "為他人預約") || len(m.Buttons) > 0 {
				return true
			}
		}
		return false
	})
	var metrics string
	for range 50 {
		_, metrics = get("/metrics")
		if strings.Contains(metrics, `clinicbot_updates_total{channel="telegram",outcome="ok"} 1`) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range []string{`clinicbot_updates_total{channel="telegram",outcome="ok"} 1`, "clinicbot_update_duration_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(metrics, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want exit 0\n%s", err, logText.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of SIGTERM")
	}
	if len(notJSON) > 0 {
		t.Errorf("log lines that are not JSON:\n%s", strings.Join(notJSON, "\n"))
	}
	if !strings.Contains(logText.String(), `"msg":"stopped"`) {
		t.Errorf("no \"stopped\" record in the log:\n%s", logText.String())
	}
	if strings.Contains(logText.String(), tg.Token) {
		t.Errorf("the log shows the bot token")
	}
}
