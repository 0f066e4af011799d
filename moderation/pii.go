package moderation

import (
	"net"
	"regexp"
	"slices"
	"strings"
)

// PII kinds, and the placeholders redaction writes.
var placeholders = map[string]string{
	"email": "[EMAIL]", "phone": "[PHONE]", "card": "[CARD]", "iban": "[IBAN]",
	"ssn": "[SSN]", "ip": "[IP]", "secret": "[SECRET]",
}

// Span is a piece of PII found in a text.
type Span struct {
	Kind       string `json:"kind"`
	Start, End int    `json:"-"` // byte offsets
}

var (
	reEmail  = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	reCard   = regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`)
	reIBAN   = regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b`)
	reSSN    = regexp.MustCompile(`\b(\d{3})-(\d{2})-(\d{4})\b`)
	rePhone  = regexp.MustCompile(`(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,8}){1,4}\b`)
	reIPv4   = regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b`)
	reIPv6   = regexp.MustCompile(`\b[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b`)
	reSecret = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----|` +
		`\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}\b|\bAIza[0-9A-Za-z_-]{35}\b`)
)

// luhn reports whether digits pass the Luhn check (payment cards).
func luhn(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ibanValid checks an IBAN's mod-97 checksum.
func ibanValid(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	s = s[4:] + s[:4]
	rem := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			v := int(c-'A') + 10
			rem = (rem*100 + v) % 97
		default:
			return false
		}
	}
	return rem == 1
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// FindPII finds emails, phone numbers, payment cards (Luhn-checked), IBANs
// (checksummed), US social security numbers, IP addresses and secrets
// (API keys, private keys). Overlaps go to the more specific kind.
func FindPII(text string) []Span {
	var spans []Span
	add := func(kind string, re *regexp.Regexp, ok func(m string, sub []int) bool) {
		for _, loc := range re.FindAllStringSubmatchIndex(text, -1) {
			if ok == nil || ok(text[loc[0]:loc[1]], loc) {
				spans = append(spans, Span{kind, loc[0], loc[1]})
			}
		}
	}
	// In order of priority: an earlier kind wins an overlap.
	add("secret", reSecret, nil)
	add("card", reCard, func(m string, _ []int) bool { d := digitsOf(m); return len(d) >= 13 && len(d) <= 19 && luhn(d) })
	add("iban", reIBAN, func(m string, _ []int) bool { return ibanValid(m) })
	add("ssn", reSSN, func(_ string, l []int) bool {
		area, group, serial := text[l[2]:l[3]], text[l[4]:l[5]], text[l[6]:l[7]]
		return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
	})
	add("email", reEmail, nil)
	add("ip", reIPv4, nil)
	add("ip", reIPv6, func(m string, _ []int) bool {
		return strings.Count(m, ":") >= 2 && net.ParseIP(m) != nil && strings.ContainsAny(m, "0123456789abcdefABCDEF")
	})
	add("phone", rePhone, func(m string, _ []int) bool { d := digitsOf(m); return len(d) >= 7 && len(d) <= 15 })
	// Keep the first of overlapping spans (the more specific kind).
	var out []Span
	for _, s := range spans {
		if !slices.ContainsFunc(out, func(o Span) bool { return s.Start < o.End && o.Start < s.End }) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Span) int { return a.Start - b.Start })
	return out
}

// Redact replaces each span with its placeholder ([EMAIL], [CARD], …), so
// the text stays readable.
func Redact(text string, spans []Span) string {
	var b strings.Builder
	last := 0
	for _, s := range spans {
		b.WriteString(text[last:s.Start])
		b.WriteString(placeholders[s.Kind])
		last = s.End
	}
	b.WriteString(text[last:])
	return b.String()
}
