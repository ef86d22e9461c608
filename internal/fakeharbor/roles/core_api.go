package roles

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// project is a row of the projects table, as /api/projects shows it.
type project struct {
	ID           int    `json:"project_id"`
	Name         string `json:"name"`
	CreationTime string `json:"creation_time"`
}

// handler is core's HTTP API, the part of Harbor's that bundle and the tests use:
//
//	GET  /api/ping          "Pong"
//	GET  /api/systeminfo    {"harbor_version": "v1.10.0-xxxxxxxx", ...}
//	GET  /api/health        {"status": "healthy"|"unhealthy", "components": [...]}
//	GET  /api/projects      the projects
//	POST /api/projects      {"project_name": "x"} creates one (201; 409 when it exists)
//	GET  /api/quotas        what the quota sync computed
//	/v2/...                 passed to the registry, as real core does
func (c *core) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/ping", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("Pong")) })
	mux.HandleFunc("GET /api/systeminfo", c.systemInfo)
	mux.HandleFunc("GET /api/health", c.health)
	mux.HandleFunc("GET /api/projects", func(w http.ResponseWriter, _ *http.Request) {
		rows := []project{}
		reply(w, rows, c.db.rows("projects", &rows))
	})
	mux.HandleFunc("POST /api/projects", c.createProject)
	mux.HandleFunc("GET /api/quotas", func(w http.ResponseWriter, _ *http.Request) {
		rows := []map[string]any{}
		reply(w, rows, c.db.rows("quotas", &rows))
	})
	mux.Handle("/v2/", c.registryProxy())
	return mux
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
	var rows []project
	if err := c.db.rows("projects", &rows); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	next := 1
	for _, p := range rows {
		if p.Name == name {
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
	w.Header().Set("Location", "/api/projects/"+name)
	w.WriteHeader(http.StatusCreated)
}

// registryProxy forwards /v2/ to the registry (REGISTRY_URL, as in core's env file).
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
	return httputil.NewSingleHostReverseProxy(u)
}
