package fakeharbor

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// ymlSettings are what a test install changes in the shipped harbor.yml, as a user would by
// hand: the rest of the file (comments, order, defaults) stays as shipped.
type ymlSettings struct {
	Hostname   string
	HTTPPort   int
	DataVolume string
	LogDir     string
	// HTTPS, when set, enables the https block; else it is commented out.
	HTTPS *ymlHTTPS
}

// ymlHTTPS is harbor.yml's https block: the port and the certificate and key files.
type ymlHTTPS struct {
	Port                    int
	Certificate, PrivateKey string
}

var topKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*:`)

// editHarborYML sets hostname, http.port, data_volume and the log location (log.location in
// 1.8, log.local.location from 1.9), and comments out the https block (present by default from
// 1.10, with placeholder certificate paths prepare refuses) or, with s.HTTPS, sets its port,
// certificate and private_key (1.8 and 1.9 ship it commented out: those lines are uncommented).
// It edits lines, as a user with an editor would, then checks the result parses to what was asked.
func editHarborYML(text string, s ymlSettings) (string, error) {
	lines := strings.Split(text, "\n")
	block := ""
	done := map[string]bool{}
	for i, line := range lines {
		if s.HTTPS != nil && line == "# https:" {
			lines[i], block = "https:", "https"
			continue
		}
		if topKey.MatchString(line) {
			block = line[:strings.Index(line, ":")]
		}
		key, indent := lineKey(line)
		if s.HTTPS != nil && block == "https" {
			if strings.TrimSpace(line) == "" {
				block = ""
				continue
			}
			if k, ok := httpsLine(line); ok {
				lines[i] = "  " + k + ": " + map[string]string{"port": fmt.Sprint(s.HTTPS.Port),
					"certificate": s.HTTPS.Certificate, "private_key": s.HTTPS.PrivateKey}[k]
				done["https."+k] = true
			}
			continue
		}
		switch {
		case key == "hostname" && indent == 0:
			lines[i], done["hostname"] = "hostname: "+s.Hostname, true
		case key == "data_volume" && indent == 0:
			lines[i], done["data_volume"] = "data_volume: "+s.DataVolume, true
		case block == "http" && key == "port" && indent == 2:
			lines[i], done["http.port"] = fmt.Sprintf("  port: %d", s.HTTPPort), true
		case block == "log" && key == "location" && !done["log"]:
			lines[i], done["log"] = strings.Repeat(" ", indent)+"location: "+s.LogDir, true
		case block == "https" && strings.TrimSpace(line) != "" && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			lines[i] = "#" + line
		}
	}
	want := []string{"hostname", "data_volume", "http.port", "log"}
	if s.HTTPS != nil {
		want = append(want, "https.port", "https.certificate", "https.private_key")
	}
	for _, k := range want {
		if !done[k] {
			return "", fmt.Errorf("editing harbor.yml: no %s line found", k)
		}
	}
	out := strings.Join(lines, "\n")
	return out, checkHarborYML(out, s)
}

// lineKey returns the mapping key of a yaml line and its indentation ("" for comments).
func lineKey(line string) (string, int) {
	trimmed := strings.TrimLeft(line, " ")
	if strings.HasPrefix(trimmed, "#") || !strings.Contains(trimmed, ":") {
		return "", len(line) - len(trimmed)
	}
	return trimmed[:strings.Index(trimmed, ":")], len(line) - len(trimmed)
}

// httpsLine reads a line of the https block, commented out or not: "port", "certificate" or
// "private_key" when it sets one of them.
func httpsLine(line string) (string, bool) {
	t := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#"))
	for _, k := range []string{"port", "certificate", "private_key"} {
		if strings.HasPrefix(t, k+":") {
			return k, true
		}
	}
	return "", false
}

func checkHarborYML(text string, s ymlSettings) error {
	var doc struct {
		Hostname   string             `yaml:"hostname"`
		DataVolume string             `yaml:"data_volume"`
		HTTP       struct{ Port int } `yaml:"http"`
		HTTPS      *struct {
			Port        int    `yaml:"port"`
			Certificate string `yaml:"certificate"`
			PrivateKey  string `yaml:"private_key"`
		} `yaml:"https"`
	}
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return fmt.Errorf("edited harbor.yml does not parse: %w", err)
	}
	httpsOK := doc.HTTPS == nil && s.HTTPS == nil
	if doc.HTTPS != nil && s.HTTPS != nil {
		httpsOK = doc.HTTPS.Port == s.HTTPS.Port && doc.HTTPS.Certificate == s.HTTPS.Certificate && doc.HTTPS.PrivateKey == s.HTTPS.PrivateKey
	}
	if doc.Hostname != s.Hostname || doc.DataVolume != s.DataVolume || doc.HTTP.Port != s.HTTPPort || !httpsOK {
		return fmt.Errorf("edited harbor.yml reads back as %+v (https %+v)", doc, doc.HTTPS)
	}
	return nil
}
