package upgrade

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// healthWait is one wait for a Harbor install to be up on a version.
type healthWait struct {
	eng Engine
	// db looks for evidence that core refused a dirty database. Only core's own refusal counts
	// here: while core migrates, each schema step is marked dirty until it completes.
	db      DBChecker
	install *Install // Dir, DataVolume, ports
	version string   // "v1.10.0"
	// apiBase is where that release's core serves its API (catalog api_base: "/api",
	// "/api/v2.0"); "" when not known, and then both are tried.
	apiBase  string
	timeout  time.Duration
	interval time.Duration
	out      io.Writer
	// after is time.After; a test records the pauses through it.
	after func(time.Duration) <-chan time.Time
}

// health waits for the new Harbor.
func (u *Upgrade) health(ctx context.Context) error {
	j := u.journal
	in := &Install{Dir: j.InstallDir, DataVolume: j.DataVolume, HTTPPort: j.HTTPPort, HTTPSPort: j.HTTPSPort}
	err := healthWait{eng: u.o.Engine, db: coreLogChecker{u.o.Engine}, install: in, version: u.installVersion(), apiBase: j.APIBase,
		timeout: u.o.HealthTimeout, interval: u.o.HealthInterval, out: u.o.Out}.run(ctx)
	if err != nil {
		return err
	}
	if err := u.checkScanDBs(ctx); err != nil {
		return err
	}
	return u.checkCounts(ctx)
}

// checkCounts reads the projects and repositories from the new harbor-db and compares them
// with those journaled before the stop: a healthy Harbor on an empty (or another) database is
// the failure this catches. Without counts from before it only logs what it finds.
func (u *Upgrade) checkCounts(ctx context.Context) error {
	j := u.journal
	after, err := readCounts(ctx, u.o.Engine)
	if err != nil {
		if j.CountsBefore == nil {
			fmt.Fprintf(u.log, "counts after the upgrade: %v (nothing to compare with: %s)\n", err, j.CountsUnknown)
			return nil
		}
		return fmt.Errorf("cannot read the new Harbor's projects and repositories to compare with the %s before: %w", j.CountsBefore, err)
	}
	j.CountsAfter = after
	if err := j.Save(); err != nil {
		return err
	}
	if j.CountsBefore == nil {
		fmt.Fprintf(u.o.Out, "    new Harbor has %s (not compared: %s)\n", after, j.CountsUnknown)
		return nil
	}
	if err := compareCounts(j.CountsBefore, after); err != nil {
		return err
	}
	fmt.Fprintf(u.o.Out, "    new Harbor has %s (before: %s)\n", after, j.CountsBefore)
	return nil
}

// firstHealthPause is the first pause between health polls; each next one is twice as long, up
// to the interval. A Harbor up within seconds of install.sh (the fake, a small host, each hop of
// a chain) was noticed up to a whole interval (2 s) late; one that takes minutes is still polled
// only every interval after the first few seconds. (Measured on the fake 1.10.0, make bench:
// the health step takes 2.3 s either way, as long as its containers' own healthchecks take to
// pass; the backoff removes the poll's share, not that.)
const firstHealthPause = 250 * time.Millisecond

func (h healthWait) wait(d time.Duration) <-chan time.Time {
	if h.after != nil {
		return h.after(d)
	}
	return time.After(d)
}

// run polls until every container of the install is running and healthy and /api/systeminfo
// reports the version, or the timeout passes, or the database turns out dirty (core would
// crash-loop forever: no point waiting).
func (h healthWait) run(ctx context.Context) error {
	start := time.Now()
	deadline := start.Add(h.timeout)
	lastReport := start
	pause := min(firstHealthPause, h.interval)
	var why string
	for {
		ok, reason, err := h.once(ctx)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintf(h.out, "    Harbor %s healthy after %s\n", h.version, time.Since(start).Round(time.Second))
			return nil
		}
		why = reason
		if time.Now().After(deadline) {
			return fmt.Errorf("Harbor %s not healthy after %s: %s", h.version, h.timeout, why)
		}
		if time.Since(lastReport) >= 15*time.Second {
			fmt.Fprintf(h.out, "    waiting for Harbor %s: %s elapsed, %s\n", h.version, time.Since(start).Round(time.Second), why)
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-h.wait(pause):
		}
		pause = min(2*pause, h.interval)
	}
}

// once checks one time; reason says what is not ready yet.
func (h healthWait) once(ctx context.Context) (ok bool, reason string, err error) {
	cs, err := h.eng.Containers(ctx, LabelWorkingDir+"="+h.install.Dir)
	if err != nil {
		return false, "", err
	}
	if len(cs) == 0 {
		return false, "no containers", nil
	}
	h.install.Containers = cs
	if h.db != nil {
		if err := h.db.CheckDB(ctx, h.install); err != nil {
			return false, "", err
		}
	}
	var waiting []string
	for _, c := range cs {
		switch {
		case c.State != "running":
			waiting = append(waiting, c.Name+" "+c.State)
		case c.Health != "" && c.Health != "healthy":
			waiting = append(waiting, c.Name+" "+c.Health)
		}
	}
	if len(waiting) > 0 {
		sort.Strings(waiting)
		return false, strings.Join(waiting, ", "), nil
	}
	got, err := systemInfoVersion(ctx, h.install, h.apiBase)
	if err != nil {
		return false, "systeminfo: " + err.Error(), nil
	}
	if !sameRelease(got, h.version) {
		return false, fmt.Sprintf("systeminfo reports %s", got), nil
	}
	return true, "", nil
}

// sameRelease: harbor_version "v1.10.0-f3e11715" is release "v1.10.0".
func sameRelease(harborVersion, release string) bool {
	return harborVersion == release || strings.HasPrefix(harborVersion, release+"-")
}

// loopbackClient talks only to 127.0.0.1, never through a proxy from the environment: the
// upgrade must not open a single connection off the host.
var loopbackClient = &http.Client{
	Timeout: 5 * time.Second,
	Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", port))
		},
		// Harbor's certificate names its public hostname, not 127.0.0.1; this only reads a
		// version string from our own host.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// systemInfoVersion reads harbor_version from apiBase/systeminfo (/api in 1.x, /api/v2.0 from
// 2.0), over http and https on the ports harbor.yml says; with apiBase unknown, from both.
func systemInfoVersion(ctx context.Context, in *Install, apiBase string) (string, error) {
	paths := []string{"/api/systeminfo", "/api/v2.0/systeminfo"}
	if apiBase != "" {
		paths = []string{apiBase + "/systeminfo"}
	}
	var urls []string
	if in.HTTPPort > 0 {
		urls = append(urls, "http://127.0.0.1:"+strconv.Itoa(in.HTTPPort))
	}
	if in.HTTPSPort > 0 {
		urls = append(urls, "https://127.0.0.1:"+strconv.Itoa(in.HTTPSPort))
	}
	var lastErr error = fmt.Errorf("no http or https port configured")
	for _, base := range urls {
		for _, path := range paths {
			v, err := getVersion(ctx, base+path)
			if err == nil {
				return v, nil
			}
			lastErr = err
		}
	}
	return "", lastErr
}

func getVersion(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := loopbackClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s", resp.Status)
	}
	var info struct {
		HarborVersion string `json:"harbor_version"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
		return "", err
	}
	return info.HarborVersion, nil
}
