package local

// Spelling correction for words missing from the vocabulary: every string one
// edit away (delete, transpose, replace, insert a letter) is looked up and the
// most frequent word found wins. About 50 × len(word) hash probes, run only
// for unknown words, so a typo in a prompt still lands on the right vector.
const (
	minCorrectLen = 4  // shorter words have too many plausible neighbours
	maxCorrectLen = 24 // longer "words" are ids, hashes, URLs
)

// correct returns the rank of the best one-edit correction of w, or -1.
func (t *table) correct(w []byte) int {
	if len(w) < minCorrectLen || len(w) > maxCorrectLen {
		return -1
	}
	for _, c := range w {
		if c < 'a' || c > 'z' {
			return -1
		}
	}
	var buf [maxCorrectLen + 1]byte
	best := -1
	try := func(cand []byte) {
		if r := t.lookup(cand); r >= 0 && (best < 0 || r < best) {
			best = r
		}
	}
	n := len(w)
	for i := 0; i < n; i++ { // delete w[i]
		copy(buf[:], w[:i])
		copy(buf[i:], w[i+1:])
		try(buf[:n-1])
	}
	copy(buf[:], w)
	for i := 0; i+1 < n; i++ { // transpose w[i], w[i+1]
		buf[i], buf[i+1] = buf[i+1], buf[i]
		try(buf[:n])
		buf[i], buf[i+1] = buf[i+1], buf[i]
	}
	for i := 0; i < n; i++ { // replace w[i]
		for c := byte('a'); c <= 'z'; c++ {
			if c != w[i] {
				buf[i] = c
				try(buf[:n])
			}
		}
		buf[i] = w[i]
	}
	for i := 0; i <= n; i++ { // insert before w[i]
		copy(buf[:], w[:i])
		copy(buf[i+1:], w[i:])
		for c := byte('a'); c <= 'z'; c++ {
			buf[i] = c
			try(buf[:n+1])
		}
	}
	return best
}

func (e *Embedder) correct(w []byte) int { return e.t.correct(w) }
