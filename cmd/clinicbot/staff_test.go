package main

import (
	"strings"
	"testing"

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
	if r := runBin(t, be.env, "a long enough secret\n", "staff", "add", "boss", "--admin", "--password-stdin"); r.code != 0 || r.stdout != "added boss\n" {
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
