package booking

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// MinKeySize is the least number of bytes a master key must have.
const MinKeySize = 32

var (
	// ErrSealBroken: a sealed value was tampered with, truncated, sealed
	// under another key, or opened with other associated data.
	ErrSealBroken = errors.New("sealed value broken")
	// ErrBadKey: a master key is too short or not in a known encoding.
	ErrBadKey = errors.New("bad key")
	// ErrKeyFileExposed: a key file may be read by users other than its
	// owner, so it is refused rather than used.
	ErrKeyFileExposed = errors.New("key file readable by group or others")
	// ErrKeyMismatch: the store records another data key's fingerprint than
	// the key at hand: what it holds was sealed and hashed under that key.
	ErrKeyMismatch = errors.New("data key does not match the store's")
)

// The labels the subkeys are derived with. Changing one changes every
// stored key or sealed value made with it.
const (
	labelPatient = "clinicbot/booking/patient-key/v1"
	labelBirth   = "clinicbot/booking/birth-key/v1"
	labelSeal    = "clinicbot/booking/seal/v1"
	labelBooker  = "clinicbot/booking/booker-key/v1"
	// The fingerprint is the HMAC of a fixed message under its own subkey:
	// it tells keys apart and, like every subkey, reveals nothing of the
	// master key.
	labelFingerprint   = "clinicbot/booking/fingerprint-key/v1"
	fingerprintMessage = "clinicbot/booking/key-fingerprint/v1"
)

// Protector protects personal data at rest: it hashes a patient's document
// and date of birth into keys a Store can compare without holding them in
// clear, and seals (encrypts and authenticates) what must be read back, the
// mobile number. Each use has its own subkey derived from the master key
// with HMAC-SHA-256; the master key itself is never used directly.
// A Protector is safe for concurrent use.
type Protector struct {
	patientKey []byte
	birthKey   []byte
	bookerKey  []byte
	aead       cipher.AEAD
	// fingerprint is Fingerprint's answer, computed once.
	fingerprint string
}

