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

// Events of picking another time.
const (
	evDay  = "day"
	evPart = "part"
)

// Parts of the day a day's times are split into, and the option prefixes
// of picking.
const (
	partAM     = "am" // before noon, Hong Kong time
	partPM     = "pm"
	prefixDay  = "d:"
	prefixPart = "p:"
)

// pickSteps is how a booker picks another time than the one offered (A13),
// by day: the days of the booking window that still have places, with how
// many; then morning or afternoon (asked only when the day has both); then
// that part's times, the declined slot never first. Any bookable slot is
// three taps away. A picked slot leads to then.
func pickSteps(then string) []step {
	return []step{
		{
			name: "days",
			ask:  askDays,
			opts: dayChoices,
			read: picked(prefixDay, func(t *turn, c choice) string {
				t.s.Answers.Day, t.s.Answers.Part = prefixed(c.id, prefixDay), ""
				return evDay
			}),
			next: map[string]string{evDay: "part"},
			note: "A13 選擇時段: the days with places, and how many",
		},
		{
			name: "part",
			on:   onePart,
			ask:  askPart,
			opts: partChoices,
			read: picked(prefixPart, func(t *turn, c choice) string {
				t.s.Answers.Part = prefixed(c.id, prefixPart)
				return evPart
			}),
			next: map[string]string{evPart: "times"},
			note: "A13: morning or afternoon",
		},
		{
			name: "times",
			ask:  askTimes,
			opts: timeChoices,
			read: picked(prefixSlot, func(t *turn, c choice) string {
				t.s.Answers.SlotID, _ = strconv.ParseInt(prefixed(c.id, prefixSlot), 10, 64)
				return evPick
			}),
			next: map[string]string{evPick: then},
			note: "A13: the times",
		},
	}
}

// picked is chosen for the picking steps. A button whose day, part or time
// filled up since it was shown (it is no longer offered) gets the list
// again in its place, as it is now.
func picked(prefix string, then func(t *turn, c choice) string) func(*turn) (string, error) {
	return func(t *turn) (string, error) {
		c, err := t.choose()
		var bad *invalidInput
		if errors.As(err, &bad) && bad.key == "input.unknown" && t.in.Kind == InputOption && strings.HasPrefix(t.in.Option, prefix) {
			t.s.Nonce = newNonce()
			t.replace = true
			return "", nil
		}
		if err != nil {
			return "", err
		}
		return then(t, c), nil
	}
}

func (t *turn) openDays() ([]booking.DayPlaces, error) {
	a := t.s.Answers
	days, err := t.e.svc.OpenDays(t.ctx, booking.ServiceKind(a.Service), booking.ClinicID(a.ClinicID))
	if err != nil {
		return nil, fmt.Errorf("dialog: open days: %w", err)
	}
	return days, nil
}

func askDays(t *turn) (Reply, error) {
	r := t.reply("days.prompt", nil)
	days, err := t.openDays()
	if err != nil {
		return Reply{}, err
	}
	if len(days) == 0 {
		r.Text += "\n" + t.text("slots.none", nil)
	}
	return r, nil
}

func dayChoices(t *turn) ([]choice, error) {
	days, err := t.openDays()
	if err != nil {
		return nil, err
	}
	var cs []choice
	for _, d := range days {
		at := time.Date(d.Day.Year, d.Day.Month, d.Day.Day, 12, 0, 0, 0, t.e.loc)
		cs = append(cs, choice{id: prefixDay + d.Day.String(), key: "day.option", args: map[string]any{"n": d.Places},
			name: inEvery(func(lang string) string { return locales.FormatDate(lang, at) })})
	}
	return cs, nil
}

// inEvery is f in every language.
func inEvery(f func(lang string) string) booking.Text {
	return booking.Text{ZhHK: f(locales.ZhHK), En: f(locales.En), ZhCN: f(locales.ZhCN)}
}

