package upgrade

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/harborbundle/bundle/internal/fakeharbor"
)

// runTraced runs the .run under strace -f -e trace=connect and while `docker events` watches
// images, then checks the upgrade made no connection off the host and pulled nothing.
func runTraced(t *testing.T, h *fakeharbor.Harbor, run string, args ...string) runResult {
	t.Helper()
	if _, err := exec.LookPath("strace"); err != nil {
		t.Fatalf("strace is needed to prove the upgrade uses no network (apt-get install strace): %v", err)
	}
	trace := filepath.Join(t.TempDir(), "connect.trace")
	since := time.Now().Add(-time.Second)
	res := runBundle(t, "strace", append([]string{"-f", "-qq", "-e", "trace=connect", "-o", trace, run}, args...)...)
	until := time.Now().Add(time.Second)
	checkConnects(t, trace)
	out, err := exec.Command("docker", "events", "--filter", "type=image",
		"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339), "--format", "{{.Action}} {{.Actor.ID}}").Output()
	if err != nil {
		t.Fatalf("docker events: %v", err)
	}
	var actions []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasPrefix(line, "pull ") {
			t.Errorf("docker pulled during the upgrade: %s", line)
		}
		if f := strings.Fields(line); len(f) > 0 { // no image event at all is one empty line
			actions = append(actions, f[0])
		}
	}
	t.Logf("docker image events during the upgrade: %v", countWords(actions))
	return res
}

var (
	connectRe = regexp.MustCompile(`connect\(\d+, \{sa_family=(AF_[A-Z0-9]+)(.*?)\}`)
	inetAddr  = regexp.MustCompile(`inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"`)
)

// checkConnects fails for any connect() not to a unix socket or loopback.
func checkConnects(t *testing.T, trace string) {
	t.Helper()
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	families := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		m := connectRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		families[m[1]]++
		switch m[1] {
		case "AF_UNIX":
			continue
		case "AF_INET", "AF_INET6":
			a := inetAddr.FindStringSubmatch(m[2])
			addr := ""
			if a != nil {
				addr = a[1] + a[2]
			}
			if strings.HasPrefix(addr, "127.") || addr == "::1" {
				continue
			}
			t.Errorf("connection off the host: %s", line)
		default:
			t.Errorf("unexpected connect: %s", line)
		}
	}
	if families["AF_UNIX"] == 0 {
		t.Errorf("no unix-socket connect traced: is strace seeing the docker CLI? %v", families)
	}
	t.Logf("connect() calls by family: %v", families)
}

func countWords(ws []string) map[string]int {
	m := map[string]int{}
	for _, w := range ws {
		if w != "" {
			m[w]++
		}
	}
	return m
}

// TestE2EUpgrade186NoneNoNetwork upgrades a core-only 1.8.6 (the quota-sync path) under strace.
func TestE2EUpgrade186NoneNoNetwork(t *testing.T) {
	upgradeAndCheckWith(t, "v1.8.6", nil, true)
}
