package bot_test

import (
	"testing"

	"github.com/clinicbot/clinicbot/bot"
	"github.com/clinicbot/clinicbot/locales"
)

func TestCatalogApology(t *testing.T) {
	cat := locales.MustLoad()
	apology := bot.CatalogApology(cat)
	for _, lang := range locales.Languages() {
		t.Run(lang, func(t *testing.T) {
			res := apology(lang, bot.KeyInternal)
			want := cat.Text(lang, bot.KeyInternal, nil)
			if len(res.Replies) != 1 || res.Replies[0].Text != want || res.Replies[0].Key != bot.KeyInternal || res.Lang != lang {
				t.Errorf("apology(%s, %s) = %+v, want one reply %q in %s", lang, bot.KeyInternal, res, want, lang)
			}
			if want == bot.KeyInternal || want == "" {
				t.Errorf("catalog %s has no text for %s", lang, bot.KeyInternal)
			}
			// A key the catalog lacks falls back to the internal apology.
			if res := apology(lang, "no.such.key"); res.Replies[0].Key != bot.KeyInternal {
				t.Errorf("apology(%s, no.such.key) key = %q, want %q", lang, res.Replies[0].Key, bot.KeyInternal)
			}
			if res := apology(lang, bot.KeyUnavailable); res.Replies[0].Key != bot.KeyUnavailable {
				t.Errorf("apology(%s, %s) key = %q: the catalog lacks it", lang, bot.KeyUnavailable, res.Replies[0].Key)
			}
		})
	}
	if res := apology("fr", bot.KeyInternal); res.Lang != locales.Default {
		t.Errorf("apology(fr) language = %q, want the default %q", res.Lang, locales.Default)
	}
}
