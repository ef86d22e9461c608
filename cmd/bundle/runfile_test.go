package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/harborbundle/bundle/payload"
	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/sign"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// bundleBinary builds this command once per test run; it is the stub the test bundles use, as
// the real build uses its own binary.
func bundleBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bundle-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bundle")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("building bundle: %v", binErr)
	}
	return binPath
}

// sampleImages are two images sharing a base layer, one with an empty layer too.
func sampleImages(t *testing.T) map[string]v1.Image {
	t.Helper()
	base, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	extra, _ := random.Layer(1024, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	a, err := mutate.AppendLayers(base, extra)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]v1.Image{"goharbor/harbor-core:v1.10.0": base, "goharbor/harbor-db:v1.10.0": a}
}

// makeBundle writes a .run with the sample images and one installer file, built on the real
// bundle binary, and returns its path.
func makeBundle(t *testing.T, dir, compression string) string {
	t.Helper()
	return makeSignedBundle(t, dir, compression, nil)
}

// makeSignedBundle is makeBundle with the manifest's sha256 signed by key (nil: unsigned).
func makeSignedBundle(t *testing.T, dir, compression string, key *sign.SecretKey) string {
	t.Helper()
	stub, err := os.Open(bundleBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	path := filepath.Join(dir, "harbor-upgrade-1.10.run")
	w, err := selfextract.Create(path, stub, false)
	if err != nil {
		t.Fatal(err)
	}
	pw := payload.NewWriter(w, payload.WriterOptions{Compression: compression, SpoolDir: t.TempDir()})
	script := []byte("#!/bin/bash\necho install\n")
	if err := pw.AddFile("installer/install.sh", 0o755, int64(len(script)), bytes.NewReader(script)); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"goharbor/harbor-core:v1.10.0", "goharbor/harbor-db:v1.10.0"} {
		if err := pw.AddImage(ref, "core", sampleImages(t)[ref]); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := pw.Close(payload.Manifest{Stub: payload.Stub{Size: w.PayloadOffset(), SHA256: w.StubSHA256()}, Release: "v1.10.0", FromVersions: []string{"v1.9.4"}, Components: []string{"core"},
		Migration: payload.Migration{Method: "harbor-migrator", Image: "goharbor/harbor-migrator:v1.10.0", Args: []string{"--cfg", "up"}}})
	if err != nil {
		t.Fatal(err)
	}
	tr := selfextract.Trailer{ManifestOffset: uint64(sum.ManifestOffset), ManifestLength: uint64(sum.ManifestLength), ManifestSHA256: sum.ManifestSHA256}
	if key != nil {
		sig, err := key.SignBytes(sum.ManifestSHA256[:], "test bundle")
		if err != nil {
			t.Fatal(err)
		}
		tr.Signature = sig.Marshal()
	}
	if _, _, err := w.Commit(tr); err != nil {
		t.Fatal(err)
	}
	return path
}

// runFile executes a .run (or the bundle tool) as a process, as a user would.
func runFile(t *testing.T, path string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.CommandContext(context.Background(), path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestRunFileInfoListCheckExtract(t *testing.T) {
	dir := t.TempDir()
	run := makeBundle(t, dir, "zstd")
	code, out, errOut := runFile(t, run, "info")
	if code != 0 || !strings.Contains(out, "v1.10.0") || !strings.Contains(out, "goharbor/harbor-db:v1.10.0") {
		t.Fatalf("info: %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runFile(t, run, "list")
	if code != 0 || !strings.Contains(out, "installer/install.sh") || !strings.Contains(out, "images/index.json") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, errOut = runFile(t, run, "check")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("check: %d\n%s\n%s", code, out, errOut)
	}
	target := filepath.Join(dir, "out")
	if code, out, errOut = runFile(t, run, "extract", target); code != 0 {
		t.Fatalf("extract: %d\n%s\n%s", code, out, errOut)
	}
	st, err := os.Stat(filepath.Join(target, "installer", "install.sh"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("installer file: %v %v", st, err)
	}
	// The extracted images/ is a standard OCI layout: every image validates.
	lp, err := layout.FromPath(filepath.Join(target, "images"))
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := lp.ImageIndex()
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Fatalf("%d images in index.json", len(im.Manifests))
	}
	for _, d := range im.Manifests {
		img, err := lp.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		// go-containerregistry's validate reads only gzip layers in full; for zstd it checks the
		// structure, and `check` above has already hashed every blob against the manifest.
		if err := validate.Image(img, validate.Fast); err != nil {
			t.Errorf("%s: %v", d.Annotations["org.opencontainers.image.ref.name"], err)
		}
	}
	// And an independent tool reads it.
	sk := exec.Command("skopeo", "inspect", "--raw", "oci:"+filepath.Join(target, "images")+":goharbor/harbor-db:v1.10.0")
	if out, err := sk.CombinedOutput(); err != nil {
		t.Fatalf("skopeo reading the extracted layout: %v\n%s", err, out)
	}
}

func TestRunFileRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	run := makeBundle(t, dir, "keep")
	data, _ := os.ReadFile(run)
	b, err := selfextract.Open(run)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := b.OpenPayload()
	if err != nil {
		t.Fatal(err)
	}
	m := pr.Manifest()
	b.Close()
	var blob payload.Entry
	for _, e := range m.Entries {
		if strings.HasPrefix(e.Path, "images/blobs/") && e.Size > 100 {
			blob = e
		}
	}
	// One flipped byte inside a blob: check and extract name the entry, extract leaves nothing.
	bad := bytes.Clone(data)
	bad[int64(b.Trailer.PayloadOffset)+blob.Offset+blob.Size/2] ^= 0x40
	badRun := filepath.Join(dir, "bad.run")
	os.WriteFile(badRun, bad, 0o755)
	code, _, errOut := runFile(t, badRun, "check")
	if code != 2 || !strings.Contains(errOut, blob.Path) {
		t.Fatalf("check of a damaged blob: exit %d, %q (want 2 naming %s)", code, errOut, blob.Path)
	}
	target := filepath.Join(dir, "x")
	code, _, errOut = runFile(t, badRun, "extract", target)
	if code != 2 || !strings.Contains(errOut, blob.Path) {
		t.Fatalf("extract of a damaged blob: exit %d, %q", code, errOut)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("extract left %d entries behind", len(ents))
	}
	// Truncated: one clear line, exit 2.
	cut := filepath.Join(dir, "cut.run")
	os.WriteFile(cut, data[:len(data)-100], 0o755)
	code, _, errOut = runFile(t, bundleBinary(t), "verify", cut)
	if code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("verify of a truncated file: exit %d, %q", code, errOut)
	}
}

func TestVerifyAndInspectParts(t *testing.T) {
	dir := t.TempDir()
	run := makeBundle(t, dir, "keep")
	data, _ := os.ReadFile(run)
	parts, err := selfextract.Split(run, int64(len(data)/3+1))
	if err != nil {
		t.Fatal(err)
	}
	if err := selfextract.WriteChecksums(run, sha256Sum(data), parts); err != nil {
		t.Fatal(err)
	}
	os.Remove(run)
	var paths []string
	for _, p := range parts {
		paths = append(paths, p.Path)
	}
	code, out, errOut := runTool(t, append([]string{"verify", "-q"}, paths...)...)
	if code != 0 || !strings.Contains(out, "OK (Harbor v1.10.0") {
		t.Fatalf("verify parts: %d %s %s", code, out, errOut)
	}
	code, out, _ = runTool(t, append([]string{"inspect", "-o", "json"}, paths...)...)
	var info selfextract.Info
	if code != 0 || json.Unmarshal([]byte(out), &info) != nil || info.Manifest.Release != "v1.10.0" {
		t.Fatalf("inspect parts: %d %s", code, out)
	}
	// A damaged part is named.
	p2, _ := os.ReadFile(paths[1])
	p2[10] ^= 1
	os.WriteFile(paths[1], p2, 0o644)
	code, _, errOut = runTool(t, "verify", "-q", paths[1])
	if code != 2 || !strings.Contains(errOut, paths[1]) {
		t.Fatalf("damaged part: %d %s", code, errOut)
	}
}

func TestHelpGolden(t *testing.T) {
	for _, verb := range []string{"inspect", "verify"} {
		code, out, _ := runTool(t, verb, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d", verb, code)
		}
		checkGolden(t, verb+".help.golden", []byte(out))
	}
	// The .run's own help, from a real bundle.
	code, out, _ := runFile(t, makeBundle(t, t.TempDir(), "keep"), "--help")
	if code != 0 {
		t.Fatalf(".run --help: exit %d", code)
	}
	checkGolden(t, "run.help.golden", []byte(out))
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"inspect"}, {"verify", "--no-such-flag", "x"}, {"inspect", "-o", "yaml", "x"}, {"no-such-verb"}} {
		if code, _, errOut := runTool(t, args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, %q (want 2 and a message)", args, code, errOut)
		}
	}
}

