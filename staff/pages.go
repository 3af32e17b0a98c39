package staff

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/internal/importer"
	"github.com/clinicbot/clinicbot/locales"
)

// page is what every template is given.
type page struct {
	Lang    string
	Title   string
	Path    string // the current path and query, for the language links
	Account *booking.StaffAccount
	CSRF    string
	Langs   []langLink
	Data    any
}

// langLink is one entry of the language switch.
type langLink struct {
	Lang, Name, URL string
	Current         bool
}

var langNames = map[string]string{locales.ZhHK: "繁體中文", locales.En: "English", locales.ZhCN: "简体中文"}

// T returns the message key in the page's language.
func (p *page) T(key string, args ...any) string { return text(p.Lang, key, args...) }

func (s *Server) newPage(r *http.Request, lang string, q *request, titleKey string, args ...any) *page {
	p := &page{Lang: lang, Title: text(lang, titleKey, args...)}
	if q != nil {
		p.Account = &q.account
		p.CSRF = csrfToken(q.token)
	}
	for _, l := range locales.Languages() {
		u := *r.URL
		v := u.Query()
		v.Set("lang", l)
		u.RawQuery = v.Encode()
		if r.Method != http.MethodGet {
			u.RawQuery = "lang=" + l
			u.Path = "/staff/day"
		}
		p.Langs = append(p.Langs, langLink{Lang: l, Name: langNames[l], URL: u.RequestURI(), Current: l == lang})
	}
	return p
}

