package dialog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// prompt asks the current state's question: its message and its options,
// carrying the session's step nonce.
func (t *turn) prompt() error {
	s := t.s
	a := s.Answers
	var r Reply
	switch states[s.State].kind {
	case kMenu:
		r = t.reply("menu.prompt", nil)
	case kLanguage:
		r = t.reply("lang.prompt", nil)
	case kDocType:
		tip := "tip.verify"
		if a.Flow == flowBook {
			tip = "tip.book"
		}
		r = t.reply("doc.type.prompt", map[string]any{"tip": t.text(tip, nil)})
	case kDocNumber:
		if a.DocType == string(booking.DocumentHKID) {
			r = t.reply("doc.hkid.prompt", nil)
		} else {
			r = t.reply("doc.other.prompt", nil)
		}
	case kBirth:
		// The seed's cancel screen writes the year-only example day first.
		example := "1970/1/1"
		if a.Flow == flowCancel {
			example = "01/01/1970"
		}
		r = t.reply("dob.prompt", map[string]any{"example": example})
	case kBirthCheck:
		r = t.reply("dob.confirm", map[string]any{"date": locales.FormatBirthDate(s.Lang, a.BirthYear, time.Month(a.BirthMon), a.BirthDay)})
	case kMobile:
		r = t.reply("mobile.prompt", nil)
		r.AskContact = true
	case kConsent:
		r = t.reply("consent.prompt", nil)
	case kBookService:
		q, err := t.quota()
		if err != nil {
			return err
		}
		if !q.Clinic.Bookable() && !q.Video.Bookable() {
			r = t.reply("service.none", nil)
			r.Options = []Option{t.exitOption()}
			break
		}
		r = t.reply("service.prompt", map[string]any{"clinic": t.quotaWord(q.Clinic), "video": t.quotaWord(q.Video)})
	case kIneligible:
		reason := booking.ReasonAge
		var el *booking.EligibilityError
		if errors.As(t.e.svc.CheckEligibility(t.patient(), booking.ServiceVideo, t.now()), &el) {
			reason = el.Reason
		}
		r = t.reply("video.ineligible."+string(reason), map[string]any{"note": t.text("video.note", nil)})
	case kAlready:
		b, ok, err := t.shownBooking()
		if err != nil {
			return err
		}
		if !ok {
			r = t.reply("already.booked.hidden", nil)
			break
		}
		details, err := t.details(b)
		if err != nil {
			return err
		}
		r = t.reply("already.booked", map[string]any{"details": details})
	case kRegion:
		r = t.reply("region.prompt", nil)
	case kClinic:
		clinics, err := t.e.svc.Clinics(t.ctx, booking.Region(a.Region))
		if err != nil {
			return fmt.Errorf("dialog: clinics: %w", err)
		}
		q, err := t.quota()
		if err != nil {
			return err
		}
		var lines []string
		open := false
		for _, c := range clinics {
			st := q.Clinics[c.ID]
			open = open || st.Bookable()
			lines = append(lines, t.text("clinic.line", map[string]any{"name": c.Name.In(s.Lang), "status": t.quotaWord(st)}))
		}
		region := t.text("region."+a.Region, nil)
		r = t.reply("clinic.prompt", map[string]any{"region": region, "list": strings.Join(lines, "\n")})
		if !open {
			r.Text += "\n" + t.text("clinic.region_full", map[string]any{"region": region})
		}
	case kOffer, kAccept:
		slot, err := t.e.svc.Store.Slot(t.ctx, booking.SlotID(a.SlotID))
		if err != nil {
			return fmt.Errorf("dialog: offered slot: %w", err)
		}
		place, err := t.place(slot)
		if err != nil {
			return err
		}
		key := "offer.prompt"
		if states[s.State].kind == kAccept {
			key = "accept.prompt"
		}
		r = t.reply(key, map[string]any{"place": place, "when": t.text("detail.when", map[string]any{"when": t.when(slot)})})
	case kSearch:
		r = t.reply("search.prompt", nil)
	case kSlots:
		r = t.reply("slots.prompt", map[string]any{"page": a.Page + 1})
		choices, err := t.choices()
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(choices, func(c choice) bool { return strings.HasPrefix(c.id, prefixSlot) }) {
			r.Text += "\n" + t.text("slots.none", nil)
		}
	case kVerifyService:
		r = t.reply("verify.service.prompt", nil)
	case kBooked:
		if t.made == nil {
			r = t.reply("done.again", map[string]any{"ref": a.Reference})
			r.Options = []Option{t.exitOption()}
			break
		}
		var err error
		if r, err = t.bookedReply(*t.made); err != nil {
			return err
		}
	case kEnquiryResult, kCancelShow, kCancelConfirm, kCancelled:
		key := map[kind]string{kEnquiryResult: "enquiry.done", kCancelShow: "cancel.show", kCancelConfirm: "cancel.confirm", kCancelled: "cancel.done"}[states[s.State].kind]
		b, ok, err := t.shownBooking()
		if err != nil {
			return err
		}
		if !ok {
			r = t.reply("done.again", map[string]any{"ref": a.Reference})
			r.Options = []Option{t.exitOption()}
			break
		}
		details, err := t.details(b)
		if err != nil {
			return err
		}
		r = t.reply(key, map[string]any{"details": details})
		if k := states[s.State].kind; k == kEnquiryResult || k == kCancelled {
			r.Options = []Option{t.exitOption()}
		}
	default:
		return fmt.Errorf("dialog: no prompt for state %q", s.State)
	}
	if r.Options == nil {
		choices, err := t.choices()
		if err != nil {
			return err
		}
		for _, c := range choices {
			if !c.full {
				r.Options = append(r.Options, Option{ID: c.id, Label: c.label(t.e.cat, s.Lang)})
			}
		}
		if k := states[s.State].kind; k == kIneligible || k == kAlready || k == kCancelShow {
			r.Options = append(r.Options, t.exitOption())
		}
	}
	if len(r.Options) > 0 {
		r.Nonce = s.Nonce
	}
	r.Replace = t.replace
	t.replies = append(t.replies, r)
	return nil
}

