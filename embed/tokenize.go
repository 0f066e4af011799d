package embed

import (
	"unicode"
	"unicode/utf8"
)

// MaxTokens bounds the words read from one text. Routing is decided by the
// opening of a prompt; the bound keeps a 1 MB prompt from costing more than
// a few hundred microseconds. Longer texts are cut, never refused.
const MaxTokens = 4096

// Tokens holds the lower-cased word tokens of one text in a single buffer, so
// that tokenizing allocates nothing once the buffers have grown. Reuse a
// Tokens value across calls (it is not safe for concurrent use).
type Tokens struct {
	buf   []byte
	spans []span
}

type span struct{ start, end int32 }

// Len is the number of tokens.
func (t *Tokens) Len() int { return len(t.spans) }

// Word returns token i; the slice is valid until the next Reset.
func (t *Tokens) Word(i int) []byte { s := t.spans[i]; return t.buf[s.start:s.end] }

// Reset tokenizes text: runs of letters and digits, lower-cased. English
// clitics are split the way GloVe's corpus was ("don't" → "do" "n't",
// "it's" → "it" "'s"). Invalid UTF-8 bytes and all other characters separate
// tokens.
func (t *Tokens) Reset(text string) {
	t.buf = t.buf[:0]
	t.spans = t.spans[:0]
	start := -1 // start of the current token in buf, -1 when outside one
	for i := 0; i < len(text) && len(t.spans) < MaxTokens; {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case c == '\'':
				start = t.clitic(text, i, start)
				continue
			default:
				start = t.end(start)
				continue
			}
			if start < 0 {
				start = len(t.buf)
			}
			t.buf = append(t.buf, c)
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if r == '\u2019' { // right single quotation mark, used as apostrophe
			start = t.clitic(text, i, start)
			continue
		}
		if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)) {
			start = t.end(start)
			continue
		}
		if start < 0 {
			start = len(t.buf)
		}
		t.buf = utf8.AppendRune(t.buf, unicode.ToLower(r))
	}
	t.end(start)
}

// end closes the token that began at start, if any, and returns -1.
func (t *Tokens) end(start int) int {
	if start >= 0 && start < len(t.buf) && len(t.spans) < MaxTokens {
		t.spans = append(t.spans, span{int32(start), int32(len(t.buf))})
	}
	return -1
}

// clitic handles an apostrophe whose following byte is at text[next]. Inside
// a word followed by a letter it starts a clitic token ("'s", "n't");
// anywhere else it separates tokens.
func (t *Tokens) clitic(text string, next, start int) int {
	if start < 0 || next >= len(text) || !isASCIILetter(text[next]) {
		return t.end(start)
	}
	if w := t.buf[start:]; len(w) > 1 && w[len(w)-1] == 'n' && (text[next] == 't' || text[next] == 'T') {
		// "don't": the n belongs to the clitic.
		t.buf = t.buf[:len(t.buf)-1]
		t.end(start)
		t.buf = append(t.buf, 'n', '\'')
		return len(t.buf) - 2
	}
	t.end(start)
	t.buf = append(t.buf, '\'')
	return len(t.buf) - 1
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
