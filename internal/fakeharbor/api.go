package fakeharbor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/harborbundle/bundle/internal/docker"
	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// SystemInfo is the part of GET /api/systeminfo the tests read.
type SystemInfo struct {
	HarborVersion string `json:"harbor_version"` // "v1.10.0-f3e11715"
}

// HealthStatus is GET /api/health.
type HealthStatus struct {
	Status     string `json:"status"`
	Components []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"components"`
}

// SystemInfo asks the installed Harbor's API (through its proxy, as a client would).
func (h *Harbor) SystemInfo(ctx context.Context) (SystemInfo, error) {
	var info SystemInfo
	return info, h.getAPI(ctx, "/systeminfo", &info)
}

// Health asks core for the health of its components; an undecryptable credential (a database
// restored without its secretkey) shows here.
func (h *Harbor) Health(ctx context.Context) (HealthStatus, error) {
	var hs HealthStatus
	return hs, h.getAPI(ctx, "/health", &hs)
}

// apiBase is the prefix of the running core's REST API: /api/v2.0 (2.x) or /api (1.x), asked of
// the running Harbor itself (its ping), since during and after an upgrade the version recorded
// in h may not be the one running.
func apiBase(ctx context.Context, baseURL string) (string, error) {
	var last error
	for _, base := range []string{"/api/v2.0", "/api"} {
		_, err := request(ctx, http.MethodGet, baseURL+base+"/ping", nil, http.StatusOK, nil)
		if err == nil {
			return base, nil
		}
		last = err
	}
	return "", fmt.Errorf("no Harbor API at %s: %w", baseURL, last)
}

// getAPI reads path under the running core's API prefix.
func (h *Harbor) getAPI(ctx context.Context, path string, v any) error {
	base, err := apiBase(ctx, h.URL(""))
	if err != nil {
		return err
	}
	return h.getJSON(ctx, base+path, v)
}

func (h *Harbor) getJSON(ctx context.Context, path string, v any) error {
	body, err := h.do(ctx, http.MethodGet, path, nil, http.StatusOK)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

func (h *Harbor) do(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	return request(ctx, method, h.URL(path), body, want, nil)
}

// request sends body to url and returns the answer, an error unless its status is want; hdr,
// when not nil, receives the answer's headers.
func request(ctx context.Context, method, url string, body []byte, want int, hdr *http.Header) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return out, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, strings.TrimSpace(string(out)))
	}
	if hdr != nil {
		*hdr = resp.Header
	}
	return out, nil
}

// Containers returns the compose containers whose working dir is under Parent (the install
// dir, or where an upgrade moved it).
func (h *Harbor) Containers(ctx context.Context) ([]docker.Container, error) {
	all, err := h.Docker.PS(ctx, "label="+composeWorkingDir)
	if err != nil {
		return nil, err
	}
	var ours []docker.Container
	for _, c := range all {
		if isUnder(c.Labels[composeWorkingDir], h.Parent) {
			ours = append(ours, c)
		}
	}
	return ours, nil
}

// WaitHealthy waits until the install dir runs exactly the services of version (with the
// components), every one running and healthy, and /api/systeminfo reports version. It then
// records version as the installed one.
func (h *Harbor) WaitHealthy(ctx context.Context, version string, timeout time.Duration) error {
	rel, err := release.Get(version)
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, img := range rel.ImagesFor(h.Components...) {
		want[img.Container] = img.Ref()
	}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		last = h.healthProblem(ctx, rel.Version, want)
		if last == "" {
			h.Version = rel.Version
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fake harbor %s not healthy after %v: %s", rel.Version, timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond): // a poll is a docker ps and inspect: cheap
		}
	}
}

// healthProblem describes what is not yet right, or returns "".
func (h *Harbor) healthProblem(ctx context.Context, version string, want map[string]string) string {
	cs, err := h.Containers(ctx)
	if err != nil {
		return err.Error()
	}
	var problems []string
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.Name] = true
		switch {
		case want[c.Name] == "":
			problems = append(problems, "unexpected container "+c.Name)
		case c.Image != want[c.Name]:
			problems = append(problems, fmt.Sprintf("%s runs %s, want %s", c.Name, c.Image, want[c.Name]))
		case c.State != "running" || (c.Health != "" && c.Health != "healthy"):
			problems = append(problems, fmt.Sprintf("%s %s %s", c.Name, c.State, c.Health))
		}
	}
	for name := range want {
		if !seen[name] {
			problems = append(problems, "no container "+name)
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return strings.Join(problems, "; ")
	}
	info, err := h.SystemInfo(ctx)
	if err != nil {
		return err.Error()
	}
	if !strings.HasPrefix(info.HarborVersion, version+"-") {
		return "systeminfo reports " + info.HarborVersion
	}
	return ""
}

// Seeded is data written through the API of a running Harbor, to be found again after an
// upgrade or a rollback: a project holding one pushed image (a layer blob and a manifest, so
// core records a repository, as real Harbor does on a push).
type Seeded struct {
	Project    string
	Repository string // Project + "/app"
	Tag        string
	Blob       []byte
	Digest     string // the blob's, "sha256:..."
	Manifest   []byte
}

// Seed creates a project and pushes an image into it through the proxy, as users' data. Core
// stores its credential on its first start; CheckSeeded proves it is still decryptable.
func (h *Harbor) Seed(ctx context.Context) (*Seeded, error) {
	base, err := apiBase(ctx, h.URL(""))
	if err != nil {
		return nil, err
	}
	id := randomHex(4)
	s := &Seeded{Project: "seeded-" + id, Repository: "seeded-" + id + "/app", Tag: "v1",
		Blob: []byte("blob of " + id + "\n" + strings.Repeat(id, 512))}
	sum := sha256.Sum256(s.Blob)
	s.Digest = "sha256:" + hex.EncodeToString(sum[:])
	s.Manifest, _ = json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config":        map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(s.Blob), "digest": s.Digest},
		"layers":        []map[string]any{{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(s.Blob), "digest": s.Digest}},
	})
	body, _ := json.Marshal(map[string]string{"project_name": s.Project})
	if _, err := h.do(ctx, http.MethodPost, base+"/projects", body, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("seeding a project: %w", err)
	}
	if _, err := h.do(ctx, http.MethodPut, "/v2/"+s.Repository+"/blobs/"+s.Digest, s.Blob, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("seeding a blob: %w", err)
	}
	if _, err := h.do(ctx, http.MethodPut, "/v2/"+s.Repository+"/manifests/"+s.Tag, s.Manifest, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("seeding a manifest: %w", err)
	}
	return s, nil
}

// CheckSeeded verifies the seeded project, repository, manifest and blob are there and that core
// can decrypt its stored credential (the secretkey matches the database).
func (h *Harbor) CheckSeeded(ctx context.Context, s *Seeded) error {
	base, err := apiBase(ctx, h.URL(""))
	if err != nil {
		return err
	}
	var named []struct {
		Name string `json:"name"`
	}
	has := func(name string) bool {
		return slices.ContainsFunc(named, func(n struct {
			Name string `json:"name"`
		}) bool {
			return n.Name == name
		})
	}
	if err := h.getJSON(ctx, base+"/projects", &named); err != nil {
		return err
	}
	if !has(s.Project) {
		return fmt.Errorf("project %s is gone (projects: %v)", s.Project, named)
	}
	named = nil
	if err := h.getJSON(ctx, base+"/repositories", &named); err != nil {
		return err
	}
	if !has(s.Repository) {
		return fmt.Errorf("repository %s is gone (repositories: %v)", s.Repository, named)
	}
	manifest, err := h.do(ctx, http.MethodGet, "/v2/"+s.Repository+"/manifests/"+s.Tag, nil, http.StatusOK)
	if err != nil {
		return fmt.Errorf("reading the seeded manifest: %w", err)
	}
	if !bytes.Equal(manifest, s.Manifest) {
		return fmt.Errorf("the seeded manifest changed")
	}
	blob, err := h.do(ctx, http.MethodGet, "/v2/"+s.Repository+"/blobs/"+s.Digest, nil, http.StatusOK)
	if err != nil {
		return fmt.Errorf("reading the seeded blob: %w", err)
	}
	if !bytes.Equal(blob, s.Blob) {
		return fmt.Errorf("the seeded blob changed")
	}
	hs, err := h.Health(ctx)
	if err != nil {
		return err
	}
	if hs.Status != "healthy" {
		return fmt.Errorf("core reports %s: %+v", hs.Status, hs.Components)
	}
	return nil
}

// Counts are the projects (not deleted) and repositories a running Harbor at baseURL
// ("http://127.0.0.1:PORT") reports through its API, read from the X-Total-Count header of the
// list endpoints as real Harbor paginates them.
func Counts(ctx context.Context, baseURL string) (projects, repositories int, err error) {
	base, err := apiBase(ctx, baseURL)
	if err != nil {
		return 0, 0, err
	}
	count := func(path string) (int, error) {
		var hdr http.Header
		if _, err := request(ctx, http.MethodGet, baseURL+base+path+"?page=1&page_size=1", nil, http.StatusOK, &hdr); err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(hdr.Get("X-Total-Count"))
		if err != nil {
			return 0, fmt.Errorf("GET %s%s: X-Total-Count %q: %w", base, path, hdr.Get("X-Total-Count"), err)
		}
		return n, nil
	}
	if projects, err = count("/projects"); err != nil {
		return 0, 0, err
	}
	repositories, err = count("/repositories")
	return projects, repositories, err
}

// Counts are this Harbor's Counts.
func (h *Harbor) Counts(ctx context.Context) (projects, repositories int, err error) {
	return Counts(ctx, h.URL(""))
}

// DBCountQueries are the two queries bundle runs in harbor-db to count a database's projects and
// repositories, as `psql -U postgres -d registry -t -A -c QUERY` (one number and a newline).
var DBCountQueries = [2]string{
	"SELECT count(*) FROM project WHERE deleted = false",
	"SELECT count(*) FROM repository",
}

// DBCounts runs DBCountQueries in the container (harbor-db) with docker exec, as bundle does.
func DBCounts(ctx context.Context, d *docker.Runner, container string) (projects, repositories int, err error) {
	var n [2]int
	for i, q := range DBCountQueries {
		out, err := d.Exec(ctx, container, "psql", "-U", "postgres", "-d", "registry", "-t", "-A", "-c", q)
		if err != nil {
			return 0, 0, err
		}
		if n[i], err = strconv.Atoi(strings.TrimSuffix(out, "\n")); err != nil {
			return 0, 0, fmt.Errorf("psql %q printed %q", q, out)
		}
	}
	return n[0], n[1], nil
}
