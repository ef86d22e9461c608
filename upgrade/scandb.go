package upgrade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/harborbundle/bundle/internal/atomicfile"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/scandb"
	"golang.org/x/sys/unix"
)

// Trivy's vulnerability DBs on the host (issue 16). Harbor's trivy-adapter mounts
// data_volume/trivy-adapter/trivy at /home/scanner/.cache/trivy and Trivy reads db/ (and
// java-db/) there; with harbor.yml's trivy.skip_update it never downloads one, which is what an
// air-gapped Harbor needs, so the DB has to be put there by hand, or by a bundle. This file holds
// what the upgrade (which installs carried DBs with the new release) and the DB-only refresh
// (scandb_refresh.go) share.

// adapterContainer is trivy-adapter's container_name in every 2.x docker-compose.yml template.
const adapterContainer = "trivy-adapter"

// Properties of the adapter's /api/v1/metadata (harbor-scanner-trivy pkg/http/api/v1/handler.go).
const propDBUpdatedAt = "harbor.scanner-adapter/vulnerability-database-updated-at"

// trivyCache is the adapter's cache dir on the host.
func trivyCache(dataVolume string) string {
	return filepath.Join(dataVolume, "trivy-adapter", "trivy")
}

// scanDBTree is the name of a kind's DB dir in the backup and the journal ("trivy-db").
func scanDBTree(kind string) string { return kind }

// scanDBDir is where kind's DB lives on the host.
func scanDBDir(dataVolume, kind string) (string, error) {
	dir, _, err := scandb.Layout(kind)
	if err != nil {
		return "", err
	}
	return filepath.Join(trivyCache(dataVolume), dir), nil
}

// openScanDB opens the carried layer blob of d; reading it to the end checks its sha256.
func openScanDB(src Source, d payload.ScanDB) (io.ReadCloser, error) {
	return src.OpenEntry(d.BlobPath())
}

// checkCarried reads a carried DB layer through: its bytes must match the manifest's digest, its
// files be what Trivy expects (scandb.Inspect) and its metadata.json the one the manifest shows.
// It returns the DB's size once unpacked. Nothing on the host changes.
func checkCarried(src Source, d payload.ScanDB) (int64, error) {
	r, err := openScanDB(src, d)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	m, size, err := scandb.Measure(r, d.Kind)
	if err == nil {
		_, err = io.Copy(io.Discard, r) // to the end: the digest is checked at EOF
	}
	if err != nil {
		return 0, fmt.Errorf("the bundle's %s: %w", d.Kind, err)
	}
	if m.UpdatedAt != d.Metadata.UpdatedAt {
		return 0, fmt.Errorf("the bundle's %s: its metadata.json says UpdatedAt %s, the manifest %s", d.Kind, m.UpdatedAt, d.Metadata.UpdatedAt)
	}
	return size, nil
}

// stageScanDB unpacks d next to its place under cache, as ".<dir>.new-<tag>" (removed first:
// a leftover of ours), owned by the adapter's user, and returns that path.
func stageScanDB(src Source, d payload.ScanDB, cache, tag string) (string, error) {
	dir, _, err := scandb.Layout(d.Kind)
	if err != nil {
		return "", err
	}
	if err := mkdirOwned(cache); err != nil {
		return "", err
	}
	stage := filepath.Join(cache, "."+dir+".new-"+tag)
	if err := os.RemoveAll(stage); err != nil {
		return "", err
	}
	r, err := openScanDB(src, d)
	if err != nil {
		return "", err
	}
	defer r.Close()
	if err := scandb.Unpack(r, d.Kind, stage, scandb.AdapterUID, scandb.AdapterGID); err != nil {
		return "", fmt.Errorf("unpacking the bundle's %s: %w", d.Kind, err)
	}
	return stage, nil
}

// mkdirOwned creates dir and its missing parents as prepare would (0755, owned by the adapter's
// user); existing directories are left as they are.
func mkdirOwned(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := mkdirOwned(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return os.Chown(dir, scandb.AdapterUID, scandb.AdapterGID)
}

// swapInto puts stage at target in one step. When target exists it is exchanged with stage
// (renameat2 RENAME_EXCHANGE: Trivy never sees a missing DB) and then renamed to keep ("" removes
// it); a filesystem without the exchange gets two renames. It returns where the old DB went.
func swapInto(stage, target, keep string) (kept string, err error) {
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(stage, target); err != nil {
			return "", err
		}
		return "", atomicfile.SyncDir(filepath.Dir(target))
	}
	if err := unix.Renameat2(unix.AT_FDCWD, stage, unix.AT_FDCWD, target, unix.RENAME_EXCHANGE); err != nil {
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
			return "", fmt.Errorf("exchanging %s and %s: %w", stage, target, err)
		}
		// No exchange here: move the old one away first, then the new one in.
		if err := os.Rename(target, stage+".old"); err != nil {
			return "", err
		}
		if err := os.Rename(stage, target); err != nil {
			os.Rename(stage+".old", target)
			return "", err
		}
		stage += ".old"
	}
	if keep == "" {
		return "", errors.Join(os.RemoveAll(stage), atomicfile.SyncDir(filepath.Dir(target)))
	}
	if err := os.Rename(stage, keep); err != nil {
		return "", err
	}
	return keep, atomicfile.SyncDir(filepath.Dir(target))
}

// adapterDBUpdatedAt asks the running adapter which DB it serves, as Harbor's scanner page does:
// its /api/v1/metadata, read inside its container with the curl its HEALTHCHECK uses (the
// adapter publishes no port on the host). ok is false when it reports no DB.
func adapterDBUpdatedAt(ctx context.Context, eng Engine) (updatedAt string, ok bool, err error) {
	out, err := eng.Exec(ctx, adapterContainer, "curl", "--fail", "-s", "http://127.0.0.1:8080/api/v1/metadata")
	if err != nil {
		// Internal TLS on: the adapter listens on 8443 only (env.jinja SCANNER_API_SERVER_ADDR).
		var terr error
		if out, terr = eng.Exec(ctx, adapterContainer, "curl", "--fail", "-s", "-k", "https://127.0.0.1:8443/api/v1/metadata"); terr != nil {
			return "", false, fmt.Errorf("reading the adapter's metadata: %w", err)
		}
	}
	var m struct {
		Properties map[string]string `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return "", false, fmt.Errorf("the adapter's metadata: %w", err)
	}
	v, ok := m.Properties[propDBUpdatedAt]
	return v, ok, nil
}

// sameSecond compares metadata.json's UpdatedAt with what the adapter reports (RFC 3339 in whole
// seconds: the adapter formats with time.RFC3339).
func sameSecond(metadata, reported string) bool {
	a, err1 := scandb.ParseTime(metadata)
	b, err2 := scandb.ParseTime(reported)
	return err1 == nil && err2 == nil && a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}

// waitAdapterDB polls until the adapter reports the DB updated at want, or timeout.
func waitAdapterDB(ctx context.Context, eng Engine, want string, timeout, interval time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		got, ok, err := adapterDBUpdatedAt(ctx, eng)
		switch {
		case err != nil:
			last = err.Error()
		case !ok:
			last = "it reports no vulnerability DB"
		case sameSecond(want, got):
			return nil
		default:
			last = "it reports the DB updated at " + got
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("trivy-adapter does not serve the DB updated at %s after %s: %s", want, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
