package dialog

import (
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// Events of the identify sub-flow.
const (
	evDocType = "doc_type"
	evEntered = "entered"
	evConfirm = "confirm"
	evRetry   = "retry"
)

// identify asks who the patient is, as the seed's A2–A3, B2–B3 and C2–C3
// do: the identity document's type and number, then the date of birth,
// said back to be confirmed. It is spliced into every flow that needs the
// patient; tip is the locale key of the document step's tip, example the
// year-only example date, and next where the confirmed patient goes.
func identify(tip, example, next string) []step {
	return subSteps("identify",
		step{
			name: "doc_type",
			ask: func(t *turn) (Reply, error) {
				return t.reply("doc.type.prompt", map[string]any{"tip": t.text(tip, nil)}), nil
			},
			opts: fixed(choice{id: optHKID, key: "opt.hkid"}, choice{id: optOther, key: "opt.other"}),
			read: chosen(func(t *turn, c choice) string {
				a := &t.s.Answers
				a.DocType = map[string]string{optHKID: string(booking.DocumentHKID), optOther: string(booking.DocumentOther)}[c.id]
				a.DocNumber = ""
				return evDocType
			}),
			next: map[string]string{evDocType: "doc_number"},
			note: "身份證 / 其他護照或身份證明文件",
		},
		step{
			name: "doc_number",
			ask:  askDocNumber,
			read: readDocNumber,
			next: map[string]string{evEntered: "birth"},
			note: "身份證明文件號碼",
		},
		step{
			name: "birth",
			ask: func(t *turn) (Reply, error) {
				return t.reply("dob.prompt", map[string]any{"example": example}), nil
			},
			read: readBirth,
			next: map[string]string{evEntered: "birth_check"},
			note: "出生日期",
		},
		step{
			name: "birth_check",
			ask: func(t *turn) (Reply, error) {
				a := t.s.Answers
				date := locales.FormatBirthDate(t.s.Lang, a.BirthYear, time.Month(a.BirthMon), a.BirthDay)
				return t.reply("dob.confirm", map[string]any{"date": date}), nil
			},
			opts: fixed(choiceYes, choiceNo),
			read: chosen(func(t *turn, c choice) string {
				if c.id == optNo {
					a := &t.s.Answers
					a.BirthYear, a.BirthMon, a.BirthDay = 0, 0, 0
					return evRetry
				}
				return evConfirm
			}),
			next:   map[string]string{evRetry: "birth", evConfirm: next},
			echoes: true,
			note:   "出生日期, said back",
		},
	)
}

// subSteps marks steps as the sub-flow sub, for the diagram.
func subSteps(sub string, steps ...step) []step {
	for i := range steps {
		steps[i].sub = sub
	}
	return steps
}

func askDocNumber(t *turn) (Reply, error) {
	if t.s.Answers.DocType == string(booking.DocumentHKID) {
		return t.reply("doc.hkid.prompt", nil), nil
	}
	return t.reply("doc.other.prompt", nil), nil
}

func readDocNumber(t *turn) (string, error) {
	text, err := t.typed()
	if err != nil {
		return "", err
	}
	t.sensitive = true
	a := &t.s.Answers
	doc, err := booking.ParseDocument(booking.DocumentType(a.DocType), text)
	if err != nil {
		return "", t.refusal(err)
	}
	a.DocNumber = doc.Number
	return evEntered, nil
}

func readBirth(t *turn) (string, error) {
	text, err := t.typed()
	if err != nil {
		return "", err
	}
	t.sensitive = true
	dob, err := booking.ParseDateOfBirth(text, booking.DateOf(t.now(), t.e.loc))
	if err != nil {
		return "", t.refusal(err)
	}
	a := &t.s.Answers
	a.BirthYear, a.BirthMon, a.BirthDay = dob.Year, int(dob.Month), dob.Day
	return evEntered, nil
}
