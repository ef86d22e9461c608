package roles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestCoreMigratesOnStartAndKeepsData(t *testing.T) {
	s := newStack(t)
	core := s.core("v1.8.6")
	if st := s.schema(); st.Version != 5 || st.Dirty {
		t.Fatalf("schema after the first 1.8.6 start: %+v", st)
	}
	if strings.Contains(core.e.output(), "quota") {
		t.Error("a fresh install ran the quota sync")
	}
	body := `{"project_name":"team-a"}`
	resp, err := http.Post("http://"+s.coreAdr+"/api/projects", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating a project: %v %v", err, resp)
	}
	blob := []byte("layer data")
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	req, _ := http.NewRequest(http.MethodPut, "http://"+s.coreAdr+"/v2/team-a/app/blobs/"+digest, bytes.NewReader(blob))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("pushing a blob: %v %v", err, resp)
	}
	core.shutdown()
	<-core.done

	// The first 1.10 start migrates 5 -> 15 step by step and runs the quota sync.
	core = s.core("v1.10.0")
	if st := s.schema(); st.Version != 15 || st.Dirty {
		t.Fatalf("schema after the 1.10.0 start: %+v\n%s", st, core.e.output())
	}
	out := core.e.output()
	for v := 6; v <= 15; v++ {
		if !strings.Contains(out, fmt.Sprintf("migrated the database schema to version %d\n", v)) {
			t.Errorf("no step to version %d in\n%s", v, out)
		}
	}
	if !strings.Contains(out, "Quota sync done: 1 blobs, 10 bytes") {
		t.Errorf("no quota sync in\n%s", out)
	}
	var projects []project
	s.get("/api/projects", &projects)
	if len(projects) != 2 || projects[0].Name != "library" || projects[1].Name != "team-a" {
		t.Errorf("projects after the upgrade: %+v", projects)
	}
	resp, err = http.Get("http://" + s.coreAdr + "/v2/team-a/app/blobs/" + digest)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, blob) {
		t.Errorf("blob after the upgrade: %q", got)
	}
	var info map[string]any
	s.get("/api/systeminfo", &info)
	if v, _ := info["harbor_version"].(string); !strings.HasPrefix(v, "v1.10.0-") || len(v) != len("v1.10.0-")+8 {
		t.Errorf("harbor_version %q", v)
	}
	if code := s.env("v1.10.0", s.coreAdr).run("health", "core"); code != 0 {
		t.Errorf("health core: exit %d", code)
	}
	core.shutdown()
	<-core.done

	// The old core on the schema the new one migrated refuses to start: why a rollback needs
	// the database backup.
	old := s.core("v1.9.4")
	code, ok := old.exited()
	if !ok || code == 0 || !strings.Contains(old.e.output(), "database schema version 15 is newer than supported 12") {
		t.Errorf("1.9.4 core on schema 15: exited %v code %d\n%s", ok, code, old.e.output())
	}
}

// From 1.9 on (schema >= 10) there is no quota sync.
func TestCoreNoQuotaSyncFrom19(t *testing.T) {
	s := newStack(t)
	c := s.core("v1.9.4")
	c.shutdown()
	<-c.done
	c = s.core("v1.10.0")
	if st := s.schema(); st.Version != 15 {
		t.Fatalf("schema %+v", st)
	}
	if strings.Contains(c.e.output(), "quota") {
		t.Errorf("quota sync from 1.9.4:\n%s", c.e.output())
	}
}

// A core killed in the middle of a migration leaves the schema dirty; every later start then
// fails until the database is restored.
func TestCoreKilledMidMigrationLeavesDirty(t *testing.T) {
	s := newStack(t)
	c := s.core("v1.8.6")
	c.shutdown()
	<-c.done

	e := s.env("v1.10.0", s.coreAdr)
	e.vars["FAKEHARBOR_MIGRATION_STEP_MS"] = "60000"
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FAKEHARBOR_TEST_AS_HARBORD=1", "FAKEHARBOR_TEST_ARGS=core", "FAKEHARBOR_ROOT="+s.root)
	for k, v := range e.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !s.schema().Dirty && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	st := s.schema()
	if !st.Dirty || st.Version != 6 {
		t.Fatalf("schema after kill -9: %+v\n%s", st, out.String())
	}
	again := s.core("v1.10.0")
	code, ok := again.exited()
	if !ok || code == 0 || !strings.Contains(again.e.output(), "Dirty database version 6. Fix and force version.") {
		t.Errorf("start on a dirty schema: exited %v code %d\n%s", ok, code, again.e.output())
	}
}

// A database restored without its secretkey: core serves on, but reports itself unhealthy.
func TestCoreDetectsSecretKeyMismatch(t *testing.T) {
	s := newStack(t)
	c := s.core("v1.10.0")
	c.shutdown()
	<-c.done
	s.writeKey("fedcba9876543210")
	c = s.core("v1.10.0")
	if !strings.Contains(c.e.output(), "failed to decrypt credential: secretkey mismatch") {
		t.Errorf("core log:\n%s", c.e.output())
	}
	var h struct {
		Status     string            `json:"status"`
		Components []componentHealth `json:"components"`
	}
	s.get("/api/health", &h)
	if h.Status != "unhealthy" || !strings.Contains(h.Components[0].Error, "secretkey mismatch") {
		t.Errorf("/api/health: %+v", h)
	}
	if code := s.get("/api/systeminfo", nil); code != http.StatusOK {
		t.Errorf("systeminfo: %d", code)
	}
	if code := s.env("v1.10.0", s.coreAdr).run("health", "core"); code != exitFail {
		t.Errorf("health core: exit %d, want 1", code)
	}
	// The right key back: healthy again.
	c.shutdown()
	<-c.done
	s.writeKey(s.key)
	s.core("v1.10.0")
	if code := s.env("v1.10.0", s.coreAdr).run("health", "core"); code != 0 {
		t.Errorf("health core with the right key: exit %d", code)
	}
}

func TestCoreNeedsItsSecretKey(t *testing.T) {
	s := newStack(t)
	os.Remove(s.root + coreSecretKey)
	c := s.core("v1.10.0")
	if code, ok := c.exited(); !ok || code == 0 || !strings.Contains(c.e.output(), "failed to read the secret key") {
		t.Errorf("exited %v code %d\n%s", ok, code, c.e.output())
	}
}

// A migration step that fails (asked for through a knob file in the data volume, where
// Docker tests can put it) leaves the schema dirty at that version; core exits, and every
// later start refuses the dirty schema.
func TestCoreFailedMigrationStep(t *testing.T) {
	s := newStack(t)
	c := s.core("v1.9.4")
	c.shutdown()
	<-c.done
	knobs := s.root + knobsDir
	os.MkdirAll(knobs, 0o755)
	os.WriteFile(knobs+"/fail-migration-at", []byte("14\n"), 0o644)
	c = s.core("v1.10.0")
	if code, ok := c.exited(); !ok || code == 0 || !strings.Contains(c.e.output(), "migration 14 failed") {
		t.Fatalf("exited %v code %d\n%s", ok, code, c.e.output())
	}
	if st := s.schema(); st.Version != 14 || !st.Dirty {
		t.Errorf("schema %+v, want 14 dirty", st)
	}
	os.Remove(knobs + "/fail-migration-at")
	c = s.core("v1.10.0")
	if code, ok := c.exited(); !ok || code == 0 || !strings.Contains(c.e.output(), "Dirty database version 14") {
		t.Errorf("exited %v code %d\n%s", ok, code, c.e.output())
	}
}