func TestVerifySignature(t *testing.T) {
	dir := t.TempDir()
	pub, sec, err := sign.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := sign.GenerateKey("other")
	pubPath, otherPath := filepath.Join(dir, "k.pub"), filepath.Join(dir, "other.pub")
	os.WriteFile(pubPath, pub.Marshal(), 0o644)
	os.WriteFile(otherPath, otherPub.Marshal(), 0o644)
	signed := makeSignedBundle(t, t.TempDir(), "keep", sec)
	unsigned := makeBundle(t, t.TempDir(), "keep")

	if code, out, errOut := runTool(t, "verify", "-q", "--key", pubPath, signed); code != 0 || !strings.Contains(out, "valid (key ID "+pub.ID.String()) {
		t.Fatalf("signed bundle, right key: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := runTool(t, "verify", "-q", "--key", otherPath, signed); code != 2 || !strings.Contains(errOut, "signed by key ID") {
		t.Fatalf("signed bundle, other key: %d %s", code, errOut)
	}
	if code, _, errOut := runTool(t, "verify", "-q", "--key", pubPath, unsigned); code != 2 || !strings.Contains(errOut, "unsigned") {
		t.Fatalf("unsigned bundle with a key: %d %s", code, errOut)
	}
	// The .run checks itself with the same rules.
	if code, _, errOut := runFile(t, signed, "check", "--key", otherPath); code != 2 {
		t.Fatalf(".run check with another key: %d %s", code, errOut)
	}
	if code, out, _ := runFile(t, unsigned, "check"); code != 0 || !strings.Contains(out, "signature: unsigned") {
		t.Fatalf(".run check of an unsigned bundle without a key: %d %s", code, out)
	}
}

func TestSwappedProgramIsDetected(t *testing.T) {
	run := makeBundle(t, t.TempDir(), "keep")
	data, _ := os.ReadFile(run)
	// A byte of the program part (past the ELF header, so the file still runs) changed: the
	// signature and the payload are intact, but the code that would run as root is not ours.
	data[len(data)/100] ^= 0x01
	os.WriteFile(run, data, 0o755)
	code, _, errOut := runTool(t, "verify", "-q", run)
	if code != 2 || !strings.Contains(errOut, "stub") {
		t.Fatalf("verify of a .run with a changed program: exit %d, %q", code, errOut)
	}
}
