package upgrade

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// The health probe reads systeminfo where the catalog says the release serves its API; a 2.x
// core has no /api/systeminfo, a 1.x core no /api/v2.0.
func TestSystemInfoAtAPIBase(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2.0/systeminfo" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"harbor_version":"v2.15.2-1a2b3c4d"}`))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	in := &Install{}
	if _, err := net.LookupPort("tcp", port); err != nil {
		t.Fatal(err)
	}
	in.HTTPPort, _ = net.LookupPort("tcp", port)
	ctx := context.Background()
	for base, want := range map[string]string{"/api/v2.0": "v2.15.2-1a2b3c4d", "": "v2.15.2-1a2b3c4d", "/api": ""} {
		got, err := systemInfoVersion(ctx, in, base)
		if got != want || (want == "" && (err == nil || !strings.Contains(err.Error(), "404"))) {
			t.Errorf("api_base %q: %q, %v; want %q", base, got, err, want)
		}
	}
}

// startingEngine answers "starting" for its first polls, then healthy.
type startingEngine struct {
	*planEngine
	polls, startingFor int
}

func (e *startingEngine) Containers(context.Context, ...string) ([]Container, error) {
	e.polls++
	health := "healthy"
	if e.polls <= e.startingFor {
		health = "starting"
	}
	return []Container{{Name: "harbor-core", State: "running", Health: health}}, nil
}

// The wait polls soon after install.sh (a small Harbor is up in a second), then backs off to
// the interval, so that a Harbor taking minutes is not polled harder than before.
func TestHealthPollsSoonThenEveryInterval(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"harbor_version":"v1.10.0-1a2b3c4d"}`))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	in := &Install{}
	in.HTTPPort, _ = net.LookupPort("tcp", port)
	eng := &startingEngine{planEngine: &planEngine{}, startingFor: 6}
	var pauses []time.Duration
	h := healthWait{eng: eng, install: in, version: "v1.10.0", apiBase: "/api", timeout: time.Minute, interval: 2 * time.Second,
		out: io.Discard, after: func(d time.Duration) <-chan time.Time {
			pauses = append(pauses, d)
			c := make(chan time.Time, 1)
			c <- time.Now()
			return c
		}}
	if err := h.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := time.Second
	want := []time.Duration{s / 4, s / 2, s, 2 * s, 2 * s, 2 * s}
	if !slices.Equal(pauses, want) || eng.polls != 7 {
		t.Errorf("pauses %v over %d polls, want %v over 7", pauses, eng.polls, want)
	}
}
