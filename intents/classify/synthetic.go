package classify

import (
	"math/rand/v2"
	"strings"
)

// Synthetic makes n classes of per texts each, for benchmarks and tests at
// sizes no real intent set has: every class draws its texts (5 to 12
// words) from its own topic words plus common ones. word(i) returns a
// vocabulary word by frequency rank (i < 20,000).
func Synthetic(word func(int) string, n, per int, seed uint64) [][]string {
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([][]string, n)
	for i := range out {
		topic := make([]string, 8)
		for j := range topic {
			topic[j] = word(500 + rng.IntN(19500))
		}
		for u := 0; u < per; u++ {
			var b strings.Builder
			for w := 5 + rng.IntN(8); w > 0; w-- {
				if rng.IntN(2) == 0 {
					b.WriteString(topic[rng.IntN(len(topic))])
				} else {
					b.WriteString(word(rng.IntN(500)))
				}
				b.WriteByte(' ')
			}
			out[i] = append(out[i], strings.TrimSpace(b.String()))
		}
	}
	return out
}
