// Package dialogtest runs golden conversation transcripts over any
// booking.Store and dialog.SessionStore, so that the same transcripts check
// the in-process and the Redis session stores. Every message goes the way
// a Telegram update goes: through a bot.Router (the booker's lock, update
// deduplication, commit) to a dialog.Engine.
//
// A transcript is a txtar archive. Its comment describes the conversation
// and may set, one per line, "hint: en" (the client's language hint),
// "booker: telegram:1001", "clinics: wan-tsui,kennedy-town" (the clinics
// that have slots; default all), "clinic-capacity: 4", "video-capacity: 6"
// "days: 3", "unlocated: wan-tsui" (clinics imported without address or
// coordinates), "max-active: 1" and "max-patients: 2" (the limits on one
// booker; default booking.DefaultRules'), "remind: 24h" (reminders that
// long ahead, at any hour; default none). Its file "chat" is the
// conversation:
//
//	> text            the booker types text
//	> [id]            the booker presses the option id of the latest message
//	> [id] stale      ... of the message before it (an old button); REF1,
//	                  REF2, … in id stand for the references they name
//	> [rc*]           ... the newest option offered whose id starts rc
//	> contact 9123…   the booker shares a contact
//	! advance 16m     the clock moves on
//	! restart         a fresh Engine and Router take over (same stores)
//	! take            someone else takes every place of the slot on offer
//	                  that is not held for a booker
//	! fill [clinic]   someone else takes every place left in every slot (of
//	                  the clinic)
//	! again           the last update arrives again, with the same id
//	! together 2      the next 2 updates arrive at once, before any answer
//	! notices         the outbox's notices due by now are claimed and each
//	                  handed to the router as the dispatcher does
//	! close REF1 why  an operator closes the slot of booking REF1
//	< …               what the bot answered (rewritten by -update)
//	# …               a comment
//
// The clock starts at Start; booking references are written REF1, REF2, …
// in order of appearance.
package dialogtest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/booking/bookingtest"
	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/dialog"
)

// Update makes RunTranscripts (and other golden-file tests) rewrite their
// files instead of comparing them: go test -update.
var Update = flag.Bool("update", false, "rewrite golden files")

// Start is when every transcript begins: Saturday 28 November 2026, 08:00
// in Hong Kong.
var Start = time.Date(2026, 11, 28, 8, 0, 0, 0, booking.HongKong())

// MaxSessionBytes is the most a stored session may take.
const MaxSessionBytes = 2048

// Clock is the fake clock of transcripts: bookingtest's, shared with the
// store conformance suite.
type Clock = bookingtest.Clock

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return bookingtest.NewClock(t) }

// Config says how to build the stores of one transcript.
type Config struct {
	// NewBookingStore returns an empty, ready booking store.
	NewBookingStore func(t testing.TB) booking.Store
	// NewSessionStore returns an empty session store on the clock now.
	NewSessionStore func(t testing.TB, now func() time.Time) dialog.SessionStore
}

// Schedule says which slots a transcript's store starts with.
type Schedule struct {
	Clinics        []booking.ClinicID // nil: every default clinic
	Unlocated      []booking.ClinicID // clinics saved without address or coordinates
	ClinicCapacity int
	VideoCapacity  int
	Days           int
}

// DefaultSchedule is every default clinic, 4 places a clinic slot and 6 a
// video slot, for 3 days from Start.
func DefaultSchedule() Schedule {
	return Schedule{ClinicCapacity: 4, VideoCapacity: 6, Days: 3}
}

// Env is one transcript's world: a clock, a seeded booking service and a
// session store.
type Env struct {
	Clock    *Clock
	Service  *booking.Service
	Sessions dialog.SessionStore
}

// ProtectorKey is the fixed master key of test environments.
var ProtectorKey = bytes.Repeat([]byte{0x5a}, booking.MinKeySize)

