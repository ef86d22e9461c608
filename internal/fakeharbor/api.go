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
	return info, h.getJSON(ctx, "/api/systeminfo", &info)
}

// Health asks core for the health of its components; an undecryptable credential (a database
// restored without its secretkey) shows here.
func (h *Harbor) Health(ctx context.Context) (HealthStatus, error) {
	var hs HealthStatus
	return hs, h.getJSON(ctx, "/api/health", &hs)
}

func (h *Harbor) getJSON(ctx context.Context, path string, v any) error {
	body, err := h.do(ctx, http.MethodGet, path, nil, http.StatusOK)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

func (h *Harbor) do(ctx context.Context, method, path string, body []byte, want int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.URL(path), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return out, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(out)))
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
		case <-time.After(time.Second):
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
// upgrade or a rollback.
type Seeded struct {
	Project    string
	Repository string
	Blob       []byte
	Digest     string // "sha256:..."
}

// Seed creates a project and pushes a blob through the proxy, as users' data.
func (h *Harbor) Seed(ctx context.Context) (*Seeded, error) {
	id := randomHex(4)
	s := &Seeded{Project: "seeded-" + id, Repository: "library/seeded-" + id, Blob: []byte("blob of " + id + "\n" + strings.Repeat(id, 512))}
	sum := sha256.Sum256(s.Blob)
	s.Digest = "sha256:" + hex.EncodeToString(sum[:])
	body, _ := json.Marshal(map[string]string{"project_name": s.Project})
	if _, err := h.do(ctx, http.MethodPost, "/api/projects", body, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("seeding a project: %w", err)
	}
	if _, err := h.do(ctx, http.MethodPut, "/v2/"+s.Repository+"/blobs/"+s.Digest, s.Blob, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("seeding a blob: %w", err)
	}
	return s, nil
}

// CheckSeeded verifies the seeded project and blob are there and that core can decrypt its
// stored credential (the secretkey matches the database).
func (h *Harbor) CheckSeeded(ctx context.Context, s *Seeded) error {
	var projects []struct {
		Name string `json:"name"`
	}
	if err := h.getJSON(ctx, "/api/projects", &projects); err != nil {
		return err
	}
	if !slices.ContainsFunc(projects, func(p struct {
		Name string `json:"name"`
	}) bool {
		return p.Name == s.Project
	}) {
		return fmt.Errorf("project %s is gone (projects: %v)", s.Project, projects)
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
