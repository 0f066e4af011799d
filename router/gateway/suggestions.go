package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/judge/suggest"
)

// listSuggestions answers GET /v1/intents/suggestions: the prompts the
// routing judge placed, most often seen first.
func (s *Server) listSuggestions(c *gin.Context) {
	store, err := s.suggestions(s.st.Load().cfg)
	var list []suggest.Suggestion
	if err == nil {
		list, err = store.List()
	}
	if err != nil {
		fail(c, kindUnavailable, "", "", "the suggestions are unavailable: "+err.Error())
		return
	}
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": list})
}

// changeSuggestion answers POST /v1/intents/suggestions/{id}/accept, which
// adds the suggestion's text to its intent's utterances through the
// intents API's validated, durable change and then drops the suggestion,
// and POST …/dismiss, which only drops it.
func (s *Server) changeSuggestion(c *gin.Context) {
	action := c.Param("action")
	if action != "accept" && action != "dismiss" {
		fail(c, kindNotFound, "unknown_url", "", fmt.Sprintf("no such action %q on a suggestion; want accept or dismiss", action))
		return
	}
	store, err := s.suggestions(s.st.Load().cfg)
	if err != nil {
		fail(c, kindUnavailable, "", "", "the suggestions are unavailable: "+err.Error())
		return
	}
	sg, err := store.Get(c.Param("id"))
	if err != nil {
		suggestionFailed(c, err)
		return
	}
	if action == "accept" {
		_, ok := s.applyChange(c, func(list []intents.Intent) ([]intents.Intent, *requestError) {
			i := findIntent(list, sg.Intent)
			if i < 0 {
				return nil, &requestError{kind: kindConflict, param: "intent",
					msg: fmt.Sprintf("the suggestion's intent %q no longer exists; dismiss it, or add the text to another intent through the intents API", sg.Intent)}
			}
			if !slices.Contains(list[i].Utterances, sg.Text) {
				list[i].Utterances = append(list[i].Utterances, sg.Text)
			}
			return list, nil
		})
		if !ok {
			return
		}
	}
	if err := store.Remove(sg.ID); err != nil {
		if action == "accept" {
			fail(c, kindUnavailable, "", "",
				fmt.Sprintf("the text was added to intent %q, but the suggestion could not be dropped: %v", sg.Intent, err))
			return
		}
		suggestionFailed(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": sg.ID, "intent": sg.Intent, action + "ed": true})
}

// suggestionFailed answers a suggestion store's error.
func suggestionFailed(c *gin.Context, err error) {
	if errors.Is(err, suggest.ErrNotFound) {
		fail(c, kindNotFound, "suggestion_not_found", "id", err.Error())
		return
	}
	fail(c, kindUnavailable, "", "", "the suggestions are unavailable: "+err.Error())
}