// NewEnv builds the stores of cfg at Start and seeds sched.
func NewEnv(t testing.TB, cfg Config, sched Schedule) *Env {
	t.Helper()
	ctx := context.Background()
	clock := NewClock(Start)
	store := cfg.NewBookingStore(t)
	p, err := booking.NewProtector(ProtectorKey)
	if err != nil {
		t.Fatalf("NewProtector() = %v", err)
	}
	svc := &booking.Service{Store: store, Protector: p, Rules: booking.DefaultRules(), Now: clock.Now}
	clinics := booking.DefaultClinics()
	for i, c := range clinics {
		if slices.Contains(sched.Unlocated, c.ID) {
			clinics[i].Address, clinics[i].Location = booking.Text{}, booking.Coordinates{}
		}
	}
	if err := store.SaveClinics(ctx, clinics); err != nil {
		t.Fatalf("SaveClinics() = %v", err)
	}
	ids := sched.Clinics
	if ids == nil {
		for _, c := range clinics {
			ids = append(ids, c.ID)
		}
	}
	spec := booking.DefaultSchedule(booking.DateOf(Start, booking.HongKong()), ids)
	spec.Days = sched.Days
	spec.ClinicCapacity = sched.ClinicCapacity
	spec.VideoCapacity = sched.VideoCapacity
	if len(ids) == 0 {
		spec.ClinicCapacity = 0
	}
	if spec.ClinicCapacity > 0 || spec.VideoCapacity > 0 {
		slots, err := booking.GenerateSlots(spec)
		if err != nil {
			t.Fatalf("GenerateSlots() = %v", err)
		}
		if _, err := store.SaveSlots(ctx, slots); err != nil {
			t.Fatalf("SaveSlots() = %v", err)
		}
	}
	return &Env{Clock: clock, Service: svc, Sessions: cfg.NewSessionStore(t, clock.Now)}
}

// NewRouter returns a fresh router and engine over the environment. A
// session store that is a bot.Coordinator (Redis) coordinates itself; any
// other is wrapped in a bot.MemoryCoordinator, as the embedded default does.
func (env *Env) NewRouter(t testing.TB) *bot.Router {
	t.Helper()
	coord, ok := env.Sessions.(bot.Coordinator)
	if !ok {
		coord = bot.NewMemoryCoordinator(env.Sessions, env.Clock.Now)
	}
	return bot.NewRouter(env.NewEngine(t), coord, bot.Options{
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
	})
}

// NewEngine returns a fresh engine over the environment.
func (env *Env) NewEngine(t testing.TB) *dialog.Engine {
	t.Helper()
	e, err := dialog.New(env.Service, dialog.Options{
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Now:    env.Clock.Now,
	})
	if err != nil {
		t.Fatalf("dialog.New() = %v", err)
	}
	return e
}

// testWriter sends the engine's log to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// RunTranscripts runs every dir/*.txtar as a subtest and returns the states
// the conversations entered, sorted.
func RunTranscripts(t *testing.T, dir string, cfg Config) []string {
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts in %s (%v)", dir, err)
	}
	var mu sync.Mutex
	seen := make(map[string]bool)
	t.Run("transcripts", func(t *testing.T) {
		for _, file := range files {
			name := strings.TrimSuffix(filepath.Base(file), ".txtar")
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				states := runFile(t, file, cfg)
				mu.Lock()
				defer mu.Unlock()
				for _, s := range states {
					seen[s] = true
				}
			})
		}
	})
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func runFile(t *testing.T, file string, cfg Config) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ar := txtar.Parse(data)
	var chat *txtar.File
	for i := range ar.Files {
		if ar.Files[i].Name == "chat" {
			chat = &ar.Files[i]
		}
	}
	if chat == nil {
		t.Fatalf("%s: no chat file", file)
	}
	h, err := parseHeader(string(ar.Comment))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	env := NewEnv(t, cfg, h.sched)
	if h.maxActive > 0 {
		env.Service.Rules.MaxActivePerBooker = h.maxActive
	}
	if h.maxPatients > 0 {
		env.Service.Rules.MaxPatientsPerHour = h.maxPatients
	}
	env.Service.Reminders = booking.Reminders{Before: h.remind, Location: booking.HongKong()}
	r := &runner{t: t, env: env, router: env.NewRouter(t), header: h, refs: make(map[string]string)}
	got := r.run(string(chat.Data))
	if *Update {
		chat.Data = []byte(got)
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
		return r.states
	}
	if diff := cmp.Diff(string(chat.Data), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s\n(go test -update rewrites it)", file, diff)
	}
	return r.states
}

type header struct {
	hint   string
	booker booking.Booker
	sched  Schedule
	// maxActive and maxPatients replace the default limits on one booker.
	maxActive, maxPatients int
	// remind is how long ahead reminders are written; zero: none.
	remind time.Duration
}

