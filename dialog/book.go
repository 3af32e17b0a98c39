package dialog

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// Events of the booking flow.
const (
	evClinic    = "clinic"
	evVideo     = "video"
	evRefused   = "refused"
	evAlready   = "already_booked"
	evRegion    = "region"
	evAccept    = "accept"
	evDecline   = "decline"
	evPick      = "pick"
	evOtherSlot = "other_slot"
	evBooked    = "booked"
	evTaken     = "taken"
	evFull      = "full"
	// evGone: the offer found no place, and neither service has one left:
	// the service step says so, once.
	evGone = "gone"
	// evClinicFull, evRegionFull: the chosen clinic has no place left; the
	// region's other clinics have some, or none.
	evClinicFull = "clinic_full"
	evRegionFull = "region_full"
)

// bookFlow is A, book for others, step by step as spec/flows.md lists it.
var bookFlow = flow{
	name:   flowBook,
	prefix: "a_",
	title:  "A. Book for others 為他人預約",
	steps: slices.Concat(identify("tip.book", "1970/1/1", "mobile"), []step{
		step{
			name: "mobile",
			// No "share my phone number" button: it sends the booker's own
			// number, and the number asked is the patient's. A contact card
			// the booker shares is read like a typed number.
			ask:  ask("mobile.prompt"),
			read: readMobile,
			next: map[string]string{evEntered: "consent"},
			note: "A4 手提電話號碼",
		},
		consentStep("service", "A5"),
		step{
			name: "service",
			on:   screenPatient,
			fail: []failure{
				{err: booking.ErrAlreadyBooked, event: evAlready},
				{err: booking.ErrTooManyAttempts, event: evEnded, say: sayOwn},
				{err: booking.ErrBookerLimit, event: evEnded, say: sayOwn},
			},
			ask:  askService,
			opts: serviceChoices,
			read: towardOffer(chooseService),
			next: map[string]string{evAlready: "already_booked", evEnded: stMenu, evClinic: "region", evVideo: "offer", evRefused: "video_refused"},
			note: "A6 指定診所 · 視像診症服務",
		},
		step{
			name: "video_refused",
			ask:  askIneligible,
			opts: fixed(choice{id: optClinic, key: "opt.book.clinic"}),
			read: chosen(func(t *turn, _ choice) string {
				t.s.Answers.Service = string(booking.ServiceClinic)
				return evClinic
			}),
			next: map[string]string{evClinic: "region"},
			exit: true,
			note: "A6, video: HKID holders aged 18+ only",
		},
		step{
			name: "already_booked",
			// The same words whether the date of birth was right or not,
			// and nothing about the booking: it is shown by an enquiry,
			// which asks for the booked clinic too.
			ask:  ask("already.booked.hidden"),
			opts: fixed(choice{id: optEnquire, key: "opt.enquire"}, choice{id: optCancel, key: "opt.cancel"}),
			read: chosen(carryPatient),
			next: map[string]string{flowEnquire: "b_service", flowCancel: "c_service"},
			exit: true,
			note: "the patient holds a booking",
		},
		regionStep("service"),
		clinicStep("service"),
		step{
			name: "offer",
			on:   offerEarliest,
			ask:  askSlot("offer.prompt", "opt.accept"),
			opts: fixed(choice{id: optAccept, key: "opt.accept"}, choice{id: optDecline, key: "opt.decline"}),
			read: chosen(readOffer),
			next: map[string]string{evFull: "service", evGone: "service", evClinicFull: "clinic", evRegionFull: "region",
				evAccept: "booking", evDecline: "search"},
			holds: true,
			note:  "A9–A11 系統安排最早的診症時段, held for the booker",
		},
		step{
			name: "search",
			ask:  ask("search.prompt"),
			opts: fixed(choiceOK),
			read: always(evConfirm),
			next: map[string]string{evConfirm: "days"},
			note: "A12 搜尋另一時段",
		},
	},
		pickSteps("accept"),
		[]step{
			acceptStep("accept.prompt", "opt.accept", "booking", "A14 接納預約, held for the booker"),
			step{
				name: "booking",
				on:   bookSlot,
				fail: []failure{
					{err: booking.ErrHoldExpired, event: evTaken, say: "hold.expired"},
					{err: booking.ErrSlotTaken, event: evTaken, say: "slot.taken"},
					{err: booking.ErrSlotUnavailable, event: evTaken, say: "slot.taken"},
					{err: booking.ErrNotFound, event: evTaken, say: "slot.taken"},
					{err: booking.ErrAlreadyBooked, event: evAlready},
					{err: booking.ErrTooManyAttempts, event: evEnded, say: sayOwn},
					{err: booking.ErrNotEligible, event: evRefused},
				},
				next:  map[string]string{evBooked: "booked", evTaken: "offer", evAlready: "already_booked", evEnded: stMenu, evRefused: "video_refused"},
				holds: true,
				note:  "books the slot",
			},
			bookedStep("A15 預約成功"),
		},
	),
}

