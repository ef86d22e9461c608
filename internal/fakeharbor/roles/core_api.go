package roles

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// project is a row of the projects table, as the projects API shows it. Harbor deletes a
// project by marking it deleted; the row stays.
type project struct {
	ID           int    `json:"project_id"`
	Name         string `json:"name"`
	CreationTime string `json:"creation_time"`
	Deleted      bool   `json:"deleted"`
}

// repository is a row of the repository table: real core adds one when the first manifest of
// a repository is pushed through it (2.x: its /v2 handler; the fake does the same in 1.x).
type repository struct {
	ID           int    `json:"id"`
	Name         string `json:"name"` // "project/name"
	ProjectID    int    `json:"project_id"`
	CreationTime string `json:"creation_time"`
}

// handler is core's HTTP API, the part of Harbor's that bundle and the tests use, under the
// generation's prefix API (/api in 1.x, /api/v2.0 in 2.x):
//
//	GET    API/ping          "Pong"
//	GET    API/systeminfo    {"harbor_version": "v1.10.0-xxxxxxxx", ...}
//	GET    API/health        {"status": "healthy"|"unhealthy", "components": [...]}
//	GET    API/projects      the projects not deleted (all of them: no pages; X-Total-Count)
//	POST   API/projects      {"project_name": "x"} creates one (201; 409 when it exists)
//	DELETE API/projects/ID   marks it deleted (200; 412 while it has repositories)
//	GET    API/repositories  the repositories (all; X-Total-Count)
//	GET    API/quotas        what the quota sync computed
//	/v2/...                  passed to the registry, as real core does; a pushed manifest
//	                         records its repository (its project must exist)
func (c *core) handler() http.Handler {
	api := c.gen.api
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api+"/ping", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("Pong")) })
	mux.HandleFunc("GET "+api+"/systeminfo", c.systemInfo)
	mux.HandleFunc("GET "+api+"/health", c.health)
	mux.HandleFunc("GET "+api+"/projects", func(w http.ResponseWriter, _ *http.Request) {
		ps, err := c.projects()
		w.Header().Set("X-Total-Count", strconv.Itoa(len(ps)))
		reply(w, ps, err)
	})
	mux.HandleFunc("POST "+api+"/projects", c.createProject)
	mux.HandleFunc("DELETE "+api+"/projects/{id}", c.deleteProject)
	mux.HandleFunc("GET "+api+"/repositories", func(w http.ResponseWriter, _ *http.Request) {
		rows := []repository{}
		err := c.db.rows("repository", &rows)
		w.Header().Set("X-Total-Count", strconv.Itoa(len(rows)))
		reply(w, rows, err)
	})
	mux.HandleFunc("GET "+api+"/quotas", func(w http.ResponseWriter, _ *http.Request) {
		rows := []map[string]any{}
		reply(w, rows, c.db.rows("quotas", &rows))
	})
	mux.Handle("/v2/", c.registryProxy())
	return mux
}

// projects are the projects not deleted.
func (c *core) projects() ([]project, error) {
	var rows []project
	if err := c.db.rows("projects", &rows); err != nil {
		return nil, err
	}
	live := []project{}
	for _, p := range rows {
		if !p.Deleted {
			live = append(live, p)
		}
	}
	return live, nil
}

func (c *core) systemInfo(w http.ResponseWriter, _ *http.Request) {
	reply(w, map[string]any{
		"harbor_version":                 harborVersion(c.version),
		"auth_mode":                      "db_auth",
		"project_creation_restriction":   "everyone",
		"self_registration":              false,
		"has_ca_root":                    false,
		"registry_url":                   strings.TrimPrefix(strings.TrimPrefix(c.env.Getenv("EXT_ENDPOINT"), "http://"), "https://"),
		"external_url":                   c.env.Getenv("EXT_ENDPOINT"),
		"with_notary":                    c.env.Getenv("WITH_NOTARY") == "true",
		"with_clair":                     c.env.Getenv("WITH_CLAIR") == "true",
		"with_chartmuseum":               c.env.Getenv("WITH_CHARTMUSEUM") == "true",
		"registry_storage_provider_name": "filesystem",
		"read_only":                      false,
		"notification_enable":            true,
	}, nil)
}

type componentHealth struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// health is 1.x core's /api/health: overall status and one entry per component checked.
func (c *core) health(w http.ResponseWriter, _ *http.Request) {
	comps := []componentHealth{{Name: "core", Status: "healthy"}, {Name: "database", Status: "healthy"}}
	c.mu.Lock()
	if c.credErr != nil {
		comps[0] = componentHealth{Name: "core", Status: "unhealthy", Error: "failed to decrypt credential: " + c.credErr.Error()}
	}
	c.mu.Unlock()
	if err := c.db.ping(); err != nil {
		comps[1] = componentHealth{Name: "database", Status: "unhealthy", Error: err.Error()}
	}
	status := "healthy"
	for _, comp := range comps {
		if comp.Status != "healthy" {
			status = "unhealthy"
		}
	}
	reply(w, map[string]any{"status": status, "components": comps}, nil)
}