func parseHeader(comment string) (header, error) {
	h := header{booker: booking.Booker{Channel: booking.ChannelTelegram, ID: "1001"}, sched: DefaultSchedule()}
	for _, line := range strings.Split(comment, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var err error
		switch strings.TrimSpace(k) {
		case "hint":
			h.hint = v
		case "booker":
			ch, id, _ := strings.Cut(v, ":")
			h.booker = booking.Booker{Channel: booking.Channel(ch), ID: id}
		case "clinics":
			h.sched.Clinics = []booking.ClinicID{}
			for _, id := range strings.Split(v, ",") {
				if id = strings.TrimSpace(id); id != "" {
					h.sched.Clinics = append(h.sched.Clinics, booking.ClinicID(id))
				}
			}
		case "unlocated":
			for _, id := range strings.Split(v, ",") {
				h.sched.Unlocated = append(h.sched.Unlocated, booking.ClinicID(strings.TrimSpace(id)))
			}
		case "clinic-capacity":
			h.sched.ClinicCapacity, err = strconv.Atoi(v)
		case "video-capacity":
			h.sched.VideoCapacity, err = strconv.Atoi(v)
		case "days":
			h.sched.Days, err = strconv.Atoi(v)
		case "max-active":
			h.maxActive, err = strconv.Atoi(v)
		case "max-patients":
			h.maxPatients, err = strconv.Atoi(v)
		case "remind":
			h.remind, err = time.ParseDuration(v)
		}
		if err != nil {
			return h, fmt.Errorf("header %q: %w", line, err)
		}
	}
	return h, nil
}

type runner struct {
	t      *testing.T
	env    *Env
	router *bot.Router
	header header
	// last is the latest update sent; together counts the updates still
	// to be sent at once, pending holds them.
	last     bot.Update
	updates  int
	together int
	pending  []bot.Update
	out      strings.Builder
	nonces   []string // the nonces of the messages with options, oldest first
	refs     map[string]string
	states   []string
	others   int
	// noticing says the answer being written is a notice's: its calendar
	// file's SEQUENCE, STATUS and alarms are shown too.
	noticing bool
	// offered is every option id offered so far, oldest first.
	offered []string
}

func (r *runner) run(chat string) string {
	for _, line := range strings.Split(strings.TrimRight(chat, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "<"):
			continue
		case line == ">" || strings.HasPrefix(line, "> "):
			r.out.WriteString(line + "\n")
			r.input(strings.TrimPrefix(strings.TrimPrefix(line, ">"), " "))
		case strings.HasPrefix(line, "! "):
			r.out.WriteString(line + "\n")
			r.directive(strings.TrimPrefix(line, "! "))
		default:
			r.out.WriteString(line + "\n")
		}
	}
	return r.out.String()
}

var optionInput = regexp.MustCompile(`^\[([^\]]+)\]( stale)?$`)

func (r *runner) input(text string) {
	in := dialog.Input{Kind: dialog.InputText, Text: text, LanguageHint: r.header.hint}
	if m := optionInput.FindStringSubmatch(text); m != nil {
		in.Kind, in.Option, in.Text = dialog.InputOption, r.expand(r.unscrub(m[1])), ""
		switch {
		case m[2] != "" && len(r.nonces) >= 2:
			in.Nonce = r.nonces[len(r.nonces)-2]
		case len(r.nonces) >= 1:
			in.Nonce = r.nonces[len(r.nonces)-1]
		}
	} else if phone, ok := strings.CutPrefix(text, "contact "); ok {
		in.Kind, in.Phone, in.Text = dialog.InputContact, phone, ""
	}
	r.updates++
	u := bot.Update{Booker: r.header.booker, ID: strconv.Itoa(r.updates), Input: in}
	r.last = u
	if r.together > 0 {
		r.pending = append(r.pending, u)
		if r.together--; r.together == 0 {
			r.sendTogether()
		}
		return
	}
	r.answer(r.send(u))
}

// send hands u to the router as an adapter does and returns its answer.
func (r *runner) send(u bot.Update) dialog.Result {
	res, err := r.router.Handle(context.Background(), u)
	if err != nil {
		r.t.Fatalf("Handle(update %s) = %v", u.ID, err)
	}
	return res
}