// render writes page name with status; a template that fails is logged and
// answered 500 before anything is written.
func (s *Server) render(w http.ResponseWriter, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := s.pages[name].Execute(&buf, p); err != nil {
		s.log.Error("staff page failed", "page", name, "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// resultData is what the result page shows: messages, and a link back.
type resultData struct {
	Error    bool
	Messages []string
	Notice   string // a warning that stands out
	Lines    []string
	Back     string
}

// fail answers with status and one message on the result page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, lang string, q *request, status int, key string) {
	p := s.newPage(r, lang, q, "error.title")
	p.Data = resultData{Error: true, Messages: []string{text(lang, key)}, Back: "/staff/day"}
	s.render(w, status, "result", p)
}

// day is a calendar day in the console's time zone.
func (s *Server) day(r *http.Request) (time.Time, bool) {
	loc := s.opts.Location
	d := r.FormValue("date")
	if d == "" {
		now := s.opts.Now().In(loc)
		return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc), true
	}
	t, err := time.ParseInLocation(time.DateOnly, d, loc)
	return t, err == nil
}

// place is a clinic, or video consultation (ClinicID empty).
type place struct {
	Service  booking.ServiceKind
	ClinicID booking.ClinicID
	Name     string
}

// places returns the places q may see, narrowed to clinic when given; a
// clinic that is not theirs is booking.ErrNotPermitted.
func (s *Server) places(r *http.Request, q *request, clinic booking.ClinicID) ([]place, []booking.Clinic, error) {
	all, err := s.opts.Store.Clinics(r.Context())
	if err != nil {
		return nil, nil, err
	}
	if clinic != "" && !q.account.Sees(clinic) {
		return nil, nil, booking.ErrNotPermitted
	}
	var out []place
	var visible []booking.Clinic
	for _, c := range all {
		if !q.account.Sees(c.ID) {
			continue
		}
		visible = append(visible, c)
		if clinic == "" || clinic == c.ID {
			out = append(out, place{Service: booking.ServiceClinic, ClinicID: c.ID, Name: c.Name.In(q.lang)})
		}
	}
	if clinic != "" && len(out) == 0 {
		return nil, nil, booking.ErrNotFound
	}
	if q.account.Admin() && clinic == "" {
		out = append(out, place{Service: booking.ServiceVideo, Name: text(q.lang, "day.video")})
	}
	return out, visible, nil
}

// The day page's views.
type (
	dayData struct {
		Date, Prev, Next string
		Heading          string
		Clinic           booking.ClinicID
		Clinics          []booking.Clinic
		Places           []placeView
	}
	placeView struct {
		place
		Slots []slotView
	}
	slotView struct {
		ID       booking.SlotID
		From, To string
		Capacity int
		Taken    int
		Started  bool
		Closed   *booking.SlotClosure
		Bookings []bookingView
	}
	bookingView struct {
		ID        booking.BookingID
		Reference booking.Reference
		Patient   string // masked, e.g. A123***(*)
		Document  string
		Status    string
		Active    bool
		// Attendance is the mark's text, empty when unmarked; Markable
		// says whether it may be marked (the slot started, not cancelled).
		Attendance string
		Mark       booking.Attendance
		Markable   bool
	}
)

// dayPage shows a day's slots and bookings per place.
func (s *Server) dayPage(w http.ResponseWriter, r *http.Request, q *request) {
	day, ok := s.day(r)
	if !ok {
		s.fail(w, r, q.lang, q, http.StatusBadRequest, "error.bad_request")
		return
	}
	clinic := booking.ClinicID(r.FormValue("clinic"))
	places, visible, err := s.places(r, q, clinic)
	if err != nil {
		s.storeFailure(w, r, q, "day", err)
		return
	}
	ctx := r.Context()
	from, to := day.UTC(), day.AddDate(0, 0, 1).UTC()
	closures, err := s.opts.Staff.SlotClosures(ctx, from, to)
	if err != nil {
		s.storeFailure(w, r, q, "day", err)
		return
	}
	closed := make(map[booking.SlotID]*booking.SlotClosure, len(closures))
	for i := range closures {
		closed[closures[i].SlotID] = &closures[i]
	}
	marks, err := s.opts.Staff.Attendance(ctx, from, to)
	if err != nil {
		s.storeFailure(w, r, q, "day", err)
		return
	}
	marked := make(map[booking.BookingID]booking.Attendance, len(marks))
	for _, m := range marks {
		marked[m.BookingID] = m.Mark
	}
	now := s.opts.Now()
	d := dayData{
		Date: day.Format(time.DateOnly), Prev: day.AddDate(0, 0, -1).Format(time.DateOnly),
		Next: day.AddDate(0, 0, 1).Format(time.DateOnly), Clinic: clinic, Clinics: visible,
	}
	for _, pl := range places {
		slots, err := s.opts.Store.Slots(ctx, booking.SlotQuery{Service: pl.Service, ClinicID: pl.ClinicID, From: from, To: to})
		if err != nil {
			s.storeFailure(w, r, q, "day", err)
			return
		}
		bookings, err := s.opts.Store.Bookings(ctx, booking.BookingQuery{Service: pl.Service, ClinicID: pl.ClinicID, From: from, To: to})
		if err != nil {
			s.storeFailure(w, r, q, "day", err)
			return
		}
		bySlot := make(map[booking.SlotID][]bookingView)
		for _, b := range bookings {
			bv := bookingView{
				ID: b.ID, Reference: b.Reference, Patient: b.PatientMasked,
				Document: text(q.lang, "doc."+string(b.DocumentType)),
				Status:   text(q.lang, "status."+string(b.Status)), Active: b.Status == booking.StatusActive,
				Mark:     marked[b.ID],
				Markable: b.Status != booking.StatusCancelled && !b.Slot.Start.After(now),
			}
			if bv.Mark != "" {
				bv.Attendance = text(q.lang, "attendance."+string(bv.Mark))
			}
			bySlot[b.Slot.ID] = append(bySlot[b.Slot.ID], bv)
		}
		pv := placeView{place: pl}
		for _, sl := range slots {
			pv.Slots = append(pv.Slots, slotView{
				ID: sl.ID, From: sl.Start.In(s.opts.Location).Format("15:04"), To: sl.End.In(s.opts.Location).Format("15:04"),
				Capacity: sl.Capacity, Taken: sl.Taken, Started: !sl.Start.After(now), Closed: closed[sl.ID],
				Bookings: bySlot[sl.ID],
			})
		}
		d.Places = append(d.Places, pv)
	}
	p := s.newPage(r, q.lang, q, "day.title", locales.FormatDate(q.lang, day))
	p.Data = d
	s.render(w, http.StatusOK, "day", p)
}

// maxReason is the longest reason, in characters (the forms' maxlength).
const maxReason = 500

// reason is the form's reason, which every change requires.
func reason(r *http.Request) (string, bool) {
	s := strings.TrimSpace(r.PostFormValue("reason"))
	return s, s != "" && utf8.RuneCountInString(s) <= maxReason
}

// idAndReason reads the path's {id} and the form's reason, or answers 400
// saying which is wrong and returns false.
func (s *Server) idAndReason(w http.ResponseWriter, r *http.Request, q *request) (int64, string, bool) {
	id, ok := pathID(r)
	why, hasReason := reason(r)
	switch {
	case !ok:
		s.fail(w, r, q.lang, q, http.StatusBadRequest, "error.bad_request")
		return 0, "", false
	case !hasReason:
		s.fail(w, r, q.lang, q, http.StatusBadRequest, "error.reason")
		return 0, "", false
	}
	return id, why, true
}

// pathID reads the path's {id}.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// backTo is the day page of the date and clinic the form came from.
func backTo(r *http.Request) string {
	v := make([]string, 0, 2)
	if d := r.PostFormValue("date"); d != "" {
		if _, err := time.Parse(time.DateOnly, d); err == nil {
			v = append(v, "date="+d)
		}
	}
	if c := r.PostFormValue("clinic"); c != "" {
		v = append(v, "clinic="+url.QueryEscape(c))
	}
	if len(v) == 0 {
		return "/staff/day"
	}
	return "/staff/day?" + strings.Join(v, "&")
}

func (s *Server) closeSlot(w http.ResponseWriter, r *http.Request, q *request) {
	id, why, ok := s.idAndReason(w, r, q)
	if !ok {
		return
	}
	cancelled, err := s.opts.Staff.CloseSlot(r.Context(), booking.SlotChange{Actor: q.actor(), SlotID: booking.SlotID(id), Reason: why, At: s.opts.Now()})
	if err != nil {
		s.storeFailure(w, r, q, "close_slot", err)
		return
	}
	s.log.Info("staff closed a slot", "staff", q.account.Name, "slot", id, "bookings_cancelled", len(cancelled))
	s.closedResult(w, r, q, 1, cancelled)
}

// closedResult confirms closed slots and the bookings that went with them.
func (s *Server) closedResult(w http.ResponseWriter, r *http.Request, q *request, slots int, cancelled []booking.Booking) {
	p := s.newPage(r, q.lang, q, "result.title")
	d := resultData{Messages: []string{text(q.lang, "result.closed", slots, len(cancelled))}, Back: backTo(r)}
	for _, b := range cancelled {
		d.Lines = append(d.Lines, fmt.Sprintf("%s–%s  %s  %s", b.Slot.Start.In(s.opts.Location).Format("15:04"),
			b.Slot.End.In(s.opts.Location).Format("15:04"), b.Reference, b.PatientMasked))
	}
	if len(cancelled) > 0 {
		d.Notice = text(q.lang, "result.notified")
	}
	p.Data = d
	s.render(w, http.StatusOK, "result", p)
}

func (s *Server) reopenSlot(w http.ResponseWriter, r *http.Request, q *request) {
	id, ok := pathID(r)
	if !ok {
		s.fail(w, r, q.lang, q, http.StatusBadRequest, "error.bad_request")
		return
	}
	why := strings.TrimSpace(r.PostFormValue("reason"))
	if err := s.opts.Staff.ReopenSlot(r.Context(), booking.SlotChange{Actor: q.actor(), SlotID: booking.SlotID(id), Reason: why, At: s.opts.Now()}); err != nil {
		s.storeFailure(w, r, q, "reopen_slot", err)
		return
	}
	s.log.Info("staff reopened a slot", "staff", q.account.Name, "slot", id)
	p := s.newPage(r, q.lang, q, "result.title")
	p.Data = resultData{Messages: []string{text(q.lang, "result.reopened")}, Back: backTo(r)}
	s.render(w, http.StatusOK, "result", p)
}

// closeDay closes every slot of one clinic on one day that has not
// started. Each slot is its own transaction: a failure part-way leaves the
// slots before it closed, and says so.
func (s *Server) closeDay(w http.ResponseWriter, r *http.Request, q *request) {
	day, ok := s.day(r)
	clinic := booking.ClinicID(r.PostFormValue("clinic"))
	why, hasReason := reason(r)
	switch {
	case !ok || clinic == "":
		s.fail(w, r, q.lang, q, http.StatusBadRequest, "error.bad_request")
		return
	case !q.account.Sees(clinic):
		s.storeFailure(w, r, q, "close_day", booking.ErrNotPermitted)
		return
	case !hasReason:
		s.fail(w, r, q.lang, q, http.StatusBadRequest, "error.reason")
		return
	}
	now := s.opts.Now()
	slots, err := s.opts.Store.Slots(r.Context(), booking.SlotQuery{Service: booking.ServiceClinic, ClinicID: clinic,
		From: day.UTC(), To: day.AddDate(0, 0, 1).UTC()})
	if err != nil {
		s.storeFailure(w, r, q, "close_day", err)
		return
	}
	already, err := s.opts.Staff.SlotClosures(r.Context(), day.UTC(), day.AddDate(0, 0, 1).UTC())
	if err != nil {
		s.storeFailure(w, r, q, "close_day", err)
		return
	}
	var cancelled []booking.Booking
	closed := 0
	for _, sl := range slots {
		if !sl.Start.After(now) || slices.ContainsFunc(already, func(c booking.SlotClosure) bool { return c.SlotID == sl.ID }) {
			continue
		}
		c, err := s.opts.Staff.CloseSlot(r.Context(), booking.SlotChange{Actor: q.actor(), SlotID: sl.ID, Reason: why, At: now})
		if err != nil {
			s.storeFailure(w, r, q, "close_day", err)
			return
		}
		closed++
		cancelled = append(cancelled, c...)
	}
	s.log.Info("staff closed a day", "staff", q.account.Name, "clinic", clinic, "slots", closed, "bookings_cancelled", len(cancelled))
	s.closedResult(w, r, q, closed, cancelled)
}

func (s *Server) cancelBooking(w http.ResponseWriter, r *http.Request, q *request) {
	id, why, ok := s.idAndReason(w, r, q)
	if !ok {
		return
	}
	ctx := r.Context()
	before, err := s.opts.Staff.StaffBooking(ctx, booking.BookingID(id))
	if err == nil && !q.account.Sees(before.Slot.ClinicID) {
		err = booking.ErrNotPermitted
	}
	if err != nil {
		s.storeFailure(w, r, q, "cancel_booking", err)
		return
	}
	b, err := s.opts.Staff.StaffCancel(ctx, booking.BookingChange{Actor: q.actor(), BookingID: booking.BookingID(id), Reason: why, At: s.opts.Now()})
	if err != nil {
		s.storeFailure(w, r, q, "cancel_booking", err)
		return
	}
	s.log.Info("staff cancelled a booking", "staff", q.account.Name, "booking", b.ID)
	p := s.newPage(r, q.lang, q, "result.title")
	d := resultData{Back: backTo(r)}
	if before.Status == booking.StatusCancelled {
		d.Messages = []string{text(q.lang, "result.already", b.Reference)}
	} else {
		d.Messages = []string{text(q.lang, "result.cancelled", b.Reference)}
		d.Notice = text(q.lang, "result.notified")
	}
	p.Data = d
	s.render(w, http.StatusOK, "result", p)
}

// markAttendance records whether a booking's patient came, and goes back
// to the day.
func (s *Server) markAttendance(w http.ResponseWriter, r *http.Request, q *request) {
	id, ok := pathID(r)
	mark := booking.Attendance(r.PostFormValue("mark"))
	if !ok || !mark.Valid() {
		s.fail(w, r, q.lang, q, http.StatusBadRequest, "error.bad_request")
		return
	}
	if err := s.opts.Staff.MarkAttendance(r.Context(), booking.AttendanceMark{Actor: q.actor(), BookingID: booking.BookingID(id),
		Mark: mark, At: s.opts.Now()}); err != nil {
		s.storeFailure(w, r, q, "mark_attendance", err)
		return
	}
	http.Redirect(w, r, backTo(r)+fmt.Sprintf("#booking-%d", id), http.StatusSeeOther)
}

// quotaDays is how many days the quota view shows.
const quotaDays = 7

type (
	quotaData struct {
		From, Prev, Next string
		Places           []place
		Days             []quotaDay
	}
	quotaDay struct {
		Label string
		Cells []quotaCell
	}
	quotaCell struct {
		Place           string
		Taken, Capacity int
	}
)

// quotaPage shows the days × places grid of places taken against capacity.
func (s *Server) quotaPage(w http.ResponseWriter, r *http.Request, q *request) {
	day, ok := s.day(r)
	if !ok {
		s.fail(w, r, q.lang, q, http.StatusBadRequest, "error.bad_request")
		return
	}
	places, _, err := s.places(r, q, "")
	if err != nil {
		s.storeFailure(w, r, q, "quota", err)
		return
	}
	d := quotaData{From: day.Format(time.DateOnly), Prev: day.AddDate(0, 0, -quotaDays).Format(time.DateOnly),
		Next: day.AddDate(0, 0, quotaDays).Format(time.DateOnly), Places: places}
	for i := range quotaDays {
		from := day.AddDate(0, 0, i)
		counts, err := s.opts.Store.QuotaCounts(r.Context(), from.UTC(), from.AddDate(0, 0, 1).UTC(), s.opts.Now())
		if err != nil {
			s.storeFailure(w, r, q, "quota", err)
			return
		}
		qd := quotaDay{Label: locales.FormatDate(q.lang, from)}
		for _, pl := range places {
			cell := quotaCell{Place: pl.Name}
			if j := slices.IndexFunc(counts, func(c booking.QuotaCount) bool {
				return c.Service == pl.Service && c.ClinicID == pl.ClinicID
			}); j >= 0 {
				cell.Taken, cell.Capacity = counts[j].Taken, counts[j].Capacity
			}
			qd.Cells = append(qd.Cells, cell)
		}
		d.Days = append(d.Days, qd)
	}
	p := s.newPage(r, q.lang, q, "quota.title", locales.FormatDate(q.lang, day))
	p.Data = d
	s.render(w, http.StatusOK, "quota", p)
}

func (s *Server) schedulePage(w http.ResponseWriter, r *http.Request, q *request) {
	p := s.newPage(r, q.lang, q, "schedule.title")
	p.Data = resultData{}
	s.render(w, http.StatusOK, "schedule", p)
}

// uploadSchedule imports a schedule file as `clinicbot schedule import`
// does: every row checked first, every bad row reported with its line
// number, then all or none stored. Staff of a clinic may upload only
// their clinic's slots.
func (s *Server) uploadSchedule(w http.ResponseWriter, r *http.Request, q *request) {
	answer := func(status int, d resultData) {
		p := s.newPage(r, q.lang, q, "schedule.title")
		p.Data = d
		s.render(w, status, "schedule", p)
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		answer(http.StatusBadRequest, resultData{Error: true, Messages: []string{text(q.lang, "schedule.no_file")}})
		return
	}
	defer f.Close()
	format, err := importer.FormatOf(hdr.Filename)
	if err != nil || format == importer.JSON {
		answer(http.StatusBadRequest, resultData{Error: true, Messages: []string{text(q.lang, "schedule.format")}})
		return
	}
	ctx := r.Context()
	clinics, err := s.opts.Store.Clinics(ctx)
	if err != nil {
		s.storeFailure(w, r, q, "import_schedule", err)
		return
	}
	slots, err := importer.ParseSchedule(hdr.Filename, format, f, clinics, s.opts.Location)
	var ie *importer.Error
	if errors.As(err, &ie) {
		d := resultData{Error: true, Messages: []string{text(q.lang, "schedule.errors", len(ie.Errors))}}
		for _, le := range ie.Errors {
			d.Lines = append(d.Lines, le.Error())
		}
		answer(http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		answer(http.StatusUnprocessableEntity, resultData{Error: true, Messages: []string{text(q.lang, "schedule.errors", 1)}, Lines: []string{err.Error()}})
		return
	}
	var foreign []string
	for _, sl := range slots {
		if !q.account.Sees(sl.ClinicID) || (sl.Service == booking.ServiceVideo && !q.account.Admin()) {
			name := string(sl.ClinicID)
			if sl.Service == booking.ServiceVideo {
				name = string(booking.ServiceVideo)
			}
			if !slices.Contains(foreign, name) {
				foreign = append(foreign, name)
			}
		}
	}
	if len(foreign) > 0 {
		s.log.Warn("staff refused another clinic", "staff", q.account.Name, "action", "import_schedule")
		answer(http.StatusForbidden, resultData{Error: true, Messages: []string{text(q.lang, "schedule.other", strings.Join(foreign, ", "))}})
		return
	}
	saved, err := s.opts.Store.SaveSlots(ctx, slots)
	if err != nil {
		var ve *booking.ValidationError
		if errors.As(err, &ve) && ve.Field == "capacity" {
			answer(http.StatusUnprocessableEntity, resultData{Error: true, Messages: []string{text(q.lang, "schedule.capacity")}})
			return
		}
		s.storeFailure(w, r, q, "import_schedule", err)
		return
	}
	detail := fmt.Sprintf("%s: %d slots, %d new, %d updated, %d unchanged", hdr.Filename, len(slots), saved.Added, saved.Updated, saved.Unchanged)
	if err := s.opts.Staff.RecordStaffAudit(ctx, booking.StaffAuditRecord{At: s.opts.Now(), Staff: q.account.Name,
		Action: booking.StaffAuditImport, ClinicID: q.account.ClinicID, Detail: detail}); err != nil {
		// The slots are stored; the missing audit line is what failed.
		s.log.Error("recording a schedule import in the staff audit failed", "staff", q.account.Name, "error", err)
	}
	s.log.Info("staff imported a schedule", "staff", q.account.Name, "slots", len(slots), "added", saved.Added, "updated", saved.Updated)
	answer(http.StatusOK, resultData{Messages: []string{text(q.lang, "schedule.done", len(slots), saved.Added, saved.Updated, saved.Unchanged)}})
}
