package release

// Which images each release ships, read from each tag's top-level Makefile (DOCKERSAVE_PARA, the
// offline package's `docker save` list, and its `+=` lines per --with-* flag: the offline
// installers are built with every flag on) and docker-compose template
// (prepare/<tag>/templates/docker_compose/docker-compose.yml.jinja: service and container names).
// Tags of 1.x patch releases without a folder in harbor-real are harbor-facts.md's.

// Users the images run as. The compose templates set none: the real images' Dockerfiles do
// (harbor 10000 for Harbor's own services, postgres/redis 999 for the database and the cache).
const (
	harborUser   = "10000:10000"
	postgresUser = "999:999"
)

// imagesOf lists the images of a release from 1.8.0 on.
func imagesOf(r *Release) []Image {
	v := r.Version
	switch r.Line() {
	case "1.8":
		// 1.8.x never got the -2553 registry patch of 1.9.1+. Clair and chartmuseum: 1.8.0's
		// (harbor-facts.md) up to 1.8.5, 1.8.6's Makefile for 1.8.6; 1.8.1-1.8.5 are not in
		// harbor-real and keep 1.8.0's component versions.
		clair, chart := "v2.0.8-"+v, "v0.8.1-"+v
		if v == "v1.8.6" {
			clair, chart = "v2.1.0-"+v, "v0.9.0-"+v
		}
		return legacyImages(v, "v2.7.1-patch-2819-"+v, "v0.6.1-"+v, clair, "", chart, false)
	case "1.9":
		registry, clair := "v2.7.1-patch-2819-2553-"+v, "v2.1.0-"+v
		if v == "v1.9.0" {
			registry = "v2.7.1-patch-2819-" + v
		}
		if patch(v) <= 2 {
			clair = "v2.0.9-" + v
		}
		return legacyImages(v, registry, "v0.6.1-"+v, clair, "", "v0.9.0-"+v, true)
	case "1.10":
		if patch(v) <= 1 {
			return legacyImages(v, "v2.7.1-patch-2819-2553-"+v, "v0.6.1-"+v, "v2.1.1-"+v, "v1.0.1-"+v, "v0.9.0-"+v, true)
		}
		// From 1.10.2 every image is tagged plainly with the release.
		return legacyImages(v, v, v, v, v, v, true)
	}
	return images2x(r)
}

// legacyImages assembles a 1.x release. nonRoot: from 1.9 most containers run as uid 10000.
func legacyImages(v, registryTag, notaryTag, clairTag, clairAdapterTag, chartTag string, nonRoot bool) []Image {
	// Before 1.9 every container started as root: prepare had no /data mount, so docker created
	// data/database and data/redis as root and the db and redis entrypoints chowned them to 999
	// before dropping privileges. From 1.9 the images run as their service users.
	hu, pu := "", ""
	if nonRoot {
		hu, pu = harborUser, postgresUser
	}
	var out []Image
	add := func(repo, tag, component, role, service, container, user string) {
		out = append(out, Image{repo, tag, component, role, service, container, user})
	}
	add("goharbor/harbor-log", v, Core, "log", "log", "harbor-log", "")
	add("goharbor/registry-photon", registryTag, Core, "registry", "registry", "registry", hu)
	add("goharbor/harbor-registryctl", v, Core, "registryctl", "registryctl", "registryctl", hu)
	add("goharbor/harbor-db", v, Core, "db", "postgresql", "harbor-db", pu)
	add("goharbor/harbor-core", v, Core, "core", "core", "harbor-core", hu)
	add("goharbor/harbor-portal", v, Core, "portal", "portal", "harbor-portal", hu)
	add("goharbor/harbor-jobservice", v, Core, "jobservice", "jobservice", "harbor-jobservice", hu)
	add("goharbor/redis-photon", v, Core, "redis", "redis", "redis", pu)
	add("goharbor/nginx-photon", v, Core, "proxy", "proxy", "nginx", hu)
	if v == "v1.7.6" {
		add("goharbor/harbor-adminserver", v, Core, "adminserver", "adminserver", "harbor-adminserver", "")
	} else {
		// 1.7 prepared its config with a python script on the host; 1.8+ ship a prepare image.
		add("goharbor/prepare", v, Prepare, "prepare", "", "", "")
	}
	add("goharbor/notary-server-photon", notaryTag, Notary, "notary-server", "notary-server", "notary-server", hu)
	add("goharbor/notary-signer-photon", notaryTag, Notary, "notary-signer", "notary-signer", "notary-signer", hu)
	add("goharbor/clair-photon", clairTag, Clair, "clair", "clair", "clair", hu)
	if clairAdapterTag != "" {
		add("goharbor/clair-adapter-photon", clairAdapterTag, Clair, "clair-adapter", "clair-adapter", "clair-adapter", hu)
	}
	add("goharbor/chartmuseum-photon", chartTag, Chartmuseum, "chartmuseum", "chartmuseum", "chartmuseum", hu)
	add("goharbor/harbor-migrator", v, Migrator, "migrator", "", "", "")
	return out
}

