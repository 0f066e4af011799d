package config

import "cmp"

// FeedbackConfig turns on the record of each routed request and POST
// /v1/feedback (router/gateway/feedback.go). Without a feedback section
// nothing is recorded.
type FeedbackConfig struct {
	// KeepDays is how many days route records are kept (the file store
	// drops whole days, so up to one day more); default 7.
	KeepDays int `yaml:"keep_days,omitempty"`
	// FeedbackKeepDays is how many days feedback itself is kept (with its
	// copy of the route record); default 365.
	FeedbackKeepDays int `yaml:"feedback_keep_days,omitempty"`
	// KeepPrompts keeps the text each request was routed on, so that a
	// corrected route can become a labeled row or an utterance. Off by
	// default: the record then holds no user text.
	KeepPrompts bool `yaml:"keep_prompts,omitempty"`
	// MaxComment bounds a feedback's comment, in characters; default 1000.
	MaxComment int `yaml:"max_comment,omitempty"`
}

func (c *Config) defaultFeedback() {
	if f := c.Feedback; f != nil {
		f.KeepDays = cmp.Or(f.KeepDays, 7)
		f.FeedbackKeepDays = cmp.Or(f.FeedbackKeepDays, 365)
		f.MaxComment = cmp.Or(f.MaxComment, 1000)
	}
}

// validateFeedback checks the retention and the comment bound.
func (c *Config) validateFeedback(ps *problems) {
	f := c.Feedback
	if f == nil {
		return
	}
	if f.KeepDays < 1 || f.KeepDays > 3660 {
		ps.add("feedback.keep_days", "%d is outside 1…3660 (days route records are kept)", f.KeepDays)
	}
	if f.FeedbackKeepDays < 1 || f.FeedbackKeepDays > 36600 {
		ps.add("feedback.feedback_keep_days", "%d is outside 1…36600 (days feedback is kept)", f.FeedbackKeepDays)
	}
	if f.MaxComment < 1 || f.MaxComment > 100000 {
		ps.add("feedback.max_comment", "%d is outside 1…100000 (characters)", f.MaxComment)
	}
}
