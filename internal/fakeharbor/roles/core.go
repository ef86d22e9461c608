package roles

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// core's real paths in its container.
const (
	coreAppConf   = "/etc/core/app.conf"
	coreSecretKey = "/etc/core/key"
	coreData      = "/data" // data_volume, mounted whole: quota sync walks the registry's blobs there
)

// core is harbor-core's state once started.
type core struct {
	env     *Env
	db      *dbClient
	key     []byte
	version string
	gen     coreGeneration

	mu      sync.Mutex
	credErr error // set when the stored credential cannot be decrypted

	repoMu sync.Mutex // serialises the read-modify-write of the projects and repository tables
}

// runCore is harbor-core: it migrates the database schema on start (or refuses to), runs the
// quota sync after an upgrade from 1.8, checks the secretkey against the stored credential, and
// only then serves the API.
func runCore(env *Env, _ []string) int {
	c := &core{env: env, db: newDBClient(env), version: env.Version(), gen: generationOf(env.Version())}
	if err := c.start(); err != nil {
		env.logf("core", "%v", err)
		return exitFail
	}
	port := appConfPort(env)
	return serve(env, "core", env.listenAddr(port), c.handler())
}

func (c *core) start() error {
	key, err := os.ReadFile(c.env.Path(coreSecretKey))
	if err != nil {
		return fmt.Errorf("failed to read the secret key: %w", err)
	}
	c.key = key
	wait := time.Duration(c.env.Int("FAKEHARBOR_DB_WAIT_SECONDS", 60)) * time.Second
	if err := c.db.waitReady(c.env, wait); err != nil {
		return err
	}
	if err := c.migrate(); err != nil {
		return err
	}
	if err := c.quotaSync(); err != nil {
		return err
	}
	if err := c.seed(); err != nil {
		return err
	}
	return c.checkCredential()
}

// migrate is golang-migrate as run by core at start: a schema newer than this release's is
// refused, a dirty one crash-loops until someone restores the database, an older one is
// migrated one version at a time, each marked dirty until it completes.
func (c *core) migrate() error {
	st, err := c.db.schema()
	if err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	target := c.env.Schema()
	if st.Dirty {
		return fmt.Errorf("failed to migrate the database, error: Dirty database version %d. Fix and force version.", st.Version)
	}
	if st.Version > 0 && st.Version < c.gen.minSchema {
		return fmt.Errorf("failed to migrate the database, error: %s", c.gen.refuseOld)
	}
	if st.Version > target {
		return fmt.Errorf("failed to migrate the database: database schema version %d is newer than supported %d", st.Version, target)
	}
	if st.Version == target {
		c.env.logf("core", "the database schema is at version %d, nothing to migrate", target)
		return nil
	}
	step := time.Duration(knob(c.env, "migration-step-ms", "FAKEHARBOR_MIGRATION_STEP_MS", 100)) * time.Millisecond
	failAt := knob(c.env, "fail-migration-at", "FAKEHARBOR_FAIL_MIGRATION_AT", -1)
	from := st.Version
	for v := from + 1; v <= target; v++ {
		if err := c.db.setSchema(schemaState{Version: v, Dirty: true}); err != nil {
			return fmt.Errorf("migrating the schema to version %d: %w", v, err)
		}
		time.Sleep(step)
		if v == failAt { // a test asked for a failing migration: it stays dirty, as real
			return fmt.Errorf("failed to migrate the database, error: migration %d failed: pq: relation \"quota\" already exists", v)
		}
		if v == 10 && from > 0 {
			// 1.9's quota tables: their content is computed by the quota sync that follows.
			if err := c.db.replace("quota_sync", []map[string]any{{"pending": true}}); err != nil {
				return fmt.Errorf("migrating the schema to version %d: %w", v, err)
			}
		}
		if err := c.db.setSchema(schemaState{Version: v}); err != nil {
			return fmt.Errorf("migrating the schema to version %d: %w", v, err)
		}
		c.env.logf("core", "migrated the database schema to version %d", v)
	}
	return nil
}

