package harbor

// PostgresVia is the release to go through when target's harbor-db cannot use a cluster of
// major (it would refuse it, or initialise an empty database beside it): of the releases older
// than target whose harbor-db pg_upgrades major, the newest whose resulting major target uses;
// else the newest that upgrades major at all (one more hop is then needed). nil when the
// catalog knows no release that upgrades major.
func (c *Catalog) PostgresVia(major string, target *Release) *Release {
	var some, direct *Release
	for _, r := range c.releases {
		if r.v.Compare(target.v) >= 0 || r.v.SameLine(target.v) || r.Postgres.UpgradesFrom != major {
			continue
		}
		some = r
		if target.Postgres.Uses(r.Postgres.Major) {
			direct = r
		}
	}
	if direct != nil {
		return direct
	}
	return some
}

// StepName names a release as a step of an upgrade path: "v2.6.x" when it is the newest of
// its line (any patch of it will do, the newest is advised), else the exact version.
func (c *Catalog) StepName(r *Release) string { return c.stepName(r) }