// regionStep is A7: the regions with their quota status. gone is where
// the booker goes when neither service has a place left.
func regionStep(gone string) step {
	return step{
		name: "region",
		ask:  askRegion,
		opts: regionChoices,
		read: towardOffer(func(t *turn, c choice) string {
			t.s.Answers.Region = prefixed(c.id, prefixRegion)
			return evRegion
		}),
		next: map[string]string{evRegion: "clinic", evGone: gone},
		note: "A7 香港 · 九龍 · 新界及離島",
	}
}

// clinicStep is A8: the region's clinics with their quota status; a
// chosen clinic leads to the offer.
func clinicStep(gone string) step {
	return step{
		name: "clinic",
		on:   checkRegionOpen,
		ask:  askClinic,
		opts: clinicChoices,
		read: towardOffer(func(t *turn, c choice) string {
			t.s.Answers.ClinicID = prefixed(c.id, prefixClinic)
			return evClinic
		}),
		next: map[string]string{evClinic: "offer", evGone: gone, evRegionFull: "region"},
		// A region that filled up since its status was read (a second
		// at most) sends the booker back to the regions, whose statuses
		// say so: evRegionFull from on.
		note: "A8 診所診症名額狀況",
	}
}

// readOffer takes the answer to an offer: accept it, or decline it (the
// declined slot is listed last when picking another).
func readOffer(t *turn, c choice) string {
	if c.id == optDecline {
		t.s.Answers.Declined = t.s.Answers.SlotID
		return evDecline
	}
	return evAccept
}

// consentStep is the seed's consent screen (A5, B5, C5). On WhatsApp it
// adds that the chat history on the caregiver's phone keeps what was typed:
// the bot cannot delete a WhatsApp message the booker sent.
func consentStep(next, note string) step {
	return step{
		name: "consent",
		ask: func(t *turn) (Reply, error) {
			r := t.reply("consent.prompt", nil)
			if t.booker.Channel == booking.ChannelWhatsApp {
				r.Text += "\n" + t.text("consent.whatsapp", nil)
			}
			return r, nil
		},
		opts: fixed(choiceOK),
		read: func(t *turn) (string, error) {
			if _, err := t.choose(); err != nil {
				return "", refuse("consent.required", nil)
			}
			t.s.Answers.ConsentAt = t.now().UTC()
			return evConfirm, nil
		},
		next: map[string]string{evConfirm: next},
		note: note + " 確認已獲病人的同意使用其資料",
	}
}

func readMobile(t *turn) (string, error) {
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
	t.s.Answers.Mobile = string(m)
	return evEntered, nil
}

// screenPatient looks the patient up before any service is chosen: one
// who already holds a booking goes to already_booked, the same way whether
// the date of birth was right (a wrong one counts as a failed
// verification); a booker cooling down, or at a limit, is told so.
// While the room the flow started with lasts, the store does not read the
// booker's limits again.
func screenPatient(t *turn) (string, error) {
	if t.s.Answers.Screened {
		return "", nil
	}
	screen := t.e.svc.Screen
	if t.s.Room > 0 {
		screen = t.e.svc.ScreenInRoom
		t.s.Room--
	}
	if err := screen(t.ctx, t.booker, t.patient()); err != nil {
		return "", fmt.Errorf("dialog: screen: %w", err)
	}
	t.s.Answers.Screened = true
	return "", nil
}

func askService(t *turn) (Reply, error) {
	q, err := t.quota()
	if err != nil {
		return Reply{}, err
	}
	if !q.Clinic.Bookable() && !q.Video.Bookable() {
		r := t.reply("service.none", nil)
		r.Options = []Option{t.exitOption()}
		return r, nil
	}
	r := t.reply("service.prompt", map[string]any{"clinic": t.quotaWord(q.Clinic), "video": t.quotaWord(q.Video)})
	// Who may book video is said before it is chosen, not after.
	r.Text += "\n" + t.text("service.video_conditions", nil)
	return r, nil
}