// sendTogether dispatches the pending updates at once, in order, as an
// adapter's read loop does, and writes their answers in that order.
func (r *runner) sendTogether() {
	updates := r.pending
	r.pending = nil
	results := make([]chan dialog.Result, len(updates))
	for i, u := range updates {
		results[i] = make(chan dialog.Result, 1)
		err := r.router.Dispatch(context.Background(), u, func(res dialog.Result, err error) {
			if err != nil {
				r.t.Errorf("Dispatch(update %s) = %v", u.ID, err)
			}
			results[i] <- res
		})
		if err != nil {
			r.t.Fatalf("Dispatch(update %s) = %v", u.ID, err)
		}
	}
	for i, u := range updates {
		r.out.WriteString("< (answer to update " + u.ID + ")\n")
		r.answer(<-results[i])
	}
}

// answer writes what the bot answered.
func (r *runner) answer(res dialog.Result) {
	if len(res.Replies) == 0 {
		r.out.WriteString("< (nothing: the update was taken into effect before)\n")
		r.checkSession()
		return
	}
	r.states = append(r.states, res.States...)
	switch {
	case res.FirstSensitive:
		r.out.WriteString("< (personal data: the booker's message may be deleted, and the booker told so, once a conversation)\n")
	case res.Sensitive:
		r.out.WriteString("< (personal data: the booker's message may be deleted)\n")
	}
	if res.Retract {
		r.out.WriteString("< (the question answered repeated personal data: it may be retracted)\n")
	}
	for i, rep := range res.Replies {
		if i > 0 {
			r.out.WriteString("<\n")
		}
		r.reply(rep)
	}
	r.checkOK(res)
	r.checkSession()
}

// okWords are how the "OK" button is named in the three languages' texts.
var okWords = []string{"「確定」", "「确定」", `"OK"`}

// checkOK holds that an answer telling the booker to press OK offers it.
func (r *runner) checkOK(res dialog.Result) {
	mentioned, offered := false, false
	for _, rep := range res.Replies {
		for _, w := range okWords {
			mentioned = mentioned || strings.Contains(rep.Text, w)
		}
		for _, o := range rep.Options {
			offered = offered || o.ID == "ok"
		}
	}
	if mentioned && !offered {
		r.t.Errorf("an answer says to press OK but offers no OK button: %q", res.Replies[len(res.Replies)-1].Text)
	}
}

func (r *runner) reply(rep dialog.Reply) {
	w := func(s string) { r.out.WriteString(strings.TrimRight("< "+r.scrub(s), " ") + "\n") }
	if rep.Replace {
		w("(replaces the previous message)")
	}
	for _, line := range strings.Split(rep.Text, "\n") {
		w(line)
	}
	for i, o := range rep.Options {
		w(fmt.Sprintf("  %d. %s [%s]", i+1, o.Label, noticeToken.ReplaceAllString(o.ID, "${1}TOKEN")))
		r.offered = append(r.offered, o.ID)
	}
	if len(rep.Options) > 0 {
		if rep.Nonce == "" {
			r.t.Errorf("reply %q has options but no nonce", rep.Key)
		}
		r.nonces = append(r.nonces, rep.Nonce)
	}
	if f := rep.Calendar; f != nil {
		w(fmt.Sprintf("(calendar %s %s)", f.Name, f.MIME))
		for _, line := range strings.Split(string(f.Data), "\r\n") {
			for _, p := range []string{"UID:", "SEQUENCE:", "DTSTART;", "DTEND;", "SUMMARY:", "LOCATION:", "GEO:", "TZID:", "STATUS:", "TRIGGER:"} {
				if strings.HasPrefix(line, p) && (r.noticing || !slices.Contains([]string{"STATUS:", "TRIGGER:"}, p)) {
					w("(  " + line + ")")
				}
			}
		}
	}
	if l := rep.Location; l != nil {
		w(fmt.Sprintf("(location %s | %s | %g,%g)", l.Name, l.Address, l.Lat, l.Lng))
	}
}

var reference = regexp.MustCompile(`\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b`)

// scrub writes booking references, which are random, as REF1, REF2, ….
func (r *runner) scrub(s string) string {
	for _, ref := range reference.FindAllString(s, -1) {
		if _, ok := r.refs[ref]; !ok {
			r.refs[ref] = "REF" + strconv.Itoa(len(r.refs)+1)
		}
	}
	for ref, name := range r.refs {
		plain := strings.ReplaceAll(ref, "-", "")
		s = strings.NewReplacer(ref, name, plain, name, strings.ToLower(plain), strings.ToLower(name)).Replace(s)
	}
	return s
}

