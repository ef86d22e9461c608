package harbor

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Notary over https only. Every 2.x prepare up to 2.8 (utils/configs.py validate(), called by
// commands/prepare.py with notary_mode=with_notary) refuses, with "Error: the protocol must be
// https when Harbor is deployed with Notary", a harbor.yml without https when install.sh runs it
// with --with-notary; 2.9 has no notary. An upgrade that keeps notary on an http-only harbor.yml
// would stop Harbor and then fail in install.sh: preflight refuses it first. The catalog says it
// per release (https_required_for), held to that prepare code by https_required_real_test.go.
// (1.x prepare has the same check, but it is not in harbor-real; a 1.x install with notary
// runs https already, since its own prepare required it.)

// checkHTTPSRequired: https_required_for names optional components the release has.
func (r *Release) checkHTTPSRequired() []string {
	r.HTTPSRequiredFor = slices.Clone(r.HTTPSRequiredFor)
	var problems []string
	for i, c := range r.HTTPSRequiredFor {
		switch {
		case !slices.Contains(optionalComponents, c):
			problems = append(problems, fmt.Sprintf("https_required_for %q, which is not one of %s", c, strings.Join(optionalComponents, ", ")))
		case !r.has(c):
			problems = append(problems, fmt.Sprintf("https_required_for %s, which it has no images of", c))
		case slices.Contains(r.HTTPSRequiredFor[:i], c):
			problems = append(problems, fmt.Sprintf("https_required_for names %s twice", c))
		}
	}
	return problems
}

// NeedsHTTPS returns those of components its prepare refuses without https in harbor.yml.
func (r *Release) NeedsHTTPS(components []string) []string {
	var out []string
	for _, c := range components {
		if slices.Contains(r.HTTPSRequiredFor, c) {
			out = append(out, c)
		}
	}
	return out
}

// HTTPSEnabled reports whether harbor.yml turns https on as prepare reads it
// (parse_yaml_config: `if configs.get('https'):`): an https section that is a non-empty mapping.
func (c *Config) HTTPSEnabled() bool {
	n := c.lookup([]string{"https"})
	return n != nil && n.Kind == yaml.MappingNode && len(n.Content) > 0
}
