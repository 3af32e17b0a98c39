package booking

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func testKey(fill byte) []byte { return bytes.Repeat([]byte{fill}, MinKeySize) }

func newTestProtector(t *testing.T, fill byte) *Protector {
	t.Helper()
	p, err := NewProtector(testKey(fill))
	if err != nil {
		t.Fatalf("NewProtector: %v", err)
	}
	return p
}

func TestNewProtectorKeySize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     []byte
		wantErr error
	}{
		{name: "nil", key: nil, wantErr: ErrBadKey},
		{name: "31_bytes", key: make([]byte, 31), wantErr: ErrBadKey},
		{name: "32_bytes", key: make([]byte, 32)},
		{name: "64_bytes", key: make([]byte, 64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewProtector(tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("NewProtector(%d bytes) error = %v, want %v", len(tt.key), err, tt.wantErr)
			}
			if (p == nil) != (tt.wantErr != nil) {
				t.Errorf("NewProtector(%d bytes) = %v, want a Protector only without error", len(tt.key), p)
			}
		})
	}
}

func TestKeyDerivationDistinct(t *testing.T) {
	t.Parallel()
	master := testKey(7)
	subkeys := map[string][]byte{
		"master":  master,
		"patient": derive(master, labelPatient),
		"birth":   derive(master, labelBirth),
		"seal":    derive(master, labelSeal),
		"booker":  derive(master, labelBooker),
		"print":   derive(master, labelFingerprint),
	}
	for a, ka := range subkeys {
		for b, kb := range subkeys {
			if a < b && bytes.Equal(ka, kb) {
				t.Errorf("subkeys %s and %s are equal", a, b)
			}
		}
	}
	p := newTestProtector(t, 7)
	if !bytes.Equal(p.patientKey, subkeys["patient"]) || !bytes.Equal(p.birthKey, subkeys["birth"]) ||
		!bytes.Equal(p.bookerKey, subkeys["booker"]) {
		t.Fatal("NewProtector does not use the derived subkeys")
	}
	// Hashing with the master key directly must give something else.
	doc := Document{DocumentHKID, "A1234563"}
	if direct := keyedHash(master, string(doc.Type), doc.Number); string(p.PatientKey(doc)) == direct {
		t.Error("PatientKey is keyed with the master key itself")
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	a, again, b := newTestProtector(t, 7), newTestProtector(t, 7), newTestProtector(t, 8)
	if a.Fingerprint() != again.Fingerprint() {
		t.Errorf("Fingerprint of one key = %s and %s, want equal", a.Fingerprint(), again.Fingerprint())
	}
	if a.Fingerprint() == b.Fingerprint() {
		t.Errorf("Fingerprint of two keys = %s for both, want different", a.Fingerprint())
	}
	// Keyed by its own subkey: not the master key, nor a subkey used to
	// hash or seal personal data.
	master := testKey(7)
	for name, key := range map[string][]byte{"master": master, "patient": a.patientKey, "booker": a.bookerKey} {
		if keyedHash(key, fingerprintMessage) == a.Fingerprint() {
			t.Errorf("Fingerprint is keyed with the %s key", name)
		}
	}
	if want := keyedHash(derive(master, labelFingerprint), fingerprintMessage); a.Fingerprint() != want {
		t.Errorf("Fingerprint = %s, want the HMAC of its message under the fingerprint subkey, %s", a.Fingerprint(), want)
	}
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	mine, other := newTestProtector(t, 7), newTestProtector(t, 8)
	sealed, err := mine.Seal([]byte("91234567"), aadMobile)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ks   KeyState
		want error
	}{
		{"NewStore", KeyState{}, nil},
		{"SameFingerprint", KeyState{Fingerprint: mine.Fingerprint(), Bookings: true, Sealed: sealed}, nil},
		{"OtherFingerprint", KeyState{Fingerprint: other.Fingerprint(), Bookings: true}, ErrKeyMismatch},
		{"NoFingerprintSealedOpens", KeyState{Bookings: true, Sealed: sealed}, nil},
		{"NoFingerprintSealedUnderOther", KeyState{Bookings: true, Sealed: mustSeal(t, other)}, ErrKeyMismatch},
	}
	for _, tt := range tests {
		if err := mine.CheckKey(tt.ks); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("CheckKey(%s) = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func mustSeal(t *testing.T, p *Protector) []byte {
	t.Helper()
	sealed, err := p.Seal([]byte("91234567"), aadMobile)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func TestBookerPseudonym(t *testing.T) {
	t.Parallel()
	p := newTestProtector(t, 1)
	other := newTestProtector(t, 2)
	got := p.BookerPseudonym(ChannelWhatsApp, "85291234567")
	if len(got) != 34 || !strings.HasPrefix(got, "p:") {
		t.Fatalf("BookerPseudonym = %q, want \"p:\" and 32 hex digits", got)
	}
	if strings.Contains(got, "91234567") {
		t.Errorf("BookerPseudonym = %q shows the number", got)
	}
	tests := []struct {
		name string
		same bool
		b    string
	}{
		{"same_booker", true, p.BookerPseudonym(ChannelWhatsApp, "85291234567")},
		{"other_number", false, p.BookerPseudonym(ChannelWhatsApp, "85291234568")},
		{"other_channel", false, p.BookerPseudonym(ChannelTelegram, "85291234567")},
		{"other_key", false, other.BookerPseudonym(ChannelWhatsApp, "85291234567")},
	}
	for _, tt := range tests {
		if (tt.b == got) != tt.same {
			t.Errorf("%s: BookerPseudonym = %q, first %q; want same=%v", tt.name, tt.b, got, tt.same)
		}
	}
}

func TestPatientKey(t *testing.T) {
	t.Parallel()
	p := newTestProtector(t, 1)
	other := newTestProtector(t, 2)
	hkid := Document{DocumentHKID, "A1234563"}
	key := p.PatientKey(hkid)
	if len(key) != 64 {
		t.Fatalf("PatientKey = %q, want 64 hex digits", key)
	}
	if _, err := hex.DecodeString(string(key)); err != nil {
		t.Fatalf("PatientKey = %q: %v", key, err)
	}
	if strings.Contains(string(key), "1234563") {
		t.Fatalf("PatientKey = %q contains the number", key)
	}
	tests := []struct {
		name  string
		p     *Protector
		doc   Document
		equal bool
	}{
		{name: "same_document", p: p, doc: Document{DocumentHKID, "A1234563"}, equal: true},
		{name: "other_number", p: p, doc: Document{DocumentHKID, "AB1234569"}},
		{name: "same_number_other_type", p: p, doc: Document{DocumentOther, "A1234563"}},
		{name: "other_master_key", p: other, doc: hkid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.p.PatientKey(tt.doc); (got == key) != tt.equal {
				t.Errorf("PatientKey(%v) == PatientKey(%v) is %v, want %v", tt.doc, hkid, got == key, tt.equal)
			}
		})
	}
}

func TestBirthKey(t *testing.T) {
	t.Parallel()
	p := newTestProtector(t, 1)
	hkid := Document{DocumentHKID, "A1234563"}
	dob := Date{1970, 1, 1}
	key := p.BirthKey(hkid, dob)
	if key == string(p.PatientKey(hkid)) {
		t.Fatal("BirthKey equals PatientKey")
	}
	tests := []struct {
		name  string
		doc   Document
		dob   Date
		equal bool
	}{
		{name: "same", doc: hkid, dob: dob, equal: true},
		{name: "other_date", doc: hkid, dob: Date{1970, 1, 2}},
		// Two patients born the same day get different keys, so the stored
		// keys are no dictionary of dates.
		{name: "other_patient_same_date", doc: Document{DocumentHKID, "AB1234569"}, dob: dob},
		{name: "other_type", doc: Document{DocumentOther, "A1234563"}, dob: dob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := p.BirthKey(tt.doc, tt.dob); (got == key) != tt.equal {
				t.Errorf("BirthKey(%v, %v) == BirthKey(%v, %v) is %v, want %v", tt.doc, tt.dob, hkid, dob, got == key, tt.equal)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	p := newTestProtector(t, 1)
	plaintext := []byte("91234578")
	sealed, err := p.Seal(plaintext, "mobile")
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if want := 12 + len(plaintext) + 16; len(sealed) != want {
		t.Errorf("len(Seal) = %d, want %d (nonce, ciphertext, tag)", len(sealed), want)
	}
	if bytes.Contains(sealed, plaintext) {
		t.Error("sealed value contains the plaintext")
	}
	again, err := p.Seal(plaintext, "mobile")
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if bytes.Equal(sealed, again) {
		t.Error("two seals of the same plaintext are equal: nonce not random")
	}
	got, err := p.Open(sealed, "mobile")
	if err != nil || !bytes.Equal(got, plaintext) {
		t.Fatalf("Open(Seal(%q)) = %q, %v", plaintext, got, err)
	}
	empty, err := p.Seal(nil, "mobile")
	if err != nil {
		t.Fatalf("Seal(nil): %v", err)
	}
	if got, err := p.Open(empty, "mobile"); err != nil || len(got) != 0 {
		t.Errorf("Open(Seal(nil)) = %q, %v, want empty", got, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	p := newTestProtector(t, 1)
	sealed, err := p.Seal([]byte("91234578"), "mobile")
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		p      *Protector
		sealed []byte
		aad    string
	}{
		{name: "nonce_flipped", p: p, sealed: flip(0), aad: "mobile"},
		{name: "ciphertext_flipped", p: p, sealed: flip(13), aad: "mobile"},
		{name: "tag_flipped", p: p, sealed: flip(len(sealed) - 1), aad: "mobile"},
		{name: "truncated", p: p, sealed: sealed[:len(sealed)-1], aad: "mobile"},
		{name: "too_short", p: p, sealed: sealed[:20], aad: "mobile"},
		{name: "empty", p: p, sealed: nil, aad: "mobile"},
		{name: "extended", p: p, sealed: append(bytes.Clone(sealed), 0), aad: "mobile"},
		{name: "other_aad", p: p, sealed: sealed, aad: "document"},
		{name: "empty_aad", p: p, sealed: sealed, aad: ""},
		{name: "other_key", p: newTestProtector(t, 2), sealed: sealed, aad: "mobile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.p.Open(tt.sealed, tt.aad)
			if !errors.Is(err, ErrSealBroken) {
				t.Errorf("Open = %q, %v, want ErrSealBroken", got, err)
			}
		})
	}
	// Every single-bit flip anywhere is caught.
	for i := range sealed {
		for bit := range 8 {
			b := bytes.Clone(sealed)
			b[i] ^= 1 << bit
			if _, err := p.Open(b, "mobile"); !errors.Is(err, ErrSealBroken) {
				t.Fatalf("Open with byte %d bit %d flipped: %v, want ErrSealBroken", i, bit, err)
			}
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(250 - i) // high bytes make std and URL base64 differ
	}
	long := bytes.Repeat([]byte{0xfb}, 48)
	tests := []struct {
		name    string
		in      string
		want    []byte
		wantErr error
	}{
		{name: "base64_std", in: base64.StdEncoding.EncodeToString(key), want: key},
		{name: "base64_raw_std", in: base64.RawStdEncoding.EncodeToString(key), want: key},
		{name: "base64_url", in: base64.URLEncoding.EncodeToString(key), want: key},
		{name: "base64_raw_url", in: base64.RawURLEncoding.EncodeToString(key), want: key},
		{name: "hex", in: hex.EncodeToString(key), want: key},
		{name: "hex_upper", in: strings.ToUpper(hex.EncodeToString(key)), want: key},
		{name: "surrounding_space", in: "  " + base64.StdEncoding.EncodeToString(key) + "\n", want: key},
		{name: "longer_key", in: base64.StdEncoding.EncodeToString(long), want: long},
		{name: "empty", in: "", wantErr: ErrBadKey},
		{name: "short_base64", in: base64.StdEncoding.EncodeToString(key[:31]), wantErr: ErrBadKey},
		{name: "short_hex", in: hex.EncodeToString(key[:31]), wantErr: ErrBadKey},
		{name: "garbage", in: "not a key!", wantErr: ErrBadKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseKey(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseKey(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("ParseKey(%q) = %x, want %x", tt.in, got, tt.want)
			}
		})
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secrets", "clinicbot.key")
	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey (create): %v", err)
	}
	if len(key) != MinKeySize {
		t.Errorf("created key has %d bytes, want %d", len(key), MinKeySize)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if got := info.Mode().Perm(); got != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", got)
		}
		dir, err := os.Stat(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if got := dir.Mode().Perm(); got != 0o700 {
			t.Errorf("key directory mode = %04o, want 0700", got)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data))); err != nil || !bytes.Equal(got, key) {
		t.Errorf("key file holds %q, want the base64 of the returned key", data)
	}
	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey (load): %v", err)
	}
	if !bytes.Equal(again, key) {
		t.Error("LoadOrCreateKey returned another key on the second call")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("key directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateKeyRefusesExposedFile(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions on Windows")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o666} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "clinicbot.key")
			if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(testKey(3))), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			key, err := LoadOrCreateKey(path)
			if !errors.Is(err, ErrKeyFileExposed) {
				t.Errorf("LoadOrCreateKey(mode %04o) = %x, %v, want ErrKeyFileExposed", mode, key, err)
			}
		})
	}
}

func TestLoadOrCreateKeyBadFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "clinicbot.key")
	if err := os.WriteFile(path, []byte("c2hvcnQ=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); !errors.Is(err, ErrBadKey) {
		t.Errorf("LoadOrCreateKey(short key) error = %v, want ErrBadKey", err)
	}
	before, err := os.ReadFile(path)
	if err != nil || string(before) != "c2hvcnQ=\n" {
		t.Errorf("a bad key file was changed: %q, %v", before, err)
	}
}

// TestLoadOrCreateKeyRace starts several creators at once on a missing file:
// all of them must end up with the one key that was written.
func TestLoadOrCreateKeyRace(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "clinicbot.key")
	const n = 16
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = LoadOrCreateKey(path)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("creator %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("creator %d got another key than creator 0", i)
		}
	}
}

func TestLoadOrCreateKeyDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); !errors.Is(err, ErrBadKey) {
		t.Errorf("LoadOrCreateKey(a directory) error = %v, want ErrBadKey", err)
	}
}
