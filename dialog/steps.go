package dialog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// Option IDs. They are short and stable: Telegram callback data (64 bytes)
// carries one with the step nonce.
const (
	optBook          = "book"
	optEnquire       = "enq"
	optCancel        = "cxl"
	optHKID          = "hkid"
	optOther         = "other"
	optYes           = "yes"
	optNo            = "no"
	optOK            = "ok"
	optClinic        = "clinic"
	optVideo         = "video"
	optAccept        = "accept"
	optDecline       = "decline"
	optNext          = "next"
	optPrev          = "prev"
	optOtherSlot     = "slots"
	optCancelBooking = "cxlb"
	prefixRegion     = "r:"
	prefixClinic     = "c:"
	prefixSlot       = "s:"
	prefixLang       = "l:"
)

// handle reads the input at the current state and returns the event it
// causes; "" asks the same question again, a refuse error says why the
// answer was not taken.
func (t *turn) handle() (string, error) {
	s := t.s
	a := &s.Answers
	switch states[s.State].kind {
	case kMenu, kBooked, kEnquiryResult, kCancelled:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		flow, event := flowBook, evBook
		switch c.id {
		case optEnquire:
			flow, event = flowEnquire, evEnquire
		case optCancel:
			flow, event = flowCancel, evCancel
		}
		*a = Answers{Flow: flow, FlowID: newFlowID()}
		return event, nil

	case kLanguage:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		s.Lang = strings.TrimPrefix(c.id, prefixLang)
		t.say("lang.set", nil)
		t.settled = true
		if len(s.History) == 0 {
			return "", t.settle(stMenu)
		}
		f := s.History[len(s.History)-1]
		s.History = s.History[:len(s.History)-1]
		return "", t.settle(f.State)

	case kDocType:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		a.DocType = map[string]string{optHKID: string(booking.DocumentHKID), optOther: string(booking.DocumentOther)}[c.id]
		a.DocNumber = ""
		return evDocType, nil

	case kDocNumber:
		text, err := t.typed()
		if err != nil {
			return "", err
		}
		t.sensitive = true
		doc, err := booking.ParseDocument(booking.DocumentType(a.DocType), text)
		if err != nil {
			return "", t.refusal(err)
		}
		a.DocNumber = doc.Number
		return evEntered, nil

	case kBirth:
		text, err := t.typed()
		if err != nil {
			return "", err
		}
		t.sensitive = true
		dob, err := booking.ParseDateOfBirth(text, booking.DateOf(t.now(), t.e.loc))
		if err != nil {
			return "", t.refusal(err)
		}
		a.BirthYear, a.BirthMon, a.BirthDay = dob.Year, int(dob.Month), dob.Day
		return evEntered, nil

	case kBirthCheck:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		if c.id == optNo {
			a.BirthYear, a.BirthMon, a.BirthDay = 0, 0, 0
			return evRetry, nil
		}
		return evConfirm, nil

	case kMobile:
		var text string
		switch t.in.Kind {
		case InputContact:
			text = t.in.Phone
		case InputText:
			text = t.in.Text
		default:
			return "", refuse("input.need_text", nil)
		}
		t.sensitive = true
		m, err := booking.ParseMobile(text)
		if err != nil {
			return "", t.refusal(err)
		}
		a.Mobile = string(m)
		return evEntered, nil

	case kConsent:
		if _, err := t.choose(); err != nil {
			return "", refuse("consent.required", nil)
		}
		a.ConsentAt = t.now().UTC()
		return evConfirm, nil

	case kBookService:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		if c.id == optClinic {
			a.Service = string(booking.ServiceClinic)
			return evClinic, nil
		}
		a.Service = string(booking.ServiceVideo)
		if t.e.svc.CheckEligibility(t.patient(), booking.ServiceVideo, t.now()) != nil {
			return evRefused, nil
		}
		return evVideo, nil

	case kIneligible:
		if _, err := t.choose(); err != nil {
			return "", err
		}
		a.Service = string(booking.ServiceClinic)
		return evClinic, nil

	case kAlready:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		// The patient's document and date of birth carry over: the booker
		// goes on to the rest of the seed's verification (B4/C4, B5/C5).
		*a = Answers{DocType: a.DocType, DocNumber: a.DocNumber, BirthYear: a.BirthYear, BirthMon: a.BirthMon, BirthDay: a.BirthDay, FlowID: newFlowID()}
		if c.id == optEnquire {
			a.Flow = flowEnquire
			return evEnquire, nil
		}
		a.Flow = flowCancel
		return evCancel, nil

	case kRegion:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		a.Region = strings.TrimPrefix(c.id, prefixRegion)
		return evRegion, nil

	case kClinic:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		a.ClinicID = strings.TrimPrefix(c.id, prefixClinic)
		return evClinic, nil

	case kOffer:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		if c.id == optDecline {
			return evDecline, nil
		}
		return evAccept, nil

	case kSearch:
		if _, err := t.choose(); err != nil {
			return "", err
		}
		a.Page = 0
		return evConfirm, nil

	case kSlots:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		switch c.id {
		case optNext:
			a.Page++
		case optPrev:
			a.Page--
		default:
			id, _ := strconv.ParseInt(strings.TrimPrefix(c.id, prefixSlot), 10, 64)
			a.SlotID = id
			return evPick, nil
		}
		s.Nonce = newNonce()
		t.replace = true
		return "", nil

	case kAccept:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		if c.id == optOtherSlot {
			a.SlotID = 0
			return evOtherSlot, nil
		}
		return evAccept, nil

	case kVerifyService:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		if c.id == optVideo {
			a.Service, a.ClinicID = string(booking.ServiceVideo), ""
		} else {
			a.Service, a.ClinicID = string(booking.ServiceClinic), strings.TrimPrefix(c.id, prefixClinic)
		}
		return evEntered, nil

	case kCancelShow:
		if _, err := t.choose(); err != nil {
			return "", err
		}
		return evCancelBook, nil

	case kCancelConfirm:
		c, err := t.choose()
		if err != nil {
			return "", err
		}
		if c.id == optNo {
			t.say("cancel.kept", nil)
			return evKeep, nil
		}
		return evConfirm, nil
	}
	return "", fmt.Errorf("dialog: no handler for state %q", s.State)
}