// NewProtector returns a Protector over the master key, which must be at
// least MinKeySize bytes of secret randomness (see LoadOrCreateKey and
// ParseKey). It fails with ErrBadKey.
func NewProtector(key []byte) (*Protector, error) {
	if len(key) < MinKeySize {
		return nil, fmt.Errorf("booking: protector: key of %d bytes, need %d: %w", len(key), MinKeySize, ErrBadKey)
	}
	block, err := aes.NewCipher(derive(key, labelSeal)) // 32 bytes: AES-256
	if err != nil {
		return nil, fmt.Errorf("booking: protector: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("booking: protector: %w", err)
	}
	return &Protector{
		patientKey:  derive(key, labelPatient),
		birthKey:    derive(key, labelBirth),
		bookerKey:   derive(key, labelBooker),
		aead:        aead,
		fingerprint: keyedHash(derive(key, labelFingerprint), fingerprintMessage),
	}, nil
}

// Fingerprint names the master key without revealing it: the same key
// always has the same fingerprint, two keys different ones. A Store
// records it (BindKey) so that a lost or changed key is noticed at start
// instead of leaving old bookings unreadable and their patients bookable
// again.
func (p *Protector) Fingerprint() string { return p.fingerprint }

// derive returns the HMAC-SHA-256 of label under key.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// keyedHash returns the hex HMAC-SHA-256 of parts under key. Each part is
// length-prefixed so that no two different lists of parts hash alike.
func keyedHash(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		fmt.Fprintf(m, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// PatientKey returns the keyed hash that identifies the patient holding d:
// the same document always gives the same key under the same master key,
// and the key reveals nothing about the number without the master key.
func (p *Protector) PatientKey(d Document) PatientKey {
	return PatientKey(keyedHash(p.patientKey, string(d.Type), d.Number))
}

// BirthKey returns the keyed hash of the document and date of birth
// together. Hashing the date alone would let anyone holding the stored keys
// tell which patients share a birthday; bound to the document, a key matches
// one patient's date only.
func (p *Protector) BirthKey(d Document, dob Date) string {
	return keyedHash(p.birthKey, string(d.Type), d.Number, dob.String())
}

// BookerPseudonym returns a stable pseudonym for a booker whose channel id
// is itself personal data: a WhatsApp caregiver is addressed by their phone
// number, which must not sit in clear in sessions, bookings or the audit
// trail. The pseudonym is the first 128 bits of a keyed hash, prefixed "p:",
// so it never collides with a channel's own ids.
func (p *Protector) BookerPseudonym(channel Channel, id string) string {
	return "p:" + keyedHash(p.bookerKey, string(channel), id)[:32]
}

// Seal encrypts and authenticates plaintext with AES-256-GCM, binding aad
// (what the value is, e.g. "mobile") so that a sealed value cannot be passed
// off as another. The result is a random 12-byte nonce followed by the
// ciphertext and its tag.
func (p *Protector) Seal(plaintext []byte, aad string) ([]byte, error) {
	nonce := make([]byte, p.aead.NonceSize(), p.aead.NonceSize()+len(plaintext)+p.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("booking: seal: %w", err)
	}
	return p.aead.Seal(nonce, nonce, plaintext, []byte(aad)), nil
}

// Open returns the plaintext of a value made by Seal with the same aad. A
// value that was altered, cut short, sealed under another key or with other
// aad fails with ErrSealBroken.
func (p *Protector) Open(sealed []byte, aad string) ([]byte, error) {
	n := p.aead.NonceSize()
	if len(sealed) < n+p.aead.Overhead() {
		return nil, fmt.Errorf("booking: open %d bytes: %w", len(sealed), ErrSealBroken)
	}
	plaintext, err := p.aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("booking: open: %w", ErrSealBroken)
	}
	return plaintext, nil
}

// aadMobile is what a sealed mobile number is bound to (see Seal).
const aadMobile = "mobile"

// CheckKey tells, from what a store knows of its key, whether p's master
// key is the one the store's data was sealed and hashed under: by the
// recorded fingerprint or, in a store from before fingerprints were
// recorded, by opening a sealed mobile number. Another key fails with
// ErrKeyMismatch; a store that holds neither passes.
func (p *Protector) CheckKey(ks KeyState) error {
	switch {
	case ks.Fingerprint != "":
		if ks.Fingerprint != p.fingerprint {
			return fmt.Errorf("booking: check key: fingerprint differs: %w", ErrKeyMismatch)
		}
	case ks.Sealed != nil:
		if _, err := p.Open(ks.Sealed, aadMobile); err != nil {
			return fmt.Errorf("booking: check key: a sealed mobile number does not open: %w", ErrKeyMismatch)
		}
	}
	return nil
}

// ParseKey reads a master key from configuration: hexadecimal (64 digits
// for 32 bytes), or standard or URL-safe base64, padded or not. It must
// decode to at least MinKeySize bytes. It fails with ErrBadKey.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("booking: parse key: empty: %w", ErrBadKey)
	}
	// Hex first: hex digits are also valid base64, decoding to other bytes.
	// A base64 key is all hex digits only by a chance of about (22/64)^43.
	if len(s)%2 == 0 && strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		key, _ := hex.DecodeString(s) // cannot fail: checked above
		if len(key) < MinKeySize {
			return nil, fmt.Errorf("booking: parse key: %d bytes, need %d: %w", len(key), MinKeySize, ErrBadKey)
		}
		return key, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) < MinKeySize {
			return nil, fmt.Errorf("booking: parse key: %d bytes, need %d: %w", len(key), MinKeySize, ErrBadKey)
		}
		return key, nil
	}
	return nil, fmt.Errorf("booking: parse key: neither base64 nor 64 hex digits: %w", ErrBadKey)
}

// LoadOrCreateKey returns the master key kept in the file at path, creating
// the file (and its directory, mode 0700) with a new random key of
// MinKeySize bytes, base64-encoded, when there is none. It is meant for the
// embedded default, which has no secret store.
//
// The new file is written in full under a temporary name, created with
// O_EXCL and mode 0600, then linked into place, which fails if path exists:
// two processes starting together end up with one key, and neither ever
// reads a half-written file. An existing key file that its group or others
// may read is refused with ErrKeyFileExposed (on systems with Unix
// permissions): a leaked key would unseal every stored mobile number.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKeyFile(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// Ours or, after a lost race, the other process's: read what is there.
	return readKeyFile(path)
}

// LoadKey returns the master key kept in the file at path; a missing file
// fails with an error that matches fs.ErrNotExist, one that its group or
// others may read with ErrKeyFileExposed.
func LoadKey(path string) ([]byte, error) { return readKeyFile(path) }

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("booking: key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("booking: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("booking: key file %s is not a regular file: %w", path, ErrBadKey)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("booking: key file %s has mode %04o, want 0600: %w", path, info.Mode().Perm(), ErrKeyFileExposed)
	}
	// A key file is a line of text; more than 4 KiB is not one.
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("booking: key file %s: %w", path, err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("booking: key file %s: %w", path, err)
	}
	return key, nil
}

func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("booking: create key file: %w", err)
	}
	key := make([]byte, MinKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("booking: create key file: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".clinicbot-key-*") // O_EXCL, mode 0600
	if err != nil {
		return fmt.Errorf("booking: create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("booking: create key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return fmt.Errorf("booking: create key file: %w", err)
	}
	return nil
}
