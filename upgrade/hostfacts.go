package upgrade

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// What preflight measures on the host: free space, filesystems, sizes, ports.

// freeBytes is the space available to root under path (or its nearest existing parent).
func freeBytes(path string) (int64, error) {
	for {
		var st unix.Statfs_t
		err := unix.Statfs(path, &st)
		if err == nil {
			return int64(st.Bavail) * st.Bsize, nil
		}
		if !errors.Is(err, unix.ENOENT) || path == filepath.Dir(path) {
			return 0, err
		}
		path = filepath.Dir(path)
	}
}

// sameFilesystem reports whether a and b (or their nearest existing parents) share a device,
// in which case moving the install dir into the backup is a rename and costs no space.
func sameFilesystem(a, b string) bool {
	da, errA := deviceOf(a)
	db, errB := deviceOf(b)
	return errA == nil && errB == nil && da == db
}

func deviceOf(path string) (uint64, error) {
	for {
		var st unix.Stat_t
		err := unix.Stat(path, &st)
		if err == nil {
			return st.Dev, nil
		}
		if path == filepath.Dir(path) {
			return 0, err
		}
		path = filepath.Dir(path)
	}
}

// treeBytes sums the sizes of the regular files under root (0 when it does not exist).
func treeBytes(root string) (int64, error) {
	var n int64
	err := filepath.WalkDir(root, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}

// withMargin adds room for filesystem overhead and what grows meanwhile: 5%, at least 16 MiB.
func withMargin(n int64) int64 {
	m := n / 20
	if m < 16<<20 {
		m = 16 << 20
	}
	return n + m
}

// portFree reports whether nothing listens on port (tried on all addresses, as Harbor binds).
func portFree(port int) bool {
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// busyPorts lists the ports the new Harbor needs that something else holds. While Harbor
// runs its own proxy holds them, and they free up at stop.
func busyPorts(in *Install) []int {
	if in.Running {
		return nil
	}
	var busy []int
	for _, p := range []int{in.HTTPPort, in.HTTPSPort} {
		if p > 0 && !portFree(p) {
			busy = append(busy, p)
		}
	}
	return busy
}
