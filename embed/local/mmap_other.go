//go:build !unix

package local

func mapFile(path string) ([]byte, func() error, error) {
	data, err := readAll(path)
	return data, func() error { return nil }, err
}
