package dialog

import "github.com/clinicbot/clinicbot/locales"

// Flows, as stored in Answers.Flow; each is also the event that starts it.
const (
	flowBook    = "book"
	flowEnquire = "enquire"
	flowCancel  = "cancel"
	// flowHousehold books the next patient of a household, from the
	// booked step; flowMine is the chat's own bookings ("my bookings").
	flowHousehold = "household"
	flowMine      = "mine"
)

// States the engine itself moves to: /start, /menu, /exit and the failure
// limit lead to the menu, /language to the language choice.
const (
	stMenu     = "menu"
	stLanguage = "language"
)

// globalFlow holds the steps outside every flow: the main menu (A1, B1, C1)
// and the language choice.
var globalFlow = flow{
	title: "Menu",
	steps: []step{
		menuStep(stMenu, ask("menu.prompt"), "A1 · B1 · C1"),
		{
			name: stLanguage,
			ask:  ask("lang.prompt"),
			opts: languageChoices,
			read: chooseLanguage,
			note: "/language",
		},
	},
}

// menuChoices are the three flows the menu offers, and the chat's own
// bookings.
var menuChoices = []choice{
	{id: optBook, key: "opt.book"},
	{id: optEnquire, key: "opt.enquire"},
	{id: optCancel, key: "opt.cancel"},
	{id: optMine, key: "opt.mine"},
}

// menuStep is a step that offers the menu's choices: the menu, and each
// flow's last step (the booker may go on to another flow from there).
func menuStep(name string, ask func(*turn) (Reply, error), note string) step {
	return step{
		name: name,
		ask:  ask,
		opts: fixed(menuChoices...),
		read: readMenu,
		next: map[string]string{flowBook: flowBook, flowEnquire: flowEnquire, flowCancel: flowCancel, flowMine: flowMine},
		ends: true,
		note: note,
	}
}

// readMenu opens the chosen flow with fresh answers, unless what it needs
// is known to be missing: then the booker is told at once, before typing
// any of the patient's details.
func readMenu(t *turn) (string, error) {
	c, err := t.choose()
	if err != nil {
		return "", err
	}
	name := map[string]string{optBook: flowBook, optEnquire: flowEnquire, optCancel: flowCancel, optMine: flowMine}[c.id]
	room, err := t.canStart(name)
	if err != nil {
		return "", err
	}
	t.s.Answers = Answers{Flow: name, FlowID: newFlowID()}
	t.s.Room = room
	return name, nil
}

// canStart refuses a flow that cannot succeed now: booking when neither
// service has a place left or the booker is at a limit (active bookings,
// patients looked up within the hour), enquiring or cancelling while the
// booker is cooling down after failed verifications. For booking it
// returns the room the booker has for new patients (see Session.Room).
// The chat's own bookings need nothing: no patient is asked for.
func (t *turn) canStart(flow string) (room int, err error) {
	if flow == flowMine {
		return 0, nil
	}
	if flow == flowBook {
		q, err := t.quota()
		if err != nil {
			return 0, err
		}
		if !q.Clinic.Bookable() && !q.Video.Bookable() {
			return 0, refuse("service.none", nil)
		}
		room, err := t.e.svc.BookerLimit(t.ctx, t.booker)
		if err != nil {
			return 0, t.refusal(err)
		}
		return room, nil
	}
	if err := t.e.svc.BookerCooldown(t.ctx, t.booker); err != nil {
		return 0, t.refusal(err)
	}
	return 0, nil
}

func languageChoices(*turn) ([]choice, error) {
	var cs []choice
	for _, lang := range locales.Languages() {
		cs = append(cs, choice{id: prefixLang + lang, key: "opt.lang." + lang})
	}
	return cs, nil
}

// chooseLanguage sets the language and returns to the step /language was
// typed at, or the menu.
func chooseLanguage(t *turn) (string, error) {
	c, err := t.choose()
	if err != nil {
		return "", err
	}
	s := t.s
	s.Lang = prefixed(c.id, prefixLang)
	t.say("lang.set", nil)
	t.settled = true
	if len(s.History) == 0 {
		return "", t.settle(stMenu)
	}
	f := s.History[len(s.History)-1]
	s.History = s.History[:len(s.History)-1]
	return "", t.settle(f.State)
}
