package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// maxRequestID is the longest client-sent request id kept.
const maxRequestID = 128

// requestID is the id a request is known by: the client's X-Request-Id
// when it is safe to echo and log (1–128 bytes of letters, digits and
// "-_.:/+=@"), else a new one.
func requestID(sent string) string {
	if safeRequestID(sent) {
		return sent
	}
	return newRequestID()
}

func safeRequestID(s string) bool {
	if s == "" || len(s) > maxRequestID {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=' || c == '@':
		default:
			return false
		}
	}
	return true
}

// newRequestID is time-ordered (milliseconds, base 36) with 64 random
// bits: "req-" + 9 + "-" + 16 characters.
func newRequestID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return "req-" + strconv.FormatInt(time.Now().UnixMilli(), 36) + "-" + hex.EncodeToString(b[:])
}