func serviceChoices(t *turn) ([]choice, error) {
	q, err := t.quota()
	if err != nil {
		return nil, err
	}
	return []choice{
		t.serviceChoice(optClinic, "opt.book.clinic", "service.clinic", q.Clinic),
		t.serviceChoice(optVideo, "opt.book.video", "service.video", q.Video),
	}, nil
}

func chooseService(t *turn, c choice) string {
	a := &t.s.Answers
	if c.id == optClinic {
		a.Service = string(booking.ServiceClinic)
		return evClinic
	}
	a.Service = string(booking.ServiceVideo)
	if t.e.svc.CheckEligibility(t.patient(), booking.ServiceVideo, t.now()) != nil {
		return evRefused
	}
	return evVideo
}

func askIneligible(t *turn) (Reply, error) {
	reason := booking.ReasonAge
	var el *booking.EligibilityError
	if errors.As(t.e.svc.CheckEligibility(t.patient(), booking.ServiceVideo, t.now()), &el) {
		reason = el.Reason
	}
	return t.reply("video.ineligible."+string(reason), map[string]any{"note": t.text("video.note", nil)}), nil
}

// carryPatient opens the chosen flow with the patient's document and date
// of birth carried over: the booker goes on to the rest of the seed's
// verification (B4/C4, B5/C5).
func carryPatient(t *turn, c choice) string {
	a := &t.s.Answers
	*a = Answers{DocType: a.DocType, DocNumber: a.DocNumber, BirthYear: a.BirthYear, BirthMon: a.BirthMon, BirthDay: a.BirthDay, FlowID: newFlowID()}
	a.Flow = flowCancel
	if c.id == optEnquire {
		a.Flow = flowEnquire
	}
	return a.Flow
}

// askRegion lists the regions with their quota status, as the clinic step
// lists clinics.
func askRegion(t *turn) (Reply, error) {
	clinics, err := t.e.svc.Clinics(t.ctx, "")
	if err != nil {
		return Reply{}, fmt.Errorf("dialog: clinics: %w", err)
	}
	q, err := t.quota()
	if err != nil {
		return Reply{}, err
	}
	sums := make(map[booking.Region]*booking.QuotaStatus)
	for _, c := range clinics {
		st := q.Clinics[c.ID]
		if sums[c.Region] == nil {
			sums[c.Region] = &booking.QuotaStatus{}
		}
		sums[c.Region].Remaining += st.Remaining
		sums[c.Region].Capacity += st.Capacity
	}
	r := t.reply("region.prompt", nil)
	for _, reg := range booking.Regions {
		st := booking.QuotaStatus{Level: booking.QuotaFull}
		if sum := sums[reg]; sum != nil && sum.Remaining > 0 {
			st = *sum
			st.Level = booking.QuotaAvailable
			if float64(st.Remaining) < t.e.svc.Rules.LimitedBelow*float64(st.Capacity) {
				st.Level = booking.QuotaLimited
			}
		}
		r.Text += "\n" + t.text("clinic.line", map[string]any{"name": t.text("region."+string(reg), nil), "status": t.quotaWord(st)})
	}
	return r, nil
}

// regionChoices offers the regions with a clinic that has places left:
// a region whose clinics are all full is shown but not offered, so no
// booker is sent into it to be told so.
func regionChoices(t *turn) ([]choice, error) {
	clinics, err := t.e.svc.Clinics(t.ctx, "")
	if err != nil {
		return nil, fmt.Errorf("dialog: clinics: %w", err)
	}
	q, err := t.quota()
	if err != nil {
		return nil, err
	}
	open := make(map[booking.Region]bool)
	for _, c := range clinics {
		open[c.Region] = open[c.Region] || q.Clinics[c.ID].Bookable()
	}
	var cs []choice
	for _, r := range booking.Regions {
		name := "region." + string(r)
		cs = append(cs, choice{id: prefixRegion + string(r), key: name,
			full: !open[r], fullKey: "region.full", fullArgs: map[string]any{"region": t.text(name, nil)}})
	}
	return cs, nil
}

