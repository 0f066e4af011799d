package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/internal/durable"
	"github.com/semroute/semroute/router"
)

// fileStore keeps the intents as changed through the API in a file in the
// data directory. Once it exists it replaces the config's intents.
type fileStore struct{ path string }

type intentsFile struct {
	Version int              `json:"version"`
	Intents []intents.Intent `json:"intents"`
}

func intentsPath(cfg *router.Config) string { return filepath.Join(cfg.Index.DataDir, "intents.json") }

// Load returns the stored intents. One process owns the file, so its
// version is always 0.
func (s *fileStore) Load(context.Context) ([]intents.Intent, int64, bool, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("read intents: %w", err)
	}
	var f intentsFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != 1 {
		return nil, 0, false, fmt.Errorf("intents file %s is damaged or of another version (%v); move it away to start from the config's intents", s.path, err)
	}
	return f.Intents, 0, true, nil
}

func (s *fileStore) Version(context.Context) (int64, error) { return 0, nil }

// Save writes the intents durably: a temporary file, fsync, rename, and an
// fsync of the directory, so that a crash leaves the old or the new file.
func (s *fileStore) Save(_ context.Context, list []intents.Intent) (int64, error) {
	return 0, s.save(list)
}

func (s *fileStore) save(list []intents.Intent) error {
	data, err := json.MarshalIndent(intentsFile{Version: 1, Intents: list}, "", "  ")
	if err != nil {
		return err
	}
	return durable.ReplaceFile(s.path, func(w *bufio.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

func (s *Server) listIntents(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"object": "list", "data": s.st.Load().cfg.Intents})
}

func findIntent(list []intents.Intent, name string) int {
	return slices.IndexFunc(list, func(in intents.Intent) bool { return in.Name == name })
}

func (s *Server) getIntent(c *gin.Context) {
	list := s.st.Load().cfg.Intents
	i := findIntent(list, c.Param("name"))
	if i < 0 {
		fail(c, kindNotFound, "intent_not_found", "name", fmt.Sprintf("no intent named %q", c.Param("name")))
		return
	}
	c.JSON(http.StatusOK, list[i])
}

// change applies edit to a copy of the current intents, checks the result,
// builds a router from it, saves it, and only then makes it current: what
// is acknowledged is on disk, and a failed change leaves everything as it
// was.
func (s *Server) change(c *gin.Context, status int, edit func(list []intents.Intent) ([]intents.Intent, *requestError)) {
	if list, ok := s.applyChange(c, edit); ok {
		c.JSON(status, gin.H{"object": "list", "data": list})
	}
}

// applyChange is change without the answer on success: it returns the
// intents now current, or false once it answered the error.
func (s *Server) applyChange(c *gin.Context, edit func(list []intents.Intent) ([]intents.Intent, *requestError)) ([]intents.Intent, bool) {
	s.changes.mu.Lock()
	defer s.changes.mu.Unlock()
	st := s.st.Load()
	cfg := st.cfg.Clone()
	list, rerr := edit(cfg.Intents)
	if rerr != nil {
		answerError(c, rerr)
		return nil, false
	}
	cfg.Intents = list
	if err := cfg.Validate(); err != nil {
		var ce *router.ConfigError
		if errors.As(err, &ce) {
			msgs := make([]string, len(ce.Problems))
			for i, p := range ce.Problems {
				msgs[i] = p.Field + ": " + p.Msg
			}
			badRequest(c, "", "the change leaves the intents invalid: "+strings.Join(msgs, "; "))
			return nil, false
		}
		badRequest(c, "", err.Error())
		return nil, false
	}
	next, err := s.build(c.Request.Context(), cfg)
	if err != nil {
		fail(c, kindInternal, "", "", "building the router: "+err.Error())
		return nil, false
	}
	version, err := st.store.Save(c.Request.Context(), list)
	if err != nil {
		fail(c, kindUnavailable, "", "", "saving the intents: "+err.Error())
		return nil, false
	}
	next.base, next.version, next.store = st.base, version, st.store
	s.st.Store(next)
	return list, true
}

// decodeIntent reads an intent from the body; name, when given, must match.
func decodeIntent(c *gin.Context, name string) (intents.Intent, *requestError) {
	var in intents.Intent
	body, err := readBody(c.Request.Body)
	if err != nil {
		var re *requestError
		errors.As(err, &re)
		return in, re
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, bad("", "the body is not an intent {name, utterances, target, threshold?, description?}: %v", err)
	}
	if name != "" && in.Name == "" {
		in.Name = name
	}
	if name != "" && in.Name != name {
		return in, bad("name", "the body names %q but the URL %q", in.Name, name)
	}
	return in, nil
}

func (s *Server) createIntent(c *gin.Context) {
	in, rerr := decodeIntent(c, "")
	if rerr != nil {
		answerError(c, rerr)
		return
	}
	s.change(c, http.StatusCreated, func(list []intents.Intent) ([]intents.Intent, *requestError) {
		if findIntent(list, in.Name) >= 0 {
			return nil, &requestError{kind: kindConflict, param: "name", msg: fmt.Sprintf("intent %q exists; PUT /v1/intents/%s replaces it", in.Name, in.Name)}
		}
		return append(list, in), nil
	})
}

func (s *Server) replaceIntent(c *gin.Context) {
	in, rerr := decodeIntent(c, c.Param("name"))
	if rerr != nil {
		answerError(c, rerr)
		return
	}
	s.change(c, http.StatusOK, func(list []intents.Intent) ([]intents.Intent, *requestError) {
		if i := findIntent(list, in.Name); i >= 0 {
			list[i] = in
			return list, nil
		}
		return append(list, in), nil
	})
}

func (s *Server) deleteIntent(c *gin.Context) {
	name := c.Param("name")
	s.change(c, http.StatusOK, func(list []intents.Intent) ([]intents.Intent, *requestError) {
		i := findIntent(list, name)
		if i < 0 {
			return nil, &requestError{kind: kindMissing, param: "name", msg: fmt.Sprintf("no intent named %q", name)}
		}
		return slices.Delete(list, i, i+1), nil
	})
}

func decodeUtterances(c *gin.Context) ([]string, *requestError) {
	body, err := readBody(c.Request.Body)
	if err != nil {
		var re *requestError
		errors.As(err, &re)
		return nil, re
	}
	var req struct {
		Utterances []string `json:"utterances"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.Utterances) == 0 {
		return nil, bad("utterances", "send {\"utterances\": [\"...\"]} with at least one utterance")
	}
	return req.Utterances, nil
}

// editUtterances changes the named intent's utterances with edit.
func (s *Server) editUtterances(c *gin.Context, edit func(in *intents.Intent, us []string) *requestError) {
	us, rerr := decodeUtterances(c)
	if rerr != nil {
		answerError(c, rerr)
		return
	}
	name := c.Param("name")
	s.change(c, http.StatusOK, func(list []intents.Intent) ([]intents.Intent, *requestError) {
		i := findIntent(list, name)
		if i < 0 {
			return nil, &requestError{kind: kindMissing, param: "name", msg: fmt.Sprintf("no intent named %q", name)}
		}
		if err := edit(&list[i], us); err != nil {
			return nil, err
		}
		return list, nil
	})
}

func (s *Server) addUtterances(c *gin.Context) {
	s.editUtterances(c, func(in *intents.Intent, us []string) *requestError {
		for _, u := range us {
			if !slices.Contains(in.Utterances, u) {
				in.Utterances = append(in.Utterances, u)
			}
		}
		return nil
	})
}

func (s *Server) removeUtterances(c *gin.Context) {
	s.editUtterances(c, func(in *intents.Intent, us []string) *requestError {
		var missing []string
		for _, u := range us {
			j := slices.Index(in.Utterances, u)
			if j < 0 {
				missing = append(missing, u)
				continue
			}
			in.Utterances = slices.Delete(in.Utterances, j, j+1)
		}
		if len(missing) > 0 {
			return &requestError{kind: kindMissing, param: "utterances", msg: fmt.Sprintf("intent %q has no utterance %q", in.Name, missing)}
		}
		return nil
	})
}
