package fakeharbor

// debianBase are the packages of the shared base layer in the "debian" content mix: the C
// library, TLS, the shell and core tools, as a distribution's rootfs is the base of each real
// Harbor image.
var debianBase = []string{"libc6", "libssl3", "libstdc++6", "coreutils", "bash", "zlib1g", "ca-certificates"}

// debianRoles are the Debian (bookworm) packages whose files fill each role's own layer in the
// "debian" mix, chosen to hold what the real image holds: harbor-db and the 1.x migrator
// PostgreSQL (with its JIT's LLVM and ICU, as the real server build links them), proxy and portal
// nginx, redis redis, prepare Python with yaml and jinja2, log rsyslog, clair git; the Go services
// real Go programs, as close in kind as Debian has them (docker-registry is the distribution
// registry Harbor ships, notary is notary). A role missing here gets no files of its own.
var debianRoles = map[string][]string{
	"db":            {"postgresql-15", "postgresql-client-15", "libllvm14", "libicu72", "libxml2", "libpq5"},
	"migrator":      {"postgresql-15", "postgresql-client-15", "libpq5", "python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3-yaml"},
	"redis":         {"redis-server", "redis-tools", "libjemalloc2"},
	"valkey":        {"redis-server", "redis-tools", "libjemalloc2"},
	"proxy":         {"nginx", "nginx-common", "libpcre2-8-0"},
	"portal":        {"nginx", "nginx-common", "libpcre2-8-0"},
	"prepare":       {"python3.11-minimal", "libpython3.11-minimal", "libpython3.11-stdlib", "python3-yaml", "python3-jinja2", "python3-markupsafe"},
	"log":           {"rsyslog", "logrotate"},
	"clair":         {"git"},
	"registry":      {"docker-registry"},
	"registryctl":   {"docker-registry"},
	"notary-server": {"notary"},
	"notary-signer": {"notary"},
	"exporter":      {"prometheus-node-exporter"},
	"core":          {"prometheus"},
	"jobservice":    {"skopeo"},
	"adminserver":   {"runc"},
	"clair-adapter": {"runc"},
	"chartmuseum":   {"containerd"},
	"trivy-adapter": {"containerd"},
}
