package roles

import "strings"

// coreGeneration is what differs between the cores of Harbor's major lines.
type coreGeneration struct {
	// api is the REST API's prefix: /api in 1.x, /api/v2.0 in 2.x.
	api string
	// minSchema is the oldest database schema core migrates from; older ones are refused with
	// refuseOld (harbor-facts.md: "2.0 core refuses schemas < 10 (please upgrade to version 1.9
	// first)"). 0: no limit.
	minSchema int
	refuseOld string
	// initSchemaTable: the release's harbor-db creates golang-migrate's schema_migrations table
	// (empty) with the registry database (db/v2.*/initial-registry.sql, every 2.x tag).
	initSchemaTable bool
}

// coreGenerations by the major of HARBOR_VERSION ("v1", "v2").
var coreGenerations = map[string]coreGeneration{
	"v1": {api: "/api"},
	"v2": {api: "/api/v2.0", minSchema: 10, refuseOld: "please upgrade to version 1.9 first", initSchemaTable: true},
}

// generationOf is the core generation of version ("v2.15.2"); 1.x when unknown.
func generationOf(version string) coreGeneration {
	major, _, _ := strings.Cut(version, ".")
	if g, ok := coreGenerations[major]; ok {
		return g
	}
	return coreGenerations["v1"]
}
