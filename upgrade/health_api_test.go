package upgrade

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
