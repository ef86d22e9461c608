package selfextract

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// multiFile presents the parts of a split bundle as one io.ReaderAt.
type multiFile struct {
	files  []*os.File
	starts []int64 // start offset of each part in the joined file
	size   int64
}

func openMulti(paths []string) (*multiFile, error) {
	m := &multiFile{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			m.Close()
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			m.Close()
			return nil, err
		}
		if st.Size() == 0 {
			f.Close()
			m.Close()
			return nil, fmt.Errorf("part %s is empty", p)
		}
		m.files = append(m.files, f)
		m.starts = append(m.starts, m.size)
		m.size += st.Size()
	}
	return m, nil
}

func (m *multiFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset")
	}
	n := 0
	for len(p) > 0 {
		if off >= m.size {
			return n, io.EOF
		}
		// The last part whose start is <= off holds off.
		i := sort.Search(len(m.starts), func(i int) bool { return m.starts[i] > off }) - 1
		k, err := m.files[i].ReadAt(p, off-m.starts[i])
		n += k
		off += int64(k)
		p = p[k:]
		if err != nil && err != io.EOF {
			return n, err
		}
		if k == 0 && err == io.EOF {
			return n, fmt.Errorf("part %s is shorter than when it was opened", m.files[i].Name())
		}
	}
	return n, nil
}

func (m *multiFile) Close() error {
	var first error
	for _, f := range m.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
