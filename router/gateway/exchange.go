package gateway

import (
	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
)

// exchange is one request's way through the gateway: what each step
// found, for the steps after it, the access log and the metrics. It
// replaces gin context keys and response headers read back: a step reads
// the decision's score here, not from the X-Semroute-Score it wrote.
type exchange struct {
	id       string           // the request id (X-Request-Id); set by accessLog
	key      string           // the API key's name (never the key); set by authorize
	intent   string           // the routed intent; "" for a named model
	decision *router.Decision // nil for a named model
	routed   routed           // the text routed on and its embedding, for the semantic cache
	target   intents.Target   // where the request goes, once decided, segmented and moderated
	findings verdict          // pre-moderation's, on the user's messages
	output   verdict          // post-moderation's, on the answer
	model    string           // the model that answered
	cost     float64          // what the answer cost, in dollars
	closed   bool             // the client went away before its answer was whole
}

// routed is the text a request was routed on and its unit embedding.
type routed struct {
	text string
	vec  []float32
}

// exchangeKey is the one gin context key: the request's exchange.
const exchangeKey = "semroute.exchange"

// exchangeOf is c's exchange; accessLog makes it before any step runs.
func exchangeOf(c *gin.Context) *exchange {
	if v, ok := c.Get(exchangeKey); ok {
		return v.(*exchange)
	}
	x := &exchange{}
	c.Set(exchangeKey, x)
	return x
}
