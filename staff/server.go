// Package staff is the clinic staff console on the web: staff sign in, see
// a day's bookings per clinic (patients masked), the quota of the coming
// days, close or reopen slots, cancel a booking, mark attendance, and
// upload a schedule.
//
// It is server-rendered html/template with embedded templates and styles
// and needs no JavaScript. It knows no chat SDK: it works on booking's
// Store and StaffStore. Staff of a clinic see and change only their
// clinic; an admin (an account with no clinic) sees every clinic and video
// consultation. Every change is recorded in the staff audit by the store.
//
// Security: passwords are argon2id hashes; the session cookie holds a
// random token whose SHA-256 alone is stored; cookies are HttpOnly and
// SameSite=Strict, and Secure unless Options.Insecure; every form carries a
// CSRF token derived from the cookie it belongs with, and a POST without
// the right one is refused with 403; repeated failed logins lock an
// account for a while.
package staff

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/internal/importer"
	"github.com/clinicbot/clinicbot/locales"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Prefix is the path the console is served under.
const Prefix = "/staff/"

// Cookie names.
const (
	sessionCookie = "clinicbot_staff"
	preCookie     = "clinicbot_staff_pre" // before sign-in: what the login form's CSRF token derives from
	langCookie    = "clinicbot_staff_lang"
)

// Options configure a Server.
type Options struct {
	Store  booking.Store
	Staff  booking.StaffStore
	Logger *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Insecure drops the Secure attribute of the cookies: only for a console
	// served on a loopback address without TLS.
	Insecure bool
	// SessionTTL is how long a sign-in lasts; zero is 12 hours.
	SessionTTL time.Duration
	// MaxFailures failed logins in a row lock an account until LockFor has
	// passed since the last of them; zero values are 5 and 15 minutes.
	MaxFailures int
	LockFor     time.Duration
	// Location is where a day begins; nil is Hong Kong.
	Location *time.Location
}

// Server is the staff console, an http.Handler for the paths under Prefix.
type Server struct {
	opts  Options
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
	// dummyHash is checked against for an unknown name, so that a login
	// takes as long whether or not the name exists.
	dummyHash string
}

// New returns the console.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Staff == nil {
		return nil, errors.New("staff: a Store and a StaffStore are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 5
	}
	if opts.LockFor <= 0 {
		opts.LockFor = 15 * time.Minute
	}
	if opts.Location == nil {
		opts.Location = booking.HongKong()
	}
	s := &Server{opts: opts, log: opts.Logger.With("component", "staff"), mux: http.NewServeMux(),
		pages: make(map[string]*template.Template)}
	for _, name := range []string{"login", "day", "quota", "schedule", "result"} {
		t, err := template.ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("staff: template %s: %w", name, err)
		}
		s.pages[name] = t
	}
	// A hash with the same cost as a real one, of a password nobody knows.
	s.dummyHash = hashPassword(rand.Text(), defaultParams)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	static, _ := fs.Sub(assets, "static")
	s.mux.Handle("GET /staff/static/", http.StripPrefix("/staff/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /staff/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/staff/day", http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET /staff/login", s.loginPage)
	s.mux.HandleFunc("POST /staff/login", s.login)
	s.mux.HandleFunc("POST /staff/logout", s.signedIn(s.logout))
	s.mux.HandleFunc("GET /staff/day", s.signedIn(s.dayPage))
	s.mux.HandleFunc("POST /staff/slots/{id}/close", s.signedIn(s.closeSlot))
	s.mux.HandleFunc("POST /staff/slots/{id}/reopen", s.signedIn(s.reopenSlot))
	s.mux.HandleFunc("POST /staff/day/close", s.signedIn(s.closeDay))
	s.mux.HandleFunc("POST /staff/bookings/{id}/cancel", s.signedIn(s.cancelBooking))
	s.mux.HandleFunc("POST /staff/bookings/{id}/attendance", s.signedIn(s.markAttendance))
	s.mux.HandleFunc("GET /staff/quota", s.signedIn(s.quotaPage))
	s.mux.HandleFunc("GET /staff/schedule", s.signedIn(s.schedulePage))
	s.mux.HandleFunc("POST /staff/schedule", s.signedIn(s.uploadSchedule))
}

// ServeHTTP serves the console.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost {
		// A schedule file is the largest thing posted.
		r.Body = http.MaxBytesReader(w, r.Body, importer.MaxFileSize+1<<20)
	}
	if l := r.URL.Query().Get("lang"); locales.Supported(l) {
		s.setCookie(w, langCookie, l, 365*24*time.Hour)
		r = r.WithContext(context.WithValue(r.Context(), langKey{}, l))
	}
	s.mux.ServeHTTP(w, r)
}