// images2x assembles a 2.x release: from 2.0 every image carries the release's own tag.
func images2x(r *Release) []Image {
	v := r.Version
	var out []Image
	add := func(repo, component, role, service, container, user string) {
		out = append(out, Image{repo, v, component, role, service, container, user})
	}
	add("goharbor/harbor-log", Core, "log", "log", "harbor-log", "")
	add("goharbor/registry-photon", Core, "registry", "registry", "registry", harborUser)
	add("goharbor/harbor-registryctl", Core, "registryctl", "registryctl", "registryctl", harborUser)
	add("goharbor/harbor-db", Core, "db", "postgresql", "harbor-db", postgresUser)
	add("goharbor/harbor-core", Core, "core", "core", "harbor-core", harborUser)
	add("goharbor/harbor-portal", Core, "portal", "portal", "harbor-portal", harborUser)
	add("goharbor/harbor-jobservice", Core, "jobservice", "jobservice", "harbor-jobservice", harborUser)
	if v == "v2.15.2" {
		// 2.15.2 (a patch release) replaces redis-photon with valkey-photon; the compose service
		// and container keep the name redis.
		add("goharbor/valkey-photon", Core, "valkey", "redis", "redis", postgresUser)
	} else {
		add("goharbor/redis-photon", Core, "redis", "redis", "redis", postgresUser)
	}
	add("goharbor/nginx-photon", Core, "proxy", "proxy", "nginx", harborUser)
	add("goharbor/prepare", Prepare, "prepare", "", "", "")
	minor := nums(v)[1]
	if minor <= 8 {
		add("goharbor/notary-server-photon", Notary, "notary-server", "notary-server", "notary-server", harborUser)
		add("goharbor/notary-signer-photon", Notary, "notary-signer", "notary-signer", "notary-signer", harborUser)
	}
	if minor <= 1 {
		add("goharbor/clair-photon", Clair, "clair", "clair", "clair", harborUser)
		add("goharbor/clair-adapter-photon", Clair, "clair-adapter", "clair-adapter", "clair-adapter", harborUser)
	}
	add("goharbor/trivy-adapter-photon", Trivy, "trivy-adapter", "trivy-adapter", "trivy-adapter", harborUser)
	if minor <= 7 {
		add("goharbor/chartmuseum-photon", Chartmuseum, "chartmuseum", "chartmuseum", "chartmuseum", harborUser)
	}
	if minor >= 2 {
		// In DOCKERSAVE_PARA itself for 2.2-2.12, behind EXPORTERFLAG from 2.13; it runs only
		// when harbor.yml enables metric.
		add("goharbor/harbor-exporter", Exporter, "exporter", "exporter", "harbor-exporter", harborUser)
	}
	return out
}
