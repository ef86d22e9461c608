package roles

import (
	"fmt"
	"strconv"
	"strings"
)

// prepareLine is what the prepare program of one 2.x minor line accepts and generates, read from
// ../shared/harbor-real/prepare/<last patch of the line>/: commands/prepare.py (the click options
// of `prepare`), utils/configs.py (validate), templates/docker_compose/docker-compose.yml.jinja.
// TestPrepare2ComposeAsReal renders the real template of every line and compares.
type prepareLine struct {
	// options are prepare's --with-<component> flags (click options), in the order click lists them.
	options []string
	// exporter: the template renders the exporter service when harbor.yml's metric.enabled (2.2+).
	exporter bool
}

// prepareLines is keyed by the minor version of 2.x.
var prepareLines = map[int]prepareLine{
	0:  {options: []string{"notary", "clair", "trivy", "chartmuseum"}},
	1:  {options: []string{"notary", "clair", "trivy", "chartmuseum"}},
	2:  {options: []string{"notary", "trivy", "chartmuseum"}, exporter: true},
	3:  {options: []string{"notary", "trivy", "chartmuseum"}, exporter: true},
	4:  {options: []string{"notary", "trivy", "chartmuseum"}, exporter: true},
	5:  {options: []string{"notary", "trivy", "chartmuseum"}, exporter: true},
	6:  {options: []string{"notary", "trivy", "chartmuseum"}, exporter: true},
	7:  {options: []string{"notary", "trivy", "chartmuseum"}, exporter: true},
	8:  {options: []string{"notary", "trivy"}, exporter: true},
	9:  {options: []string{"trivy"}, exporter: true},
	10: {options: []string{"trivy"}, exporter: true},
	11: {options: []string{"trivy"}, exporter: true},
	12: {options: []string{"trivy"}, exporter: true},
	13: {options: []string{"trivy"}, exporter: true},
	14: {options: []string{"trivy"}, exporter: true},
	15: {options: []string{"trivy"}, exporter: true},
}

// has tells whether prepare of this line accepts --with-<component>.
func (l prepareLine) has(component string) bool {
	for _, o := range l.options {
		if o == component {
			return true
		}
	}
	return false
}

// lineOf returns the 2.x minor line of a version ("v2.13.5" -> 13); ok is false for 1.x.
func lineOf(version string) (minor int, ok bool, err error) {
	parts := strings.Split(strings.TrimPrefix(version, "v"), ".")
	if len(parts) < 2 {
		return 0, false, fmt.Errorf("HARBOR_VERSION %q is not a version", version)
	}
	if parts[0] != "2" {
		return 0, false, nil
	}
	minor, err = strconv.Atoi(parts[1])
	if err != nil {
		return 0, false, fmt.Errorf("HARBOR_VERSION %q is not a version", version)
	}
	if _, known := prepareLines[minor]; !known {
		return 0, false, fmt.Errorf("the fake prepare knows no 2.%d line", minor)
	}
	return minor, true, nil
}
