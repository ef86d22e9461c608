package builder

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/scandb"
	"github.com/harborbundle/bundle/selfextract"
)

// buildScanDBOnly makes a DB-only bundle (--trivy-db-only): the same .run, signature and
// checksum file as an upgrade bundle, whose payload holds only the DB layers and a manifest of
// Kind trivy-db-refresh. Its default name carries the vulnerability DB's UpdatedAt day, so the
// weekly refreshes sort and never collide; it is known only once the DB is pulled and checked,
// and the output is checked then, still before anything is written.
func buildScanDBOnly(ctx context.Context, s *settings, began time.Time) (*Result, error) {
	stub, err := stubPath(s)
	if err != nil {
		return nil, err
	}
	if s.Output != "" {
		// A missing directory or an existing file named explicitly is known before any pull.
		if st, err := os.Stat(s.Output); err != nil || !st.IsDir() {
			if err := checkOutput(s.Output, s); err != nil {
				return nil, err
			}
		}
	}
	client, err := newRegistryClient(s)
	if err != nil {
		return nil, err
	}
	cache, err := OpenCache(s.CacheDir, 4, s.RetryDelay)
	if err != nil {
		return nil, err
	}
	defer cache.Close()
	dbs, err := pullScanDBs(ctx, s, client, cache)
	if err != nil {
		return nil, err
	}
	output, err := scanDBOutput(s.Output, dbs[0].db)
	if err != nil {
		return nil, err
	}
	if err := checkOutput(output, s); err != nil {
		return nil, err
	}
	res, err := writeScanDBOnly(ctx, s, output, cache, dbs, stub)
	if err != nil {
		return nil, err
	}
	res.Cache = cache.Stats()
	res.Seconds = time.Since(began).Seconds()
	return res, nil
}

// scanDBOutput is -o, or harbor-trivy-db-YYYYMMDD.run (in -o when that is a directory) named
// after the vulnerability DB's UpdatedAt, UTC.
func scanDBOutput(o string, db payload.ScanDB) (string, error) {
	t, err := scandb.ParseTime(db.Metadata.UpdatedAt)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("harbor-trivy-db-%s.run", t.UTC().Format("20060102"))
	out := o
	if out == "" {
		out = name
	} else if st, err := os.Stat(out); err == nil && st.IsDir() {
		out = filepath.Join(out, name)
	}
	return filepath.Abs(out)
}

// writeScanDBOnly writes the .run: stub, DB blobs, manifest; then the trailer (signed with
// --sign-key), NAME.run.sha256 and, with --split, the parts.
func writeScanDBOnly(ctx context.Context, s *settings, output string, cache *Cache, dbs []*pulledScanDB, stub string) (*Result, error) {
	stubR, _, err := selfextract.StubReader(stub)
	if err != nil {
		return nil, &InputError{fmt.Errorf("reading the stub binary %s: %w", stub, err)}
	}
	defer stubR.Close()
	sg := newSigner(s.SignKey, s, output)
	out, err := selfextract.Create(output, sg.teeReader(stubR), s.Force)
	if err != nil {
		if errors.Is(err, selfextract.ErrExists) {
			return nil, &InputError{err}
		}
		return nil, fmt.Errorf("creating %s: %w", output, err)
	}
	defer out.Abort() // a no-op once committed
	pw := payload.NewWriter(sg.tee(out), payload.WriterOptions{
		Compression: s.Compression, Level: payload.Level(s.Level), SpoolDir: cache.TempDir(), BuildTime: s.BuildTime,
	})
	m := payload.Manifest{Kind: payload.KindTrivyDBRefresh, Builder: payload.Builder{Version: s.BuilderVersion, BuildTime: s.BuildTime}}
	if m.ScanDBs, err = addScanDBs(pw, dbs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sum, trailer, err := sealPayload(out, pw, m, sg)
	if err != nil {
		return nil, err
	}
	whole, size, err := out.Commit(trailer)
	if err != nil {
		return nil, fmt.Errorf("finishing %s: %w", output, err)
	}
	res := &Result{
		File: output, Size: size, SHA256: hex.EncodeToString(whole[:]), BuildTime: sum.Manifest.Builder.BuildTime,
		Compression: "keep", Kind: sum.Manifest.Kind, ScanDBs: sum.Manifest.ScanDBs,
	}
	if res.SignatureFile, err = sg.writeDetached(res.File); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if err := finish(s, res, whole); err != nil {
		return nil, err
	}
	return res, nil
}
