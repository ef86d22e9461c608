package builder

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/scandb"
	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/sign"
)

var dbUpdated = time.Date(2026, 3, 14, 6, 12, 29, 0, time.UTC)

// pushDBs serves both DBs under prefix on the fake registry and returns their refs.
func pushDBs(t *testing.T, srv *fakeharbor.Server, prefix string, updated time.Time) map[string]string {
	t.Helper()
	refs := map[string]string{}
	for _, kind := range scandb.Kinds() {
		ref, _, err := srv.PushTrivyDB(context.Background(), kind, prefix+"/"+fakeharbor.TrivyDBRepoTag(kind), updated)
		if err != nil {
			t.Fatal(err)
		}
		refs[kind] = ref
	}
	return refs
}

// checkCarried checks the bundle carries exactly the layers the fake served, as Trivy would
// unpack them.
func checkCarried(t *testing.T, pr *payload.Reader, refs map[string]string, updated time.Time) {
	t.Helper()
	m := pr.Manifest()
	if len(m.ScanDBs) != len(refs) {
		t.Fatalf("%d scan dbs carried, want %d: %+v", len(m.ScanDBs), len(refs), m.ScanDBs)
	}
	for _, kind := range scandb.Kinds() {
		d, rc, err := pr.OpenScanDB(kind)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := fakeharbor.TrivyDBLayer(kind, updated)
		mt, _ := scandb.MediaType(kind)
		if !bytes.Equal(got, want) || d.Size != int64(len(want)) || d.MediaType != mt || d.Ref != refs[kind] ||
			!strings.HasPrefix(d.ManifestDigest, "sha256:") || d.Metadata != fakeharbor.TrivyDBMetadata(kind, updated) {
			t.Errorf("%s carried as %+v (%d bytes), want the served layer of %d bytes", kind, d, len(got), len(want))
		}
		if _, err := scandb.Inspect(bytes.NewReader(got), kind); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
}

// TestBuildCarriesTrivyDBs builds an upgrade bundle with both DBs pulled over the registry
// protocol from the fake registry, and reads them back.
func TestBuildCarriesTrivyDBs(t *testing.T) {
	srv := fakeHarbor(t)
	proxy := startProxy(t, "http://"+srv.RegistryAddr)
	refs := pushDBs(t, srv, "carry", dbUpdated)
	opts := testOptions(t, srv, proxy, t.TempDir())
	opts.WithTrivyDB, opts.WithTrivyJavaDB = true, true
	opts.TrivyDBRepository, opts.TrivyJavaDBRepository = refs[payload.ScanDBTrivy], refs[payload.ScanDBTrivyJava]
	res, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	pr := openBundle(t, res.File)
	if m := pr.Manifest(); m.Kind != payload.KindUpgrade || m.Release != "v1.10.0" || len(m.Images) == 0 {
		t.Errorf("kind %q release %q images %d", m.Kind, m.Release, len(m.Images))
	}
	checkCarried(t, pr, refs, dbUpdated)
	if len(res.ScanDBs) != 2 || res.ScanDBs[0].Kind != payload.ScanDBTrivy || res.ScanDBs[1].Metadata.UpdatedAt != "2026-03-14T06:12:29Z" {
		t.Errorf("result scan dbs %+v", res.ScanDBs)
	}
}

// TestBuildTrivyDBOnly builds a DB-only bundle, signed, named after the DB's day, and reads it
// back; a reference without tag gets the schema's, as Trivy adds it.
func TestBuildTrivyDBOnly(t *testing.T) {
	srv := fakeHarbor(t)
	refs := pushDBs(t, srv, "only", dbUpdated)
	pub, sec, err := sign.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := Options{
		TrivyDBOnly: true, WithTrivyJavaDB: true, Output: dir,
		TrivyDBRepository:     strings.TrimSuffix(refs[payload.ScanDBTrivy], ":2"),
		TrivyJavaDBRepository: refs[payload.ScanDBTrivyJava],
		CacheDir:              t.TempDir(), Stub: testStub(t), BuilderVersion: "test", Keychain: anonymous,
		BuildTime: time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), RetryDelay: 10 * time.Millisecond, SignKey: sec,
	}
	res, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "harbor-trivy-db-20260314.run"); res.File != want {
		t.Errorf("wrote %s, want %s", res.File, want)
	}
	for _, f := range []string{res.File, res.ChecksumFile, res.SignatureFile} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	b, err := selfextract.Open(res.File)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CheckSignature(pub); err != nil {
		t.Errorf("trailer signature: %v", err)
	}
	b.Close()
	pr := openBundle(t, res.File)
	m := pr.Manifest()
	if m.Kind != payload.KindTrivyDBRefresh || m.Release != "" || len(m.Images) != 0 || len(m.Hops) != 0 || res.Kind != payload.KindTrivyDBRefresh {
		t.Errorf("manifest kind %q release %q images %d", m.Kind, m.Release, len(m.Images))
	}
	for _, e := range m.Entries {
		if strings.HasPrefix(e.Path, "installer/") {
			t.Errorf("a DB-only bundle carries %s", e.Path)
		}
	}
	checkCarried(t, pr, refs, dbUpdated)
	// Small: the stub, two small blobs and the manifest.
	if res.Size > 64<<10 {
		t.Errorf("DB-only bundle is %d bytes", res.Size)
	}
	// The same day again: refused, nothing replaced.
	before := fileSHA(t, res.File)
	if _, err := Build(context.Background(), opts); !isInput(err) || !strings.Contains(err.Error(), "harbor-trivy-db-20260314.run exists") {
		t.Errorf("second build: %v", err)
	}
	if fileSHA(t, res.File) != before {
		t.Error("the existing bundle was changed")
	}
}

func isInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// TestBuildRefusesDBsTrivyWouldNot serves DBs Trivy would refuse, or that are not the bytes
// the registry's manifest vouches for: each build stops with one line before writing anything.
func TestBuildRefusesDBsTrivyWouldNot(t *testing.T) {
	srv := fakeHarbor(t)
	ctx := context.Background()
	good, _ := fakeharbor.TrivyDBLayer(payload.ScanDBTrivy, dbUpdated)
	extra, err := fakeharbor.TrivyDBTarGz(dbUpdated, map[string][]byte{"trivy.db": []byte("x"), "metadata.json": []byte(`{"Version":2,"UpdatedAt":"2026-03-14T06:12:29Z","NextUpdate":"2026-03-15T06:12:29Z"}`), "../../etc/cron.d/x": []byte("* * * * * root sh")},
		"trivy.db", "metadata.json", "../../etc/cron.d/x")
	if err != nil {
		t.Fatal(err)
	}
	push := func(repo string, layer []byte, mt types.MediaType) string {
		ref, _, err := srv.PushTrivyArtifact(ctx, payload.ScanDBTrivy, repo, layer, mt, dbUpdated)
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	tampered, digest, err := srv.PushTrivyDB(ctx, payload.ScanDBTrivy, "refuse/tampered:2", dbUpdated)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 1
	if err := srv.TamperBlob(digest, bad); err != nil {
		t.Fatal(err)
	}
	// Two layers of the right type: Trivy's pkg/oci refuses any artifact but a single layer.
	twoRef := srv.Ref("refuse/two-layers:2")
	two, err := mutate.AppendLayers(empty.Image, static.NewLayer(good, scandb.MediaTypeTrivyDB), static.NewLayer(good[:len(good)-1], scandb.MediaTypeTrivyDB))
	if err != nil {
		t.Fatal(err)
	}
	if tag, err := name.NewTag(twoRef); err != nil {
		t.Fatal(err)
	} else if err := remote.Write(tag, two); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, ref, want string
		input           bool
	}{
		{"two layers", twoRef, "it has 2 layers; Trivy's DB artifact has exactly one", true},
		{"java media type", push("refuse/java-type:2", good, scandb.MediaTypeTrivyJavaDB), "its layer is application/vnd.aquasec.trivy.javadb.layer.v1.tar+gzip; Trivy reads only application/vnd.aquasec.trivy.db.layer.v1.tar+gzip", true},
		{"image layer type", push("refuse/image-type:2", good, types.OCILayer), "Trivy reads only", true},
		{"extra file", push("refuse/extra:2", extra, scandb.MediaTypeTrivyDB), `unexpected entry "../../etc/cron.d/x"`, true},
		{"not gzip", push("refuse/plain:2", []byte("just bytes"), scandb.MediaTypeTrivyDB), "not a gzip stream", true},
		{"tampered blob", tampered, "refuse/tampered:2", false},
		{"missing", srv.Ref("refuse/nothing:2"), "is not on registry", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{
				TrivyDBOnly: true, TrivyDBRepository: c.ref, Output: dir, CacheDir: t.TempDir(), Stub: testStub(t),
				Keychain: anonymous, RetryDelay: time.Millisecond, BuilderVersion: "test",
			}
			_, err := Build(ctx, opts)
			if err == nil {
				t.Fatal("build succeeded")
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || isInput(err) != c.input {
				t.Errorf("error %q (input error %v), want one line containing %q (input error %v)", err, isInput(err), c.want, c.input)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left %v in the output directory", entries)
			}
		})
	}
}

func TestScanDBOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		want string
	}{
		{"java without db", Options{Version: "v2.15.2", WithTrivyJavaDB: true}, "--with-trivy-java-db goes with --with-trivy-db"},
		{"repository without db", Options{Version: "v2.15.2", TrivyDBRepository: "m/trivy-db"}, "--trivy-db-repository is only used with"},
		{"java repository without java db", Options{Version: "v2.15.2", WithTrivyDB: true, TrivyJavaDBRepository: "m/j"}, "--trivy-java-db-repository is only used with"},
		{"db only with a version", Options{Version: "v2.15.2", TrivyDBOnly: true}, "give no VERSION"},
		{"db only with from", Options{TrivyDBOnly: true, From: []string{"2.13"}}, "give no VERSION, --from"},
		{"no version", Options{WithTrivyDB: true}, "no version given"},
	} {
		if _, err := resolveOptions(c.o); err == nil || !strings.Contains(err.Error(), c.want) || !isInput(err) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	s, err := resolveOptions(Options{TrivyDBOnly: true, CacheDir: "/c"})
	if err != nil || !s.WithTrivyDB || s.TrivyDBRepository != scandb.DefaultTrivyDBRef || s.WithTrivyJavaDB {
		t.Errorf("db only: %+v %v", s, err)
	}
	for _, c := range []struct{ kind, in, want string }{
		{payload.ScanDBTrivy, "ghcr.io/aquasecurity/trivy-db:2", "ghcr.io/aquasecurity/trivy-db:2"},
		{payload.ScanDBTrivy, "mirror.example.com:5000/aquasecurity/trivy-db", "mirror.example.com:5000/aquasecurity/trivy-db:2"},
		{payload.ScanDBTrivyJava, "http://127.0.0.1:5000/trivy-java-db", "127.0.0.1:5000/trivy-java-db:1"},
		{payload.ScanDBTrivy, "m.example.com/trivy-db@sha256:" + strings.Repeat("a", 64), "m.example.com/trivy-db@sha256:" + strings.Repeat("a", 64)},
	} {
		r, err := scanDBRef(&settings{}, c.kind, c.in)
		if err != nil || r.String() != c.want {
			t.Errorf("scanDBRef(%s) = %v %v, want %s", c.in, r, err, c.want)
		}
	}
	if r, _ := scanDBRef(&settings{}, payload.ScanDBTrivy, "http://mirror.example.com/trivy-db"); r.Context().Scheme() != "http" {
		t.Error("http:// does not mean plain HTTP")
	}
	if _, err := scanDBRef(&settings{}, payload.ScanDBTrivy, "Bad Ref"); err == nil || !strings.Contains(err.Error(), "--trivy-db-repository") {
		t.Errorf("bad ref: %v", err)
	}
}
