package moderation

import (
	"strings"
	"testing"
)

func TestFindAndRedactPII(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"mail me at jane.doe+shop@example.co.uk today", "mail me at [EMAIL] today"},
		{"my card is 4111 1111 1111 1111, expiry 12/29", "my card is [CARD], expiry 12/29"},
		{"not a card: 4111 1111 1111 1112", "not a card: 4111 1111 1111 1112"}, // fails Luhn
		{"IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [IBAN] please"},
		{"IBAN DE00 3704 0044 0532 0130 00 is wrong", "IBAN DE00 3704 0044 0532 0130 00 is wrong"},
		{"ssn 123-45-6789 and 000-12-3456", "ssn [SSN] and [PHONE]"},
		{"call +1 (415) 555-0132 or 030 1234567", "call [PHONE] or [PHONE]"},
		{"server 192.168.10.254 and 2001:db8::8a2e:370:7334", "server [IP] and [IP]"},
		{"key sk-proj-abcdefghijklmnopqrstuvwx123 and AKIAIOSFODNN7EXAMPLE", "key [SECRET] and [SECRET]"},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- done", "[SECRET] done"},
		{"version 1.2.3 at 10:30 costs 20 euros", "version 1.2.3 at 10:30 costs 20 euros"},
	} {
		if got := Redact(tc.in, FindPII(tc.in)); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if !luhn("79927398713") || luhn("79927398710") {
		t.Error("luhn")
	}
	if !ibanValid("GB82 WEST 1234 5698 7654 32") || ibanValid("GB82 WEST 1234 5698 7654 33") {
		t.Error("iban")
	}
	if s := FindPII("plain text"); len(s) != 0 || strings.Contains(Redact("x", nil), "[") {
		t.Error("false positive")
	}
}
