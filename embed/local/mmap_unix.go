//go:build unix

package local

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile memory-maps path read-only. Mapping instead of reading makes start
// -up independent of the file size: pages are faulted in as words are used.
func mapFile(path string) (data []byte, unmap func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return nil, nil, fmt.Errorf("%q is empty", path)
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("mmap %q: %w", path, err)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
