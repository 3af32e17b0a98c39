package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clinicbot/clinicbot/booking"
)

func TestStaffAccounts(t *testing.T) {
	t.Parallel()
	be := sqliteBackend(t)
	if r := runBin(t, be.env, "", "schedule", "generate", "--days", "1"); r.code != 0 {
		t.Fatalf("schedule generate: exit %d, %s", r.code, r.stderr)
	}
	clinic := string(booking.DefaultClinics()[0].ID)

	r := runBin(t, be.env, "", "staff", "add", "nurse", "--clinic", clinic)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "added nurse; password") {
		t.Fatalf("staff add --clinic: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	password := strings.TrimSpace(r.stdout[strings.LastIndex(r.stdout, " ")+1:])
	if len(password) != 20 {
		t.Errorf("one-time password %q: want 20 characters", password)
	}
	if r := runBin(t, be.env, "a long enough secret\n", "staff", "add", "--admin", "--password-stdin", "boss"); r.code != 0 || r.stdout != "added boss\n" {
		t.Errorf("staff add --admin --password-stdin: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		code  int
	}{
		{"NameInUse", "", []string{"nurse", "--admin"}, exitFailure},
		{"NeitherClinicNorAdmin", "", []string{"x"}, exitUsage},
		{"BothClinicAndAdmin", "", []string{"x", "--admin", "--clinic", clinic}, exitUsage},
		{"UnknownClinic", "", []string{"x", "--clinic", "nowhere"}, exitUsage},
		{"ShortPassword", "short\n", []string{"x", "--admin", "--password-stdin"}, exitUsage},
		{"NoName", "", []string{"--admin"}, exitUsage},
	} {
		if r := runBin(t, be.env, tt.stdin, append([]string{"staff", "add"}, tt.args...)...); r.code != tt.code {
			t.Errorf("%s: staff add %v: exit %d, want %d (stderr %s)", tt.name, tt.args, r.code, tt.code, r.stderr)
		}
	}

	r = runBin(t, be.env, "", "staff", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "boss") || !strings.Contains(r.stdout, "all (admin)") ||
		!strings.Contains(r.stdout, "nurse") || !strings.Contains(r.stdout, clinic) {
		t.Errorf("staff list: exit %d, stdout %q", r.code, r.stdout)
	}
	if strings.Contains(r.stdout, "argon2id") || strings.Contains(r.stdout, password) {
		t.Errorf("staff list shows a password or its hash:\n%s", r.stdout)
	}
	if r := runBin(t, be.env, "", "staff", "remove", "nurse"); r.code != 0 || r.stdout != "removed nurse\n" {
		t.Errorf("staff remove: exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, be.env, "", "staff", "remove", "nurse"); r.code != exitFailure {
		t.Errorf("staff remove again: exit %d, want %d", r.code, exitFailure)
	}
	if r := runBin(t, be.env, "", "staff", "list"); strings.Contains(r.stdout, "nurse") {
		t.Errorf("staff list after remove still shows nurse:\n%s", r.stdout)
	}
}

// TestStaffServe runs `staff serve` alone: it serves the console and the
// health endpoints on HTTP_ADDR, its cookies without Secure on a loopback
// address, and stops with exit 0 on SIGTERM.
func TestStaffServe(t *testing.T) {
	t.Parallel()
	be := sqliteBackend(t)
	cmd := exec.Command(binary(t), "staff", "serve")
	cmd.Env = append(be.env, "HTTP_ADDR=127.0.0.1:0", "LOG_FORMAT=json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	addrs := make(chan string, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "staff console listening" {
				addrs <- rec["addr"].(string)
			}
		}
		exited <- cmd.Wait()
	}()
	var addr string
	select {
	case addr = <-addrs:
	case err := <-exited:
		t.Fatalf("staff serve ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("staff serve did not listen within 30s")
	}
	for _, path := range []string{"/healthz", "/readyz", "/staff/login"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
		}
		if path == "/staff/login" {
			if len(resp.Cookies()) == 0 {
				t.Errorf("GET /staff/login set no cookie; want the sign-in form's")
			}
			for _, c := range resp.Cookies() {
				if c.Secure || !c.HttpOnly {
					t.Errorf("cookie %s on loopback: Secure %v HttpOnly %v, want false and true", c.Name, c.Secure, c.HttpOnly)
				}
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("staff serve after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("staff serve did not stop within 30s of SIGTERM")
	}
}