// request is what a signed-in handler is given.
type request struct {
	account booking.StaffAccount
	token   string // the session token from the cookie
	lang    string
}

// actor is the account as the store's changes name it.
func (q *request) actor() booking.StaffActor {
	return booking.StaffActor{Name: q.account.Name, ClinicID: q.account.ClinicID}
}

// signedIn admits a request with a live session: a GET without one goes
// to the login page, a POST without one, or without its session's CSRF
// token, is refused with 403.
func (s *Server) signedIn(h func(w http.ResponseWriter, r *http.Request, q *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang := language(r)
		q, err := s.session(r)
		if err != nil {
			if !errors.Is(err, booking.ErrNotFound) {
				s.log.Error("staff session lookup failed", "error", err)
				s.fail(w, r, lang, nil, http.StatusInternalServerError, "error.internal")
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
				return
			}
			s.fail(w, r, lang, nil, http.StatusForbidden, "error.forbidden")
			return
		}
		q.lang = lang
		if r.Method == http.MethodPost && !validCSRF(q.token, r) {
			s.log.Warn("staff post without a valid csrf token", "staff", q.account.Name, "path", r.URL.Path)
			s.fail(w, r, lang, q, http.StatusForbidden, "error.forbidden")
			return
		}
		h(w, r, q)
	}
}

// session returns the signed-in account of r, or booking.ErrNotFound.
func (s *Server) session(r *http.Request) (*request, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, booking.ErrNotFound
	}
	_, a, err := s.opts.Staff.StaffSession(r.Context(), tokenHash(c.Value), s.opts.Now())
	if err != nil {
		return nil, err
	}
	return &request{account: a, token: c.Value}, nil
}

// tokenHash is what the store keeps of a session token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// csrfToken is the CSRF token of the forms that go with cookie value
// token: a keyed hash of it, which a page from another site cannot know.
func csrfToken(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("clinicbot staff csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether r's form carries the CSRF token of token.
func validCSRF(token string, r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return token != "" && got != "" && hmac.Equal([]byte(got), []byte(csrfToken(token)))
}

// setCookie sets an HttpOnly, SameSite=Strict cookie for the console's
// paths; maxAge zero or less removes it.
func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: Prefix, HttpOnly: true, Secure: !s.opts.Insecure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge.Seconds())}
	if maxAge <= 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// langKey is the context key of a language chosen by the request's query.
type langKey struct{}

// language is the console language of r: chosen by its query, else its
// cookie, else the default.
func language(r *http.Request) string {
	if l, ok := r.Context().Value(langKey{}).(string); ok {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && locales.Supported(c.Value) {
		return c.Value
	}
	return locales.Default
}

// loginPage shows the sign-in form, with a pre-session cookie for its
// CSRF token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, false)
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, failed bool) {
	pre := ""
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) >= 32 {
		pre = c.Value
	} else {
		pre = rand.Text()
		s.setCookie(w, preCookie, pre, time.Hour)
	}
	p := s.newPage(r, language(r), nil, "login.title")
	p.CSRF = csrfToken(pre)
	p.Data = struct{ Failed bool }{failed}
	s.render(w, status, "login", p)
}

