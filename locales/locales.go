// Package locales holds clinicbot's message catalogs in zh-HK (the default,
// in the wording of the HA Go tutorial), en and zh-CN, and formats dates and
// times per language.
//
// The catalogs are YAML files under catalog/, one per language, embedded in
// the binary: a translator edits a file, a test checks that every key exists
// in every language with the same placeholders. A message's placeholders are
// written {name}. The package imports no other clinicbot package.
package locales

import (
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// The languages clinicbot speaks, by BCP 47 tag.
const (
	ZhHK = "zh-HK" // Traditional Chinese as written in Hong Kong, the default
	En   = "en"
	ZhCN = "zh-CN" // Simplified Chinese
)

// Default is the language of a booker who has not chosen one.
const Default = ZhHK

// Languages lists every supported language, the default first.
func Languages() []string { return []string{ZhHK, En, ZhCN} }

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool { return slices.Contains(Languages(), lang) }

// Match picks the language for a chat client's language hint (Telegram's
// language_code, a WhatsApp locale): zh-hk, zh-tw, zh-mo and zh-hant read as
// zh-HK; a bare zh, zh-cn, zh-sg, zh-my and zh-hans as zh-CN; any other
// language as en, since foreign domestic helpers (id, tl, ms, ...) book for
// their employers; no hint at all as the default.
func Match(hint string) string {
	h := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(hint), "_", "-"))
	switch {
	case h == "":
		return Default
	case h == "zh-hk" || h == "zh-tw" || h == "zh-mo" || strings.HasPrefix(h, "zh-hant"):
		return ZhHK
	case h == "zh" || strings.HasPrefix(h, "zh-"):
		return ZhCN
	}
	return En
}

//go:embed catalog/*.yaml
var files embed.FS

// Catalog is every message in every language. It is read-only after Load
// and safe for concurrent use.
type Catalog struct {
	messages map[string]map[string]string // lang → key → text
}

// Load reads the embedded catalogs. It fails if a language's file is missing
// or not a flat map of keys to strings.
func Load() (*Catalog, error) {
	c := &Catalog{messages: make(map[string]map[string]string)}
	for _, lang := range Languages() {
		data, err := files.ReadFile("catalog/" + lang + ".yaml")
		if err != nil {
			return nil, fmt.Errorf("locales: read %s: %w", lang, err)
		}
		m := make(map[string]string)
		if err := yaml.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("locales: parse %s: %w", lang, err)
		}
		for k, v := range m {
			m[k] = strings.TrimRight(v, "\n")
		}
		c.messages[lang] = m
	}
	return c, nil
}

// MustLoad is Load for package-level initialisation; the catalogs are
// embedded, so failing is a build defect.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Keys returns the keys of lang's catalog, sorted.
func (c *Catalog) Keys(lang string) []string {
	keys := make([]string, 0, len(c.messages[lang]))
	for k := range c.messages[lang] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Has reports whether lang's catalog has key.
func (c *Catalog) Has(lang, key string) bool {
	_, ok := c.messages[lang][key]
	return ok
}

// Raw returns the message text of key in lang with its placeholders
// unexpanded, and whether it exists.
func (c *Catalog) Raw(lang, key string) (string, bool) {
	s, ok := c.messages[lang][key]
	return s, ok
}

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// Text renders key in lang with args filling its {name} placeholders. An
// unsupported language falls back to the default; a missing key (which the
// catalog test rules out) renders as the key itself so that it is noticed.
func (c *Catalog) Text(lang, key string, args map[string]any) string {
	if !Supported(lang) {
		lang = Default
	}
	s, ok := c.messages[lang][key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		v, ok := args[m[1:len(m)-1]]
		if !ok {
			return m
		}
		return fmt.Sprint(v)
	})
}

// Placeholders returns the names of the {name} placeholders in s, sorted and
// without duplicates.
func Placeholders(s string) []string {
	var names []string
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}