// choose reads the input as one of the current step's choices.
func (t *turn) choose() (choice, error) {
	choices, err := t.choices()
	if err != nil {
		return choice{}, err
	}
	c, ok := pick(t.e.cat, choices, t.in)
	if !ok {
		return choice{}, refuse("input.unknown", nil)
	}
	if c.full {
		return choice{}, refuse(c.fullKey, c.fullArgs)
	}
	return c, nil
}

// typed returns the typed text of a step that asks for text.
func (t *turn) typed() (string, error) {
	if t.in.Kind != InputText {
		return "", refuse("input.need_text", nil)
	}
	return t.in.Text, nil
}

// refusal turns a parser's error into the refusal that says why.
func (t *turn) refusal(err error) error {
	key, args, ok := t.errorMessage(err)
	if !ok {
		return err
	}
	return refuse(key, args)
}

// patient is the patient as the answers describe them.
func (t *turn) patient() booking.Patient {
	a := t.s.Answers
	return booking.Patient{
		Document:    booking.Document{Type: booking.DocumentType(a.DocType), Number: a.DocNumber},
		DateOfBirth: booking.Date{Year: a.BirthYear, Month: time.Month(a.BirthMon), Day: a.BirthDay},
		Mobile:      booking.Mobile(a.Mobile),
	}
}

func (t *turn) lookup() booking.Lookup {
	p := t.patient()
	return booking.Lookup{
		Booker:      t.booker,
		Document:    p.Document,
		DateOfBirth: p.DateOfBirth,
		Service:     booking.ServiceKind(t.s.Answers.Service),
		ClinicID:    booking.ClinicID(t.s.Answers.ClinicID),
	}
}