// login checks a name and password and starts a session. A wrong name, a
// wrong password and a locked account get the same answer.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	lang := language(r)
	pre, err := r.Cookie(preCookie)
	if err != nil || !validCSRF(pre.Value, r) {
		s.fail(w, r, lang, nil, http.StatusForbidden, "error.forbidden")
		return
	}
	ctx := r.Context()
	name, password := r.PostFormValue("name"), r.PostFormValue("password")
	now := s.opts.Now()
	a, err := s.opts.Staff.StaffAccount(ctx, name)
	switch {
	case errors.Is(err, booking.ErrNotFound):
		checkPassword(s.dummyHash, password) // as long as a real check
		s.log.Info("staff login refused", "reason", "unknown_name")
		s.renderLogin(w, r, http.StatusUnauthorized, true)
		return
	case err != nil:
		s.log.Error("staff account lookup failed", "error", err)
		s.fail(w, r, lang, nil, http.StatusInternalServerError, "error.internal")
		return
	}
	ok, err := checkPassword(a.PasswordHash, password)
	if err != nil {
		s.log.Error("staff password hash unreadable", "staff", a.Name, "error", err)
	}
	if locked := s.locked(a, now); !ok || locked {
		if _, err := s.opts.Staff.StaffLoginFailed(ctx, a.Name, now); err != nil {
			s.log.Error("recording a failed staff login failed", "staff", a.Name, "error", err)
		}
		s.log.Info("staff login refused", "staff", a.Name, "locked", locked)
		s.renderLogin(w, r, http.StatusUnauthorized, true)
		return
	}
	token := rand.Text() + rand.Text() // 2×128 bits
	if err := s.opts.Staff.StartStaffSession(ctx, booking.StaffSession{
		TokenHash: tokenHash(token), Staff: a.Name, CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL),
	}); err != nil {
		s.log.Error("starting a staff session failed", "staff", a.Name, "error", err)
		s.fail(w, r, lang, nil, http.StatusInternalServerError, "error.internal")
		return
	}
	s.log.Info("staff signed in", "staff", a.Name)
	s.setCookie(w, sessionCookie, token, s.opts.SessionTTL)
	s.setCookie(w, preCookie, "", 0)
	http.Redirect(w, r, "/staff/day", http.StatusSeeOther)
}

// locked reports whether a's failed logins lock it at now.
func (s *Server) locked(a booking.StaffAccount, now time.Time) bool {
	return a.Failures >= s.opts.MaxFailures && now.Before(a.LastFailureAt.Add(s.opts.LockFor))
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, q *request) {
	if err := s.opts.Staff.EndStaffSession(r.Context(), tokenHash(q.token), s.opts.Now()); err != nil {
		s.log.Error("ending a staff session failed", "staff", q.account.Name, "error", err)
		s.fail(w, r, q.lang, q, http.StatusInternalServerError, "error.internal")
		return
	}
	s.setCookie(w, sessionCookie, "", 0)
	http.Redirect(w, r, "/staff/login", http.StatusSeeOther)
}

// storeFailure answers a store error: the expected ones with their
// message and status, anything else logged once and said as "nothing was
// changed".
func (s *Server) storeFailure(w http.ResponseWriter, r *http.Request, q *request, what string, err error) {
	switch {
	case errors.Is(err, booking.ErrNotPermitted):
		s.log.Warn("staff refused another clinic", "staff", q.account.Name, "action", what)
		s.fail(w, r, q.lang, q, http.StatusForbidden, "error.forbidden")
	case errors.Is(err, booking.ErrNotFound):
		s.fail(w, r, q.lang, q, http.StatusNotFound, "error.not_found")
	case errors.Is(err, booking.ErrAppointmentStarted):
		s.fail(w, r, q.lang, q, http.StatusConflict, "error.started")
	case errors.Is(err, booking.ErrAppointmentNotStarted):
		s.fail(w, r, q.lang, q, http.StatusConflict, "error.not_started")
	default:
		s.log.Error("staff action failed", "staff", q.account.Name, "action", what, "error", err)
		s.fail(w, r, q.lang, q, http.StatusInternalServerError, "error.internal")
	}
}