func (t *turn) exitOption() Option {
	return Option{ID: optExit, Label: t.text("opt.exit", nil)}
}

func (t *turn) quotaWord(q booking.QuotaStatus) string {
	level := q.Level
	if level == "" {
		level = booking.QuotaFull
	}
	return t.text("quota."+string(level), nil)
}

// when is a slot's period in Hong Kong time, in the session's language.
func (t *turn) when(sl booking.Slot) string {
	return locales.FormatPeriod(t.s.Lang, t.local(sl.Start), t.local(sl.End))
}

// place is where a slot is: its clinic, or the video service.
func (t *turn) place(sl booking.Slot) (string, error) {
	if sl.Service == booking.ServiceVideo {
		return t.text("detail.service", map[string]any{"service": t.text("service.video", nil)}), nil
	}
	c, err := t.e.svc.Clinic(t.ctx, sl.ClinicID)
	if err != nil {
		return "", fmt.Errorf("dialog: clinic: %w", err)
	}
	return t.text("detail.clinic", map[string]any{"clinic": c.Name.In(t.s.Lang)}), nil
}

// shownBooking is the booking the current step shows: the one this update
// made or found, or the one the answers refer to. ok is false when there is
// none to show (a patient's booking the booker may not see).
func (t *turn) shownBooking() (booking.Booking, bool, error) {
	if t.made != nil {
		return *t.made, true, nil
	}
	a := t.s.Answers
	if a.Reference == "" || a.SlotID == 0 || a.DocNumber == "" {
		return booking.Booking{}, false, nil
	}
	slot, err := t.e.svc.Store.Slot(t.ctx, booking.SlotID(a.SlotID))
	if err != nil {
		return booking.Booking{}, false, fmt.Errorf("dialog: booked slot: %w", err)
	}
	doc := t.patient().Document
	return booking.Booking{Reference: booking.Reference(a.Reference), Slot: slot, PatientMasked: doc.Masked(), DocumentType: doc.Type}, true, nil
}

// details lists a booking for the booker: reference, masked patient,
// service, clinic and address, and the time in Hong Kong.
func (t *turn) details(b booking.Booking) (string, error) {
	lang := t.s.Lang
	lines := []string{
		t.text("detail.ref", map[string]any{"ref": b.Reference}),
		t.text("detail.patient", map[string]any{"patient": b.PatientMasked}),
		t.text("detail.service", map[string]any{"service": t.text("service."+string(b.Slot.Service), nil)}),
	}
	if b.Slot.Service == booking.ServiceClinic {
		c, err := t.e.svc.Clinic(t.ctx, b.Slot.ClinicID)
		if err != nil {
			return "", fmt.Errorf("dialog: clinic: %w", err)
		}
		lines = append(lines, t.text("detail.clinic", map[string]any{"clinic": c.Name.In(lang)}))
		if addr := c.Address.In(lang); addr != "" {
			lines = append(lines, t.text("detail.address", map[string]any{"address": addr}))
		}
	}
	lines = append(lines, t.text("detail.when", map[string]any{"when": t.when(b.Slot)}))
	return strings.Join(lines, "\n"), nil
}

// bookedReply is the seed's success screen: the booking, the calendar file,
// the clinic's location (or, for video, the notes to prepare) and "離開".
func (t *turn) bookedReply(b booking.Booking) (Reply, error) {
	details, err := t.details(b)
	if err != nil {
		return Reply{}, err
	}
	r := t.reply("booked", map[string]any{"details": details})
	var clinic *booking.Clinic
	if b.Slot.Service == booking.ServiceClinic {
		c, err := t.e.svc.Clinic(t.ctx, b.Slot.ClinicID)
		if err != nil {
			return Reply{}, fmt.Errorf("dialog: clinic: %w", err)
		}
		clinic = &c
		// A map pin needs coordinates; the default data leaves them empty
		// where no public source gave them, and a pin at 0,0 would mislead.
		if c.Location.Known() {
			r.Text += "\n" + t.text("booked.clinic_tip", nil)
			r.Location = &Location{Name: c.Name.In(t.s.Lang), Address: c.Address.In(t.s.Lang), Lat: c.Location.Lat, Lng: c.Location.Lng}
		}
	} else {
		r.Text += "\n" + t.text("booked.video_tip", map[string]any{"note": t.text("video.note", nil)})
	}
	r.Text += "\n" + t.text("booked.exit", nil)
	summary := t.text("service."+string(b.Slot.Service), nil)
	if clinic != nil {
		summary += " – " + clinic.Name.In(t.s.Lang)
	}
	r.Calendar = calendarFile(b, clinic, t.s.Lang, summary, details, t.e.loc)
	r.Options = []Option{t.exitOption()}
	return r, nil
}