// enter runs the side effects of the state just entered and returns the
// event they cause, if any. A mapped booking error is said here; anything
// else is returned.
func (t *turn) enter() (string, error) {
	s := t.s
	a := &s.Answers
	svc := t.e.svc
	switch s.State {
	case stBookService:
		p := t.patient()
		b, err := svc.ActiveBooking(t.ctx, p.Document, p.DateOfBirth)
		switch {
		case errors.Is(err, booking.ErrNotFound):
			return "", nil
		case err != nil:
			return "", fmt.Errorf("dialog: active booking: %w", err)
		}
		a.Reference, a.SlotID = string(b.Reference), int64(b.Slot.ID)
		return evAlready, nil

	case stBookOffer:
		slot, err := svc.EarliestSlot(t.ctx, booking.ServiceKind(a.Service), booking.ClinicID(a.ClinicID))
		if errors.Is(err, booking.ErrQuotaFull) {
			t.sayError(err)
			return evFull, nil
		}
		if err != nil {
			return "", fmt.Errorf("dialog: earliest slot: %w", err)
		}
		a.SlotID = int64(slot.ID)
		return "", nil

	case stBookBooking:
		b, err := svc.Book(t.ctx, booking.BookRequest{
			Patient:        t.patient(),
			Booker:         t.booker,
			SlotID:         booking.SlotID(a.SlotID),
			ConsentAt:      a.ConsentAt,
			IdempotencyKey: a.FlowID + ":" + strconv.FormatInt(a.SlotID, 10),
		})
		var already *booking.AlreadyBookedError
		switch {
		case err == nil:
			t.made = &b
			a.Reference = string(b.Reference)
			return evBooked, nil
		case errors.Is(err, booking.ErrSlotTaken), errors.Is(err, booking.ErrSlotUnavailable), errors.Is(err, booking.ErrNotFound):
			t.say("slot.taken", nil)
			a.SlotID = 0
			return evTaken, nil
		case errors.As(err, &already):
			a.Reference, a.SlotID = string(already.Booking.Reference), int64(already.Booking.Slot.ID)
			return evAlready, nil
		case errors.Is(err, booking.ErrNotEligible):
			return evRefused, nil
		}
		return "", fmt.Errorf("dialog: book: %w", err)

	case stEnqVerifying:
		b, err := svc.Enquire(t.ctx, t.lookup())
		if err == nil {
			t.made = &b
			a.Reference, a.SlotID = string(b.Reference), int64(b.Slot.ID)
			return evFound, nil
		}
		return t.ended(err)

	case stCxlVerifying:
		b, err := svc.VerifyForCancel(t.ctx, t.lookup())
		if err == nil {
			t.made = &b
			a.Reference, a.SlotID = string(b.Reference), int64(b.Slot.ID)
			return evFound, nil
		}
		return t.ended(err)

	case stCxlCancelling:
		b, err := svc.Cancel(t.ctx, t.lookup(), booking.Reference(a.Reference))
		if err == nil {
			t.made = &b
			return evCancelled, nil
		}
		return t.ended(err)
	}
	return "", nil
}

// ended says a mapped error that ends the flow, or returns another.
func (t *turn) ended(err error) (string, error) {
	if _, _, ok := t.errorMessage(err); !ok {
		return "", fmt.Errorf("dialog: %s: %w", t.s.State, err)
	}
	t.sayError(err)
	return evEnded, nil
}

