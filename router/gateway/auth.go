package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/router/config"
)

// keyset holds the SHA-256 of each accepted key with its scope; keys
// themselves are never kept.
type keyset struct {
	hashes [][32]byte
	admin  []bool
	names  []string
}

// getenv is the variable's value through Options.LookupEnv ("" when unset).
func (s *Server) getenv(name string) string {
	v, _ := s.opt.LookupEnv(name)
	return v
}

func newKeyset(keys []config.APIKey, lookup func(string) (string, bool)) (*keyset, error) {
	ks := &keyset{}
	for _, k := range keys {
		var h [32]byte
		switch {
		case k.Env != "":
			v, _ := lookup(k.Env)
			if v == "" {
				return nil, fmt.Errorf("server.api_keys %q: the variable %s is not set", k.Name, k.Env)
			}
			h = sha256.Sum256([]byte(v))
		default:
			b, err := hex.DecodeString(k.SHA256)
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("server.api_keys %q: sha256 is not 64 hex digits", k.Name)
			}
			copy(h[:], b)
		}
		ks.hashes = append(ks.hashes, h)
		ks.admin = append(ks.admin, k.Scope == "admin")
		ks.names = append(ks.names, k.Name)
	}
	return ks, nil
}

// check returns the scope of the presented key ("admin", "client", or ""
// when it matches none) and its name. Every stored hash is compared, in
// constant time.
func (ks *keyset) check(key string) (scope, name string) {
	h := sha256.Sum256([]byte(key))
	for i, s := range ks.hashes {
		if subtle.ConstantTimeCompare(h[:], s[:]) == 1 {
			if ks.admin[i] {
				scope, name = "admin", ks.names[i]
			} else if scope == "" {
				scope, name = "client", ks.names[i]
			}
		}
	}
	return scope, name
}

func presentedKey(c *gin.Context) string {
	if v, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(v)
	}
	return c.GetHeader("x-api-key")
}

// authorize lets a request through when its key has the scope: with no
// keys configured, client endpoints are open and the admin ones closed.
func (s *Server) authorize(admin bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		ks := s.st.Load().keys
		if len(ks.hashes) == 0 {
			if admin {
				fail(c, kindForbidden, "admin_key_required", "",
					"this endpoint needs an admin key, and this service has none: add one under server.api_keys with scope admin")
			}
			return
		}
		key := presentedKey(c)
		scope, name := ks.check(key)
		exchangeOf(c).key = name // for budgets and spend; never the key itself
		switch {
		case key == "" || scope == "":
			fail(c, kindUnauthorized, "invalid_api_key", "", "missing or incorrect API key: send it as Authorization: Bearer KEY")
		case admin && scope != "admin":
			fail(c, kindForbidden, "admin_key_required", "", "this endpoint needs a key with scope admin")
		}
	}
}
