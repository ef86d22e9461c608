package upgrade

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
	// The watcher streams from before the run: asked afterwards (--since/--until), the daemon
	// answers from its short in-memory event log, which the other tests' Docker work on this
	// engine can overflow meanwhile, and an empty answer would prove nothing.
	var events syncBuffer
	watch := exec.Command("docker", "events", "--filter", "type=image",
		"--since", time.Now().Add(-time.Second).Format(time.RFC3339Nano), "--format", "{{.Action}} {{.Actor.ID}}")
	watch.Stdout = &events
	if err := watch.Start(); err != nil {
		t.Fatalf("docker events: %v", err)
	}
	res := runBundle(t, "strace", append([]string{"-f", "-qq", "-e", "trace=connect", "-o", trace, run}, args...)...)
	time.Sleep(time.Second) // the last events of the run reach the stream
	watch.Process.Kill()
	watch.Wait()
	checkConnects(t, trace)
	var actions []string
	for _, line := range strings.Split(strings.TrimSpace(events.String()), "\n") {
		if strings.HasPrefix(line, "pull ") {
			t.Errorf("docker pulled during the upgrade: %s", line)
		}
		if f := strings.Fields(line); len(f) > 0 {
			actions = append(actions, f[0])
		}
	}
	t.Logf("docker image events during the upgrade: %v", countWords(actions))
	if countWords(actions)["load"] == 0 {
		t.Errorf("docker events saw no image load during an upgrade that loads the new images: the watch proves nothing")
	}
	return res
}

// syncBuffer is a bytes.Buffer written by a command's output copier and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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

// The no-network proof runs on the upgrade of 1.8.6 with every component (the quota-sync path):
// TestE2EUpgrade186AllComponentsNoNetwork in e2e_test.go.