func askClinic(t *turn) (Reply, error) {
	a := t.s.Answers
	clinics, err := t.e.svc.Clinics(t.ctx, booking.Region(a.Region))
	if err != nil {
		return Reply{}, fmt.Errorf("dialog: clinics: %w", err)
	}
	q, err := t.quota()
	if err != nil {
		return Reply{}, err
	}
	var lines []string
	open := false
	for _, c := range clinics {
		st := q.Clinics[c.ID]
		open = open || st.Bookable()
		lines = append(lines, t.text("clinic.line", map[string]any{"name": c.Name.In(t.s.Lang), "status": t.quotaWord(st)}))
	}
	region := t.text("region."+a.Region, nil)
	r := t.reply("clinic.prompt", map[string]any{"region": region, "list": strings.Join(lines, "\n")})
	if !open {
		r.Text += "\n" + t.text("clinic.region_full", map[string]any{"region": region})
	}
	return r, nil
}

func clinicChoices(t *turn) ([]choice, error) {
	clinics, err := t.e.svc.Clinics(t.ctx, booking.Region(t.s.Answers.Region))
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
			full: !q.Clinics[c.ID].Bookable(), fullKey: "clinic.full", fullArgs: map[string]any{"name": c.Name.In(t.s.Lang)},
		})
	}
	return cs, nil
}

// offerEarliest finds the earliest slot of the chosen service and clinic
// and holds a place of it for the booker (A9); a booking changing time is
// not offered the slot it has.
func offerEarliest(t *turn) (string, error) {
	a := &t.s.Answers
	slot, until, err := t.e.svc.OfferInstead(t.ctx, t.booker, booking.ServiceKind(a.Service), booking.ClinicID(a.ClinicID), booking.SlotID(a.BookedSlot))
	t.placesChanged()
	if errors.Is(err, booking.ErrQuotaFull) {
		return t.offerFull()
	}
	if err != nil {
		return "", fmt.Errorf("dialog: offer: %w", err)
	}
	a.SlotID, a.HoldUntil = int64(slot.ID), until
	return "", nil
}

// offerFull answers an offer that found no place (the chosen clinic or
// service filled up since its status was read, a second at most) as a
// button pressed after its choice filled up is answered: by the quota
// statuses, fresh, in place of the question answered. With no place left
// in either service the service step says so, once; otherwise the
// region's clinics, the regions, or the services show what filled up.
func (t *turn) offerFull() (string, error) {
	q, err := t.quota() // fresh: the offer dropped a status that still showed room
	if err != nil {
		return "", err
	}
	if !q.Clinic.Bookable() && !q.Video.Bookable() {
		return evGone, nil
	}
	t.replace = true
	if t.s.Answers.Service == string(booking.ServiceVideo) {
		return evFull, nil
	}
	if open, err := t.regionOpen(q); err != nil || !open {
		return evRegionFull, err
	}
	return evClinicFull, nil
}

// checkRegionOpen leads back from a region that has no place left by the
// time its clinics are listed: to the regions, or, with no place left in
// either service, to the service step, which says so.
func checkRegionOpen(t *turn) (string, error) {
	q, err := t.quota()
	if err != nil {
		return "", err
	}
	if open, err := t.regionOpen(q); err != nil || open {
		return "", err
	}
	t.replace = true
	if !q.Clinic.Bookable() && !q.Video.Bookable() {
		return evGone, nil
	}
	return evRegionFull, nil
}

// regionOpen reports whether a clinic of the chosen region has a place.
func (t *turn) regionOpen(q booking.Quota) (bool, error) {
	clinics, err := t.e.svc.Clinics(t.ctx, booking.Region(t.s.Answers.Region))
	if err != nil {
		return false, fmt.Errorf("dialog: clinics: %w", err)
	}
	for _, c := range clinics {
		if q.Clinics[c.ID].Bookable() {
			return true, nil
		}
	}
	return false, nil
}

// towardOffer is chosen for the steps that lead to an offer (service,
// region, clinic). A choice that filled up since it was shown is answered
// by the quota statuses, fresh, not by a notice on top of them: with no
// place left in either service, by the service step, which says so; a
// clinic whose region filled up with it, by the regions; a button, by the
// same question again; typed text that names it, by its refusal.
func towardOffer(then func(t *turn, c choice) string) func(*turn) (string, error) {
	return func(t *turn) (string, error) {
		c, err := t.choose()
		var bad *invalidInput
		if !errors.As(err, &bad) || bad.key == "input.unknown" {
			if err != nil {
				return "", err
			}
			return then(t, c), nil
		}
		q, err := t.quota()
		if err != nil {
			return "", err
		}
		name := conversation.info(t.s.State).name
		switch {
		case !q.Clinic.Bookable() && !q.Video.Bookable() && name != "service":
			return evGone, nil
		case name == "clinic":
			if open, err := t.regionOpen(q); err != nil || !open {
				return evRegionFull, err // the regions' statuses say which filled up
			}
		}
		if t.in.Kind != InputOption {
			return "", bad // typed: the booker asked for it by name
		}
		// A button pressed after its choice filled up: the question
		// again, in place of the one answered, its fresh statuses (for
		// reference, as the seed's) saying what filled up.
		t.s.Nonce = newNonce()
		t.replace = true
		return "", nil
	}
}

