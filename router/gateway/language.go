package gateway

import (
	"strings"
	"unicode"
)

// stopwords of the Latin-script languages detectLanguage tells apart: the
// most frequent function words, which short prompts still contain.
var stopwords = map[string][]string{
	"en": {"the", "and", "is", "to", "of", "what", "how", "can", "you", "my", "i", "it", "for", "do", "a", "in", "with", "this"},
	"de": {"der", "die", "das", "und", "ist", "ich", "nicht", "wie", "was", "mein", "kann", "ein", "eine", "zu", "mit", "für", "sie", "es"},
	"fr": {"le", "la", "les", "et", "est", "je", "pas", "comment", "que", "mon", "ma", "un", "une", "pour", "avec", "des", "vous", "de"},
	"es": {"el", "la", "los", "las", "y", "es", "que", "cómo", "mi", "no", "un", "una", "para", "con", "por", "qué", "de", "yo"},
	"it": {"il", "lo", "la", "gli", "e", "è", "che", "come", "mio", "non", "un", "una", "per", "con", "di", "sono", "cosa", "io"},
	"pt": {"o", "a", "os", "as", "e", "é", "que", "como", "meu", "não", "um", "uma", "para", "com", "de", "eu", "você", "do"},
	"nl": {"de", "het", "en", "is", "ik", "niet", "hoe", "wat", "mijn", "een", "van", "voor", "met", "je", "dat", "kan", "zijn", "er"},
}

var stopIndex = func() map[string][]string {
	idx := map[string][]string{}
	for lang, ws := range stopwords {
		for _, w := range ws {
			idx[w] = append(idx[w], lang)
		}
	}
	return idx
}()

// detectLanguage guesses a prompt's language: by script for non-Latin
// text (ru, uk-or-ru as ru, zh, ja, ko, ar, he, el, hi, th), by function
// words among en, de, fr, es, it, pt and nl otherwise; "" when unsure.
func detectLanguage(text string) string {
	scripts := map[string]int{}
	letters := 0
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		switch {
		case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
			scripts["ja"] += 2
		case unicode.Is(unicode.Han, r):
			scripts["zh"]++
		case unicode.Is(unicode.Hangul, r):
			scripts["ko"]++
		case unicode.Is(unicode.Cyrillic, r):
			scripts["ru"]++
		case unicode.Is(unicode.Arabic, r):
			scripts["ar"]++
		case unicode.Is(unicode.Hebrew, r):
			scripts["he"]++
		case unicode.Is(unicode.Greek, r):
			scripts["el"]++
		case unicode.Is(unicode.Devanagari, r):
			scripts["hi"]++
		case unicode.Is(unicode.Thai, r):
			scripts["th"]++
		}
	}
	best, n := "", 0
	for s, c := range scripts {
		if c > n {
			best, n = s, c
		}
	}
	if letters > 0 && n*2 > letters {
		return best
	}
	votes := map[string]int{}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		for _, lang := range stopIndex[w] {
			votes[lang]++
		}
	}
	best, n, second := "", 0, 0
	for lang, v := range votes {
		switch {
		case v > n || v == n && lang < best:
			best, n, second = lang, v, max(n, second)
		case v > second:
			second = v
		}
	}
	if n == 0 || n == second {
		return ""
	}
	return best
}