// choices returns what the current step offers.
func (t *turn) choices() ([]choice, error) {
	s := t.s
	a := s.Answers
	switch states[s.State].kind {
	case kMenu, kBooked, kEnquiryResult, kCancelled:
		return []choice{
			{id: optBook, key: "opt.book"},
			{id: optEnquire, key: "opt.enquire"},
			{id: optCancel, key: "opt.cancel"},
		}, nil
	case kLanguage:
		var cs []choice
		for _, lang := range locales.Languages() {
			cs = append(cs, choice{id: prefixLang + lang, key: "opt.lang." + lang})
		}
		return cs, nil
	case kDocType:
		return []choice{{id: optHKID, key: "opt.hkid"}, {id: optOther, key: "opt.other"}}, nil
	case kBirthCheck, kCancelConfirm:
		return []choice{{id: optYes, key: "opt.yes", alias: "alias.yes"}, {id: optNo, key: "opt.no", alias: "alias.no"}}, nil
	case kConsent, kSearch:
		return []choice{{id: optOK, key: "opt.ok", alias: "alias.ok"}}, nil
	case kBookService:
		q, err := t.quota()
		if err != nil {
			return nil, err
		}
		return []choice{
			t.serviceChoice(optClinic, "opt.book.clinic", "service.clinic", q.Clinic),
			t.serviceChoice(optVideo, "opt.book.video", "service.video", q.Video),
		}, nil
	case kIneligible:
		return []choice{{id: optClinic, key: "opt.book.clinic"}}, nil
	case kAlready:
		return []choice{{id: optEnquire, key: "opt.enquire"}, {id: optCancel, key: "opt.cancel"}}, nil
	case kRegion:
		var cs []choice
		for _, r := range booking.Regions {
			cs = append(cs, choice{id: prefixRegion + string(r), key: "region." + string(r)})
		}
		return cs, nil
	case kClinic:
		clinics, err := t.e.svc.Clinics(t.ctx, booking.Region(a.Region))
		if err != nil {
			return nil, fmt.Errorf("dialog: clinics: %w", err)
		}
		q, err := t.quota()
		if err != nil {
			return nil, err
		}
		var cs []choice
		for _, c := range clinics {
			cs = append(cs, choice{
				id: prefixClinic + string(c.ID), key: "opt.book.at", name: c.Name,
				full: !q.Clinics[c.ID].Bookable(), fullKey: "clinic.full", fullArgs: map[string]any{"name": c.Name.In(s.Lang)},
			})
		}
		return cs, nil
	case kOffer:
		return []choice{{id: optAccept, key: "opt.accept"}, {id: optDecline, key: "opt.decline"}}, nil
	case kSlots:
		slots, more, err := t.e.svc.OpenSlots(t.ctx, booking.ServiceKind(a.Service), booking.ClinicID(a.ClinicID), a.Page, t.e.pageSize)
		if err != nil {
			return nil, fmt.Errorf("dialog: open slots: %w", err)
		}
		var cs []choice
		for _, sl := range slots {
			cs = append(cs, choice{id: prefixSlot + strconv.FormatInt(int64(sl.ID), 10), name: t.slotLabel(sl)})
		}
		if a.Page > 0 {
			cs = append(cs, choice{id: optPrev, key: "opt.prev"})
		}
		if more {
			cs = append(cs, choice{id: optNext, key: "opt.next"})
		}
		return cs, nil
	case kAccept:
		return []choice{{id: optAccept, key: "opt.accept"}, {id: optOtherSlot, key: "opt.other_slot"}}, nil
	case kVerifyService:
		clinics, err := t.e.svc.Clinics(t.ctx, "")
		if err != nil {
			return nil, fmt.Errorf("dialog: clinics: %w", err)
		}
		cs := []choice{{id: optVideo, key: "service.video"}}
		for _, c := range clinics {
			cs = append(cs, choice{id: prefixClinic + string(c.ID), name: c.Name})
		}
		return cs, nil
	case kCancelShow:
		return []choice{{id: optCancelBooking, key: "opt.cancel_booking"}}, nil
	}
	return nil, nil
}

func (t *turn) serviceChoice(id, key, nameKey string, q booking.QuotaStatus) choice {
	return choice{
		id: id, key: key,
		full: !q.Bookable(), fullKey: "service.full", fullArgs: map[string]any{"service": t.text(nameKey, nil)},
	}
}

// quota returns the quota status, asked once per update: the step's
// choices and its prompt both need it.
func (t *turn) quota() (booking.Quota, error) {
	if t.quotaSeen == nil {
		q, err := t.e.svc.Quota(t.ctx)
		if err != nil {
			return booking.Quota{}, fmt.Errorf("dialog: quota: %w", err)
		}
		t.quotaSeen = &q
	}
	return *t.quotaSeen, nil
}

// slotLabel is a slot's start in every language, for its option.
func (t *turn) slotLabel(sl booking.Slot) booking.Text {
	at := t.local(sl.Start)
	return booking.Text{
		ZhHK: locales.FormatDateTime(locales.ZhHK, at),
		En:   locales.FormatDateTime(locales.En, at),
		ZhCN: locales.FormatDateTime(locales.ZhCN, at),
	}
}