// acceptStep asks to take the slot picked from the list (A14), held for
// the booker: prompt and accept are the locale keys of the question and
// its button, then the step that takes the place.
func acceptStep(prompt, accept, then, note string) step {
	return step{
		name: "accept",
		on:   holdPicked,
		fail: []failure{
			{err: booking.ErrSlotTaken, event: evTaken, say: "slot.gone"},
			{err: booking.ErrSlotUnavailable, event: evTaken, say: "slot.gone"},
		},
		holds: true,
		ask:   askSlot(prompt, accept),
		opts:  fixed(choice{id: optAccept, key: accept}, choice{id: optOtherSlot, key: "opt.other_slot"}),
		read: chosen(func(t *turn, c choice) string {
			if c.id == optOtherSlot {
				t.s.Answers.SlotID = 0
				return evOtherSlot
			}
			return evAccept
		}),
		next: map[string]string{evOtherSlot: "days", evAccept: then, evTaken: "times"},
		note: note,
	}
}

// holdPicked holds a place of the slot picked from the list (A13), in
// place of any other the booker held.
func holdPicked(t *turn) (string, error) {
	a := &t.s.Answers
	_, until, err := t.e.svc.HoldSlot(t.ctx, t.booker, booking.SlotID(a.SlotID))
	t.placesChanged()
	if err != nil {
		a.SlotID, a.HoldUntil = 0, time.Time{}
		return "", fmt.Errorf("dialog: hold slot: %w", err)
	}
	a.HoldUntil = until
	return "", nil
}

// askSlot renders the slot in the answers with key: the offer, or the
// chosen slot to accept; accept is the label of the button that takes it.
func askSlot(key, accept string) func(*turn) (Reply, error) {
	return func(t *turn) (Reply, error) {
		slot, err := t.e.svc.Store.Slot(t.ctx, booking.SlotID(t.s.Answers.SlotID))
		if err != nil {
			return Reply{}, fmt.Errorf("dialog: offered slot: %w", err)
		}
		place, err := t.place(slot)
		if err != nil {
			return Reply{}, err
		}
		r := t.reply(key, map[string]any{"place": place, "when": t.text("detail.when", map[string]any{"when": t.when(slot)})})
		if until := t.s.Answers.HoldUntil; !until.IsZero() {
			r.Text += "\n" + t.text("hold.note", map[string]any{
				"hold":   locales.FormatIdle(t.s.Lang, t.e.svc.Rules.Hold),
				"until":  locales.FormatTime(t.s.Lang, t.local(until)),
				"accept": t.text(accept, nil),
			})
		}
		if slot.Service == booking.ServiceVideo {
			// The seed's notes on video (who may use it, who may be
			// asked to come in person) are read before accepting.
			r.Text += "\n" + t.text("video.note", nil)
		}
		return r, nil
	}
}

// bookSlot books the slot in the answers (A10, A14).
func bookSlot(t *turn) (string, error) {
	a := &t.s.Answers
	b, err := t.e.svc.Book(t.ctx, booking.BookRequest{
		Patient:        t.patient(),
		Booker:         t.booker,
		SlotID:         booking.SlotID(a.SlotID),
		ConsentAt:      a.ConsentAt,
		IdempotencyKey: a.FlowID + ":" + strconv.FormatInt(a.SlotID, 10),
		HeldUntil:      a.HoldUntil,
		Lang:           t.s.Lang,
	})
	t.placesChanged()
	a.HoldUntil = time.Time{} // the booking spent the hold, or it is gone
	if err != nil {
		a.SlotID = 0
		return "", fmt.Errorf("dialog: book: %w", err)
	}
	t.made = &b
	a.Reference = string(b.Reference)
	return evBooked, nil
}