func (c *core) createProject(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProjectName string `json:"project_name"`
		Name        string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	name := req.ProjectName
	if name == "" {
		name = req.Name
	}
	if name == "" {
		http.Error(w, "project_name is required", http.StatusBadRequest)
		return
	}
	c.repoMu.Lock()
	defer c.repoMu.Unlock()
	var rows []project
	if err := c.db.rows("projects", &rows); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	next := 1
	for _, p := range rows {
		if p.Name == name && !p.Deleted {
			http.Error(w, "project "+name+" already exists", http.StatusConflict)
			return
		}
		next = max(next, p.ID+1)
	}
	p := project{ID: next, Name: name, CreationTime: time.Now().UTC().Format(time.RFC3339)}
	if err := c.db.insert("projects", p); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if c.gen.api == "/api" {
		w.Header().Set("Location", "/api/projects/"+name)
	} else {
		w.Header().Set("Location", c.gen.api+"/projects/"+strconv.Itoa(p.ID))
	}
	w.WriteHeader(http.StatusCreated)
}

// deleteProject marks a project deleted, by id or name, refusing one that holds repositories as
// Harbor does.
func (c *core) deleteProject(w http.ResponseWriter, r *http.Request) {
	c.repoMu.Lock()
	defer c.repoMu.Unlock()
	var rows []project
	var repos []repository
	if err := errors.Join(c.db.rows("projects", &rows), c.db.rows("repository", &repos)); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	id := r.PathValue("id")
	for i, p := range rows {
		if p.Deleted || (strconv.Itoa(p.ID) != id && p.Name != id) {
			continue
		}
		for _, repo := range repos {
			if repo.ProjectID == p.ID {
				http.Error(w, `{"errors":[{"code":"PRECONDITION","message":"the project contains repositories, can not be deleted"}]}`, http.StatusPreconditionFailed)
				return
			}
		}
		rows[i].Deleted = true
		reply(w, struct{}{}, c.db.replace("projects", rows))
		return
	}
	http.Error(w, `{"errors":[{"code":"NOT_FOUND","message":"project `+id+` not found"}]}`, http.StatusNotFound)
}

// registryProxy forwards /v2/ to the registry (REGISTRY_URL, as in core's env file). A manifest
// push is refused when its project does not exist and, once the registry took it, records the
// repository.
func (c *core) registryProxy() http.Handler {
	target := c.env.Getenv("REGISTRY_URL")
	if target == "" {
		target = "http://registry:5000"
	}
	u, err := url.Parse(target)
	if err != nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "bad REGISTRY_URL: "+err.Error(), http.StatusInternalServerError)
		})
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if name, ok := manifestRepo(resp.Request.Method, resp.Request.URL.Path); ok && resp.StatusCode == http.StatusCreated {
			return c.ensureRepository(name)
		}
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := manifestRepo(r.Method, r.URL.Path); ok {
			projectName, _, _ := strings.Cut(name, "/")
			if _, err := c.projectID(projectName); err != nil {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprintf(w, `{"errors":[{"code":"NOT_FOUND","message":"project %s not found"}]}`, projectName)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	})
}

// manifestRepo is the repository of a manifest push: PUT /v2/NAME/manifests/REF.
func manifestRepo(method, path string) (string, bool) {
	if method != http.MethodPut || !strings.HasPrefix(path, "/v2/") {
		return "", false
	}
	i := strings.LastIndex(path, "/manifests/")
	if i < len("/v2/") {
		return "", false
	}
	return path[len("/v2/"):i], true
}

// projectID is the id of the live project name.
func (c *core) projectID(name string) (int, error) {
	ps, err := c.projects()
	if err != nil {
		return 0, err
	}
	for _, p := range ps {
		if p.Name == name {
			return p.ID, nil
		}
	}
	return 0, fmt.Errorf("project %s not found", name)
}

// ensureRepository adds the repository row of name unless it exists.
func (c *core) ensureRepository(name string) error {
	c.repoMu.Lock()
	defer c.repoMu.Unlock()
	projectName, _, _ := strings.Cut(name, "/")
	pid, err := c.projectID(projectName)
	if err != nil {
		return err
	}
	var rows []repository
	if err := c.db.rows("repository", &rows); err != nil {
		return err
	}
	next := 1
	for _, r := range rows {
		if r.Name == name {
			return nil
		}
		next = max(next, r.ID+1)
	}
	return c.db.insert("repository", repository{ID: next, Name: name, ProjectID: pid, CreationTime: time.Now().UTC().Format(time.RFC3339)})
}