// unscrub writes the booking references named REF1, REF2, … back as they
// are, in an option id ("b:REF2", a booking of "my bookings").
func (r *runner) unscrub(id string) string {
	for ref, name := range r.refs {
		id = regexp.MustCompile(`\b`+name+`\b`).ReplaceAllString(id, ref)
	}
	return id
}

// checkSession holds the size limit of a stored session.
func (r *runner) checkSession() {
	s, err := r.env.Sessions.Load(context.Background(), dialog.SessionKey(r.header.booker))
	if err != nil {
		r.t.Fatalf("Load() = %v", err)
	}
	data, err := s.MarshalBinary()
	if err != nil {
		r.t.Fatalf("MarshalBinary() = %v", err)
	}
	if len(data) > MaxSessionBytes {
		r.t.Errorf("session in state %s takes %d bytes, more than %d", s.State, len(data), MaxSessionBytes)
	}
}

func (r *runner) directive(d string) {
	t := r.t
	ctx := context.Background()
	fields := strings.Fields(d)
	switch {
	case len(fields) == 2 && fields[0] == "advance":
		dur, err := time.ParseDuration(fields[1])
		if err != nil {
			t.Fatalf("! %s: %v", d, err)
		}
		r.env.Clock.Advance(dur)
	case d == "restart":
		r.router.Close()
		r.router.Wait()
		r.router = r.env.NewRouter(t)
	case d == "again":
		if r.last.ID == "" {
			t.Fatalf("! again: no update sent yet")
		}
		r.answer(r.send(r.last))
	case len(fields) == 2 && fields[0] == "together":
		n, err := strconv.Atoi(fields[1])
		if err != nil || n < 2 {
			t.Fatalf("! %s: want a count of at least 2", d)
		}
		r.together = n
	case fields[0] == "fill" && len(fields) <= 2:
		q := booking.SlotQuery{OpenOnly: true, At: r.env.Clock.Now()}
		if len(fields) == 2 {
			q.Service, q.ClinicID = booking.ServiceClinic, booking.ClinicID(fields[1])
		}
		slots, err := r.env.Service.Store.Slots(ctx, q)
		if err != nil {
			t.Fatalf("Slots() = %v", err)
		}
		for _, sl := range slots {
			r.fill(sl.ID)
		}
	case d == "notices":
		r.notices()
	case len(fields) >= 3 && fields[0] == "close":
		r.closeSlot(fields[1], strings.Join(fields[2:], " "))
	case d == "take":
		s, err := r.env.Sessions.Load(ctx, dialog.SessionKey(r.header.booker))
		if err != nil {
			t.Fatalf("Load() = %v", err)
		}
		if s.Answers.SlotID == 0 {
			t.Fatalf("! take: no slot on offer in state %s", s.State)
		}
		r.fill(booking.SlotID(s.Answers.SlotID))
	default:
		t.Fatalf("unknown directive %q", d)
	}
}

// fill books every place of a slot that other patients can book: not
// those held for a booker while their hold lives.
func (r *runner) fill(id booking.SlotID) {
	ctx := context.Background()
	slot, err := r.env.Service.Store.Slot(ctx, id)
	if err != nil {
		r.t.Fatalf("Slot(%d) = %v", id, err)
	}
	for range slot.Remaining() {
		r.others++
		doc, err := booking.ParseOtherDocument(fmt.Sprintf("ZZ%06d", r.others))
		if err != nil {
			r.t.Fatalf("ParseOtherDocument() = %v", err)
		}
		_, err = r.env.Service.Book(ctx, booking.BookRequest{
			Patient:   booking.Patient{Document: doc, DateOfBirth: booking.Date{Year: 1980, Month: 1, Day: 1}, Mobile: "91234567"},
			Booker:    booking.Booker{Channel: booking.ChannelConsole, ID: "other"},
			SlotID:    id,
			ConsentAt: r.env.Clock.Now(),
		})
		if errors.Is(err, booking.ErrSlotTaken) {
			return // the rest is held
		}
		if err != nil {
			r.t.Fatalf("Book(other patient) = %v", err)
		}
	}
}
