package dialog

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/clinicbot/clinicbot/booking"
	"github.com/clinicbot/clinicbot/locales"
)

// choice is one answer a step offers. Its label is the locale key with its
// args, or name when key is empty; "{name}" in the key's text is filled
// with name in the same language.
type choice struct {
	id   string
	key  string
	args map[string]any
	name booking.Text
	// alias is the locale key of extra words that choose it, "|"-separated.
	alias string
	// full marks a choice shown for reference but not offered: choosing it
	// is refused with fullKey.
	full     bool
	fullKey  string
	fullArgs map[string]any
}

func (c choice) label(cat *locales.Catalog, lang string) string {
	if c.key == "" {
		return c.name.In(lang)
	}
	args := c.args
	if c.name != (booking.Text{}) {
		args = map[string]any{"name": c.name.In(lang)}
		for k, v := range c.args {
			args[k] = v
		}
	}
	return cat.Text(lang, c.key, args)
}

// words returns what a booker may type for c, normalised, in every
// language: typed text works in any of the three whatever the session's.
func (c choice) words(cat *locales.Catalog) []string {
	var out []string
	for _, lang := range locales.Languages() {
		out = append(out, normalize(c.label(cat, lang)))
		if c.name != (booking.Text{}) {
			out = append(out, normalize(c.name.In(lang)))
		}
		if c.alias != "" {
			for _, w := range strings.Split(cat.Text(lang, c.alias, nil), "|") {
				out = append(out, normalize(w))
			}
		}
	}
	return out
}

// normalize folds width and case and keeps only letters, digits and marks,
// so that "「確定」", "確定" and " 確 定 " read alike.
func normalize(s string) string {
	s = strings.ToLower(foldWidth(s))
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) {
			return r
		}
		return -1
	}, s)
}

func foldWidth(s string) string { return width.Fold.String(s) }

// pick finds the choice the input means: a pressed option by ID; typed
// text by the number of an offered option, by its words in any language,
// or by a part of its words that only one choice has. ok is false when
// nothing, or more than one choice, matches.
func pick(cat *locales.Catalog, choices []choice, in Input) (choice, bool) {
	switch in.Kind {
	case InputOption:
		for _, c := range choices {
			if c.id == in.Option {
				return c, true // a full one is refused by the caller, with its reason
			}
		}
		return choice{}, false
	case InputText:
	default:
		return choice{}, false
	}
	typed := normalize(in.Text)
	if typed == "" {
		return choice{}, false
	}
	var offered []choice
	for _, c := range choices {
		if !c.full {
			offered = append(offered, c)
		}
	}
	if n, err := strconv.Atoi(typed); err == nil && n >= 1 && n <= len(offered) {
		return offered[n-1], true
	}
	if c, ok := unique(cat, choices, func(w string) bool { return w == typed }); ok {
		return c, true
	}
	if len([]rune(typed)) < 2 {
		return choice{}, false
	}
	return unique(cat, choices, func(w string) bool { return strings.Contains(w, typed) })
}

func unique(cat *locales.Catalog, choices []choice, match func(string) bool) (choice, bool) {
	var found []choice
	for _, c := range choices {
		for _, w := range c.words(cat) {
			if w != "" && match(w) {
				found = append(found, c)
				break
			}
		}
	}
	if len(found) != 1 {
		return choice{}, false
	}
	return found[0], true
}
