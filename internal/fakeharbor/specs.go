package fakeharbor

import (
	"math/rand/v2"
	"path"
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// Labels on every fake image, so tests can find (and only ever remove) what the fake made.
const (
	LabelFake    = "io.github.harborbundle.fakeharbor"
	LabelRole    = "io.github.harborbundle.fakeharbor.role"
	LabelVersion = "io.github.harborbundle.fakeharbor.version"
)

// baseShare is the share of a release's content in the shared base layer, as Photon's rootfs is
// a modest part of each real Harbor image.
const baseShare = 0.15

// roleWeights spreads the rest of the content over the images roughly as in real Harbor,
// where the migrator (postgres + python), clair and the database are the biggest.
var roleWeights = map[string]float64{
	"db": 3, "migrator": 3, "clair": 3, "core": 2, "prepare": 2, "chartmuseum": 2, "registry": 1.5,
	"jobservice": 1.5, "notary-server": 1.5, "notary-signer": 1.5, "portal": 1, "registryctl": 1,
	"redis": 1, "clair-adapter": 1, "adminserver": 1, "proxy": 0.7, "log": 0.7,
	"trivy-adapter": 2, "exporter": 1, "valkey": 1,
}

var exposedPorts = map[string][]string{
	"core": {"8080"}, "portal": {"8080"}, "jobservice": {"8080"}, "registryctl": {"8080"},
	"registry": {"5000", "5001"}, "db": {"5432"}, "redis": {"6379"}, "proxy": {"8080", "8443"},
	"log": {"10514"}, "notary-server": {"4443"}, "notary-signer": {"7899"}, "clair": {"6060", "6061"},
	"clair-adapter": {"8080"}, "chartmuseum": {"9999"}, "adminserver": {"8080"},
	"trivy-adapter": {"8080"}, "exporter": {"8080"}, "valkey": {"6379"},
}

const photonOSRelease = `NAME="VMware Photon OS"
VERSION="2.0"
ID=photon
VERSION_ID=2.0
PRETTY_NAME="VMware Photon OS/Linux"
ANSI_COLOR="1;34"
HOME_URL="https://vmware.github.io/photon/"
BUG_REPORT_URL="https://github.com/vmware/photon/issues"
`

// The real images create harbor (10000) and postgres (999) in their own layers; the fake puts
// both users in the shared base.
const photonPasswd = `root:x:0:0:root:/root:/bin/bash
bin:x:1:1:bin:/dev/null:/bin/false
daemon:x:6:6:Daemon User:/dev/null:/bin/false
nobody:x:65534:65533:Unprivileged User:/dev/null:/bin/false
postgres:x:999:999::/var/lib/postgresql:/bin/bash
harbor:x:10000:10000:harbor:/harbor:/bin/bash
`

const photonGroup = `root:x:0:
bin:x:1:
daemon:x:6:
nogroup:x:65533:
postgres:x:999:
harbor:x:10000:
`

func baseLayerSpec(r *release.Release, size Size, fill contentFill) *layerSpec {
	s := &layerSpec{Entries: []entry{
		{Path: "etc/os-release", Mode: 0o644, Data: []byte(photonOSRelease)},
		{Path: "etc/photon-release", Mode: 0o644, Data: []byte("VMware Photon OS 2.0\nPHOTON_BUILD_NUMBER=ba8a3ba\n")},
		{Path: "etc/passwd", Mode: 0o644, Data: []byte(photonPasswd)},
		{Path: "etc/group", Mode: 0o644, Data: []byte(photonGroup)},
		{Path: "etc/ssl/certs", Mode: 0o755, Dir: true},
		{Path: "root", Mode: 0o700, Dir: true},
		{Path: "tmp", Mode: 0o1777, Dir: true},
		{Path: "var/tmp", Mode: 0o1777, Dir: true},
		{Path: "var/log", Mode: 0o755, Dir: true},
		{Path: "harbor", Mode: 0o755, UID: 10000, GID: 10000, Dir: true},
	}}
	s.Entries = append(s.Entries, fill("photon-"+r.Version, "", int64(float64(size)*baseShare))...)
	s.addDirs()
	return s
}

func binaryLayerSpec(binary, sum string) *layerSpec {
	s := &layerSpec{Entries: []entry{{Path: "harbor/harbord", Mode: 0o755, Source: binary, SourceSum: sum}}}
	s.addDirs()
	for i := range s.Entries {
		if s.Entries[i].Path == "harbor" {
			s.Entries[i].UID, s.Entries[i].GID = 10000, 10000
		}
	}
	return s
}

func imageLayerSpec(r *release.Release, img release.Image, size Size, fill contentFill) *layerSpec {
	total := 0.0
	for _, i := range r.Images {
		total += roleWeights[i.Role]
	}
	budget := float64(size) * (1 - baseShare) * roleWeights[img.Role] / total
	s := &layerSpec{Entries: []entry{
		{Path: "etc/" + img.Role + "/VERSION", Mode: 0o644, Data: []byte(r.Version + "\n")},
		{Path: "etc/" + img.Role + "/image", Mode: 0o644, Data: []byte(img.Ref() + "\n")},
	}}
	switch img.Role {
	case "db":
		s.Entries = append(s.Entries, entry{Path: "var/lib/postgresql/data", Mode: 0o700, UID: 999, GID: 999, Dir: true},
			entry{Path: "var/lib/postgresql", Mode: 0o755, UID: 999, GID: 999, Dir: true},
			// `docker exec harbor-db psql ...` (bundle's dirty-database check): harbord run as psql.
			entry{Path: "usr/bin/psql", Link: "/harbor/harbord"})
	case "trivy-adapter":
		// `docker exec trivy-adapter curl ...`: its HEALTHCHECK's tool, with which bundle reads the
		// adapter's metadata (the DB it serves): harbord run as curl.
		s.Entries = append(s.Entries, entry{Path: "usr/bin/curl", Link: "/harbor/harbord"})
	case "redis", "valkey":
		s.Entries = append(s.Entries, entry{Path: "var/lib/redis", Mode: 0o755, UID: 999, GID: 999, Dir: true})
	case "registry":
		s.Entries = append(s.Entries, entry{Path: "storage", Mode: 0o755, UID: 10000, GID: 10000, Dir: true})
	}
	s.Entries = append(s.Entries, fill(img.Ref(), img.Role, int64(budget))...)
	s.addDirs()
	return s
}

// generatedFiles spreads budget bytes over files of every content kind, sized from 2 KiB to
// 16 MiB (log-uniform), under paths typical of each kind.
func generatedFiles(seed, role string, budget int64) []entry {
	rng := rand.New(rand.NewPCG(uint64(len(seed)), hash64(seed)))
	var out []entry
	for _, share := range kindShares {
		left := budget * int64(share.percent) / 100
		for n := 0; left > 0; n++ {
			size := int64(1) << (11 + rng.IntN(14))
			size += rng.Int64N(size)
			size = min(size, left, max(budget/6, 2048))
			left -= size
			p := kindPath(share.kind, role, n, rng)
			out = append(out, entry{Path: p, Mode: kindMode(share.kind), Kind: int(share.kind), Size: size, Seed: seed + "/" + p})
		}
	}
	return out
}

func kindPath(kind contentKind, role string, n int, rng *rand.Rand) string {
	dir := "usr/share/" + role
	if role == "" {
		dir = "usr/share/photon"
	}
	name := strconv.Itoa(n) + "-" + strconv.FormatUint(rng.Uint64()%1e6, 36)
	switch kind {
	case kindText:
		return path.Join("usr/lib/python3.6", role, name+".py")
	case kindLog:
		return path.Join(dir, "samples", name+".log")
	case kindBinary:
		return path.Join("usr/lib", role, "lib"+name+".so")
	case kindCompressed:
		return path.Join(dir, "static", name+".gz")
	default:
		return path.Join("var/lib", role, "pages", name+".db")
	}
}

func kindMode(kind contentKind) int64 {
	if kind == kindBinary {
		return 0o755
	}
	return 0o644
}

func hash64(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// assemble makes the image: base, binary and own layer (and the 2.x prepare's migrations
// layer), and a config as the real image's (entrypoint, user, healthcheck, ports) with a fixed
// creation time.
func assemble(r *release.Release, info release.Image, base, bin, own, migrations *fileLayer) (v1.Image, error) {
	hist := func(by string) v1.History { return v1.History{Created: v1.Time{Time: epoch}, CreatedBy: by} }
	adds := []mutate.Addendum{
		{Layer: base, History: hist("/bin/sh -c #(nop) ADD file:photon-rootfs in / ")},
		{Layer: bin, History: hist("/bin/sh -c #(nop) COPY file:harbord in /harbor/harbord ")},
		{Layer: own, History: hist("/bin/sh -c #(nop) COPY dir:" + info.Role + " in /etc/" + info.Role + " ")},
	}
	if migrations != nil {
		adds = append(adds, mutate.Addendum{Layer: migrations, History: hist("/bin/sh -c #(nop) COPY dir:migrations in " + prepareWorkDir + "/migrations ")})
	}
	img, err := mutate.Append(empty.Image, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS, cf.Created = "amd64", "linux", v1.Time{Time: epoch}
	cf.Config = imageConfig(r, info)
	return mutate.ConfigFile(img, cf)
}

func imageConfig(r *release.Release, info release.Image) v1.Config {
	c := v1.Config{
		// harbor-db's ENTRYPOINT carries the old and new PostgreSQL majors (releases.tsv
		// db_entrypoint_args), which the db role reads as the real docker-entrypoint.sh reads $1 $2.
		Entrypoint: entrypoint(r, info),
		Env: []string{
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"HARBOR_VERSION=" + r.Version,
			"HARBOR_SCHEMA=" + strconv.Itoa(r.SchemaVersion),
			"HARBOR_CONFIG_VERSION=" + r.ConfigVersion,
		},
		User:   info.User,
		Labels: map[string]string{LabelFake: "true", LabelRole: info.Role, LabelVersion: r.Version},
	}
	// One-shot tools (prepare, migrator) have no healthcheck, as in real Harbor.
	if info.Service != "" {
		c.Healthcheck = &v1.HealthConfig{
			Test:     []string{"CMD", "/harbor/harbord", "health", info.Role},
			Interval: 2 * time.Second, Timeout: 2 * time.Second, Retries: 3, StartPeriod: time.Second,
		}
	}
	if info.Role == "prepare" && r.Is2x() {
		c.WorkingDir = prepareWorkDir
	}
	if ports := exposedPorts[info.Role]; len(ports) > 0 {
		c.ExposedPorts = map[string]struct{}{}
		for _, p := range ports {
			c.ExposedPorts[p+"/tcp"] = struct{}{}
		}
	}
	return c
}

func entrypoint(r *release.Release, info release.Image) []string {
	ep := []string{"/harbor/harbord", info.Role}
	if info.Role == "db" {
		ep = append(ep, r.DBArgs...)
	}
	return ep
}