// quotaSync is 1.9's first start after 1.8: core walks every blob of the registry storage to fill
// the quota tables, which takes minutes on a real registry (QUOTA_SYNC_SECONDS here, default 5).
// It is repeated at the next start if core is killed meanwhile.
func (c *core) quotaSync() error {
	var pending []struct {
		Pending bool `json:"pending"`
	}
	if err := c.db.rows("quota_sync", &pending); err != nil {
		return fmt.Errorf("reading the quota sync state: %w", err)
	}
	if len(pending) == 0 || !pending[0].Pending {
		return nil
	}
	c.env.logf("core", "Start to sync quota data ...")
	started := time.Now()
	blobs, size := walkBlobs(c.env.Path(coreData + "/registry" + blobsDir))
	time.Sleep(time.Duration(knob(c.env, "quota-sync-seconds", "QUOTA_SYNC_SECONDS", 5)) * time.Second)
	if err := c.db.replace("quotas", []map[string]any{{"ref": "project", "count": blobs, "storage": size}}); err != nil {
		return fmt.Errorf("writing quotas: %w", err)
	}
	if err := c.db.replace("quota_sync", []map[string]any{{"pending": false}}); err != nil {
		return fmt.Errorf("writing the quota sync state: %w", err)
	}
	c.env.logf("core", "Quota sync done: %d blobs, %d bytes, in %s", blobs, size, time.Since(started).Round(time.Millisecond))
	return nil
}

// seed fills a new database as Harbor's first start does: the admin user and project library.
func (c *core) seed() error {
	var users []map[string]any
	if err := c.db.rows("users", &users); err != nil {
		return fmt.Errorf("reading users: %w", err)
	}
	if len(users) > 0 {
		return nil
	}
	if err := c.db.insert("users", map[string]any{"user_id": 1, "username": "admin"}); err != nil {
		return fmt.Errorf("creating the admin user: %w", err)
	}
	return c.db.insert("projects", project{ID: 1, Name: "library", CreationTime: time.Now().UTC().Format(time.RFC3339)})
}

// checkCredential decrypts the stored credential with the secretkey, storing one on the first
// start. A mismatch does not stop core (the real one serves on and fails on every use of the
// credential); it makes /api/health, and so the container, unhealthy.
func (c *core) checkCredential() error {
	var creds []struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
	}
	if err := c.db.rows("credentials", &creds); err != nil {
		return fmt.Errorf("reading credentials: %w", err)
	}
	if len(creds) == 0 {
		enc, err := encrypt(c.key, credentialPlaintext)
		if err != nil {
			return fmt.Errorf("encrypting the registry credential: %w", err)
		}
		return c.db.insert("credentials", map[string]any{"name": "registry", "secret": enc})
	}
	plain, err := decrypt(c.key, creds[0].Secret)
	if err == nil && plain != credentialPlaintext {
		err = ErrSecretKeyMismatch
	}
	if err != nil {
		if errors.Is(err, ErrSecretKeyMismatch) {
			c.env.logf("core", "failed to decrypt credential: secretkey mismatch")
		} else {
			c.env.logf("core", "failed to decrypt credential: %v", err)
		}
		c.mu.Lock()
		c.credErr = err
		c.mu.Unlock()
	}
	return nil
}

// harborVersion formats the version as real core reports it: "v1.10.0-f3e11715", the suffix
// being the build's git commit; here derived from the version so it is stable.
func harborVersion(v string) string {
	sum := sha256.Sum256([]byte("harbor " + v))
	return v + "-" + hex.EncodeToString(sum[:])[:8]
}

var httpPortLine = regexp.MustCompile(`^\s*httpport\s*=\s*(\d+)\s*$`)

// appConfPort reads httpport from core's app.conf; 8080 when absent.
func appConfPort(env *Env) int {
	f, err := os.Open(env.Path(coreAppConf))
	if err != nil {
		return 8080
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := httpPortLine.FindStringSubmatch(sc.Text()); m != nil {
			var port int
			fmt.Sscan(strings.TrimSpace(m[1]), &port)
			return port
		}
	}
	return 8080
}
