package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// apiError is OpenAI's error object.
type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Error types, as OpenAI names them.
const (
	typeInvalid  = "invalid_request_error"
	typeAuth     = "authentication_error"
	typePerm     = "permission_error"
	typeNotFound = "not_found_error"
	typeServer   = "server_error"
	typeUpstream = "upstream_error"
	typeRate     = "rate_limit_error"
)

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// fail answers status with an OpenAI-format error and stops the chain.
func fail(c *gin.Context, status int, typ, code, param, msg string) {
	c.AbortWithStatusJSON(status, gin.H{"error": apiError{Message: msg, Type: typ, Param: strp(param), Code: strp(code)}})
}

func badRequest(c *gin.Context, param, msg string) {
	fail(c, http.StatusBadRequest, typeInvalid, "", param, msg)
}
