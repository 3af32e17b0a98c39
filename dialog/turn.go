package dialog

import (
	"fmt"
	"time"

	"github.com/clinicbot/clinicbot/booking"
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
	optOtherSlot     = "slots"
	optCancelBooking = "cxlb"
	optMine          = "mine"
	optHousehold     = "next"
	optSameMobile    = "same"
	optLog           = "log"
	optList          = "list"
	prefixBooking    = "b:"
	prefixRegion     = "r:"
	prefixClinic     = "c:"
	prefixSlot       = "s:"
	prefixLang       = "l:"
)

// handle reads the input at the current step and returns the event it
// causes; "" asks the same question again, a refuse error says why the
// answer was not taken.
func (t *turn) handle() (string, error) {
	st := conversation.info(t.s.State)
	if st == nil || st.read == nil {
		return "", fmt.Errorf("dialog: state %q reads no answer", t.s.State)
	}
	return st.read(t)
}

// enter runs the entry of the step just entered and returns the event it
// causes, if any. A failure the step maps is said here and becomes its
// event; any other error is returned.
func (t *turn) enter() (string, error) {
	st := conversation.info(t.s.State)
	if st.on == nil {
		return "", nil
	}
	event, err := st.on(t)
	if err != nil {
		if event, ok := t.failed(st, err); ok {
			return event, nil
		}
		return "", err
	}
	return event, nil
}

// choices returns what the current step offers.
func (t *turn) choices() ([]choice, error) {
	st := conversation.info(t.s.State)
	if st == nil || st.opts == nil {
		return nil, nil
	}
	return st.opts(t)
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
