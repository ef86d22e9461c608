package upgrade

import (
	"bytes"
	"os"
	"strings"
	"sync"

	"github.com/harborbundle/bundle/harbor"
	"gopkg.in/yaml.v3"
)

// LogName is the full log of an upgrade inside its backup dir.
const LogName = "upgrade.log"

// runLog is the upgrade log: every command and its output. Before the backup dir of the
// upgrade exists it buffers; once attached to the file it writes through. Secret values of
// harbor.yml are replaced by <redacted> wherever they appear.
type runLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	f       *os.File
	secrets []string
}

func newRunLog() *runLog { return &runLog{} }

func (l *runLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		l.buf.Write(p) // redacted when flushed: the secrets may not be known yet
		return len(p), nil
	}
	l.f.Write(l.redact(p))
	return len(p), nil
}

// redact hides known secret values and anything that looks like a secret setting.
func (l *runLog) redact(p []byte) []byte {
	s := string(p)
	for _, sec := range l.secrets {
		s = strings.ReplaceAll(s, sec, harbor.Redacted)
	}
	return harbor.Redact([]byte(s))
}

// attach starts writing into path (0600, appended), flushing what was buffered.
func (l *runLog) attach(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
	}
	l.f = f
	_, err = f.Write(l.redact(l.buf.Bytes()))
	l.buf.Reset()
	return err
}

// hideSecretsOf collects the secret values of a harbor.yml so they never reach the log, even
// when a tool prints them outside any key: value line.
func (l *runLog) hideSecretsOf(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var root yaml.Node
	if yaml.Unmarshal(b, &root) != nil {
		return
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Kind == yaml.ScalarNode && harbor.IsSecretKey(k.Value) && len(v.Value) >= 4 {
					l.mu.Lock()
					l.secrets = append(l.secrets, v.Value)
					l.mu.Unlock()
				}
				walk(v)
			}
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
}

// Close syncs and closes the log file.
func (l *runLog) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	l.f.Sync()
	err := l.f.Close()
	l.f = nil
	return err
}