// daySlots returns the open slots of the chosen day, split into morning
// and afterwards.
func (t *turn) daySlots() (am, pm []booking.Slot, err error) {
	a := t.s.Answers
	day, err := time.ParseInLocation(time.DateOnly, a.Day, t.e.loc)
	if err != nil {
		return nil, nil, refuse("input.unknown", nil)
	}
	slots, err := t.e.svc.DaySlots(t.ctx, booking.ServiceKind(a.Service), booking.ClinicID(a.ClinicID), booking.DateOf(day, t.e.loc))
	if err != nil {
		return nil, nil, fmt.Errorf("dialog: day slots: %w", err)
	}
	for _, sl := range slots {
		if sl.ID == booking.SlotID(a.BookedSlot) {
			continue // the booking changing time has it already
		}
		if t.local(sl.Start).Hour() < 12 {
			am = append(am, sl)
		} else {
			pm = append(pm, sl)
		}
	}
	return am, pm, nil
}

// onePart skips the question of a day whose places are all in one part.
func onePart(t *turn) (string, error) {
	am, pm, err := t.daySlots()
	switch {
	case err != nil:
		return "", err
	case len(am) == 0 && len(pm) > 0:
		t.s.Answers.Part = partPM
		return evPart, nil
	case len(pm) == 0 && len(am) > 0:
		t.s.Answers.Part = partAM
		return evPart, nil
	}
	return "", nil
}

// dayName is the chosen day as the booker reads it.
func (t *turn) dayName() string {
	day, err := time.ParseInLocation(time.DateOnly, t.s.Answers.Day, t.e.loc)
	if err != nil {
		return t.s.Answers.Day
	}
	return locales.FormatDate(t.s.Lang, day.Add(12*time.Hour))
}

func askPart(t *turn) (Reply, error) {
	r := t.reply("part.prompt", map[string]any{"day": t.dayName()})
	if cs, err := t.choices(); err != nil || len(cs) == 0 {
		r.Text += "\n" + t.text("slots.none", nil)
		return r, err
	}
	return r, nil
}

func partChoices(t *turn) ([]choice, error) {
	am, pm, err := t.daySlots()
	if err != nil {
		return nil, err
	}
	var cs []choice
	for _, p := range []struct {
		id    string
		slots []booking.Slot
	}{{partAM, am}, {partPM, pm}} {
		if len(p.slots) > 0 {
			cs = append(cs, choice{id: prefixPart + p.id, key: "part." + p.id, alias: "alias.part." + p.id,
				args: map[string]any{"n": places(p.slots)}})
		}
	}
	return cs, nil
}

// places is the places left in slots.
func places(slots []booking.Slot) int {
	n := 0
	for _, sl := range slots {
		n += sl.Remaining()
	}
	return n
}

func askTimes(t *turn) (Reply, error) {
	part := t.text("part."+t.s.Answers.Part+".name", nil)
	r := t.reply("times.prompt", map[string]any{"day": t.dayName(), "part": part})
	if cs, err := t.choices(); err != nil || len(cs) == 0 {
		r.Text += "\n" + t.text("slots.none", nil)
		return r, err
	}
	return r, nil
}

// timeChoices offers the chosen part's times in order, the slot the booker
// declined last.
func timeChoices(t *turn) ([]choice, error) {
	am, pm, err := t.daySlots()
	if err != nil {
		return nil, err
	}
	slots := am
	if t.s.Answers.Part == partPM {
		slots = pm
	}
	declined := booking.SlotID(t.s.Answers.Declined)
	slots = slices.Clone(slots)
	slices.SortStableFunc(slots, func(x, y booking.Slot) int {
		switch {
		case x.ID == declined && y.ID != declined:
			return 1
		case y.ID == declined && x.ID != declined:
			return -1
		}
		return 0
	})
	var cs []choice
	for _, sl := range slots {
		at := t.local(sl.Start)
		cs = append(cs, choice{id: prefixSlot + strconv.FormatInt(int64(sl.ID), 10),
			name: inEvery(func(lang string) string { return locales.FormatTime(lang, at) })})
	}
	return cs, nil
}
