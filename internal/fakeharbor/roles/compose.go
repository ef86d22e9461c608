package roles

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// service is one docker-compose.yml service as real prepare writes it (1.x and 2.x).
type service struct {
	Image         string   `yaml:"image"`
	ContainerName string   `yaml:"container_name"`
	EnvFile       []string `yaml:"env_file,omitempty"`
	Restart       string   `yaml:"restart"`
	Volumes       []any    `yaml:"volumes,omitempty"`
	Ports         []string `yaml:"ports,omitempty"`
	Networks      []string `yaml:"networks"`
	DNSSearch     string   `yaml:"dns_search,omitempty"` // 1.x only: 2.x's templates have none
	DependsOn     []string `yaml:"depends_on,omitempty"`
}

// bindMount is compose's long volume syntax, which real Harbor uses for single files: unlike the
// short syntax it fails when the source is missing instead of creating a directory there.
type bindMount struct {
	Type   string `yaml:"type"`
	Source string `yaml:"source"`
	Target string `yaml:"target"`
}

func bind(source, target string) bindMount { return bindMount{"bind", source, target} }

// serviceOrder is the order of services in the real file.
var serviceOrder = []string{"log", "registry", "registryctl", "postgresql", "adminserver", "core", "portal",
	"jobservice", "redis", "proxy", "notary-server", "notary-signer", "clair", "clair-adapter", "chartmuseum"}

// composeFile renders docker-compose.yml (format 2.3) for the release and its optional
// components: the real service and container names, images at their exact tags, the real
// mounts under data_volume. The proxy publishes http.port on 127.0.0.1 only (real Harbor binds
// every address), so a test never exposes a port.
func composeFile(rel *release.Release, s settings, flags prepareFlags) ([]byte, error) {
	byService := imagesByService(rel, flags.components())
	return encodeCompose("2.3", serviceOrder, byService, func(img release.Image) service {
		return serviceFor(img, s, byService)
	})
}

// encodeCompose is the document every generation's template writes: the format version (none
// when empty), then the services byService holds in the template's order, each built by svc,
// then the harbor network.
func encodeCompose(format string, order []string, byService map[string]release.Image, svc func(release.Image) service) ([]byte, error) {
	services := &yaml.Node{Kind: yaml.MappingNode}
	for _, name := range order {
		img, ok := byService[name]
		if !ok {
			continue
		}
		var n yaml.Node
		if err := n.Encode(svc(img)); err != nil {
			return nil, fmt.Errorf("encoding service %s: %w", name, err)
		}
		services.Content = append(services.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, &n)
	}
	doc := struct {
		Version  string                    `yaml:"version,omitempty"`
		Services *yaml.Node                `yaml:"services"`
		Networks map[string]map[string]any `yaml:"networks"`
	}{format, services, map[string]map[string]any{"harbor": {"external": false}}}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding docker-compose.yml: %w", err)
	}
	return out, nil
}

// imagesByService is the release's images for these components, by compose service name.
func imagesByService(rel *release.Release, components []string) map[string]release.Image {
	byService := map[string]release.Image{}
	for _, img := range rel.ImagesFor(components...) {
		byService[img.Service] = img
	}
	return byService
}

// presentOnly keeps the depends_on entries this install has services for (clair-adapter's clair
// without clair, redis with external_redis, say); nil when none is left, so the key is omitted.
func presentOnly(deps []string, present map[string]release.Image) []string {
	var kept []string
	for _, d := range deps {
		if _, ok := present[d]; ok {
			kept = append(kept, d)
		}
	}
	return kept
}

func serviceFor(img release.Image, s settings, present map[string]release.Image) service {
	data := strings.TrimRight(s.dataVolume, "/")
	if data == "" {
		data = "/"
	}
	svc := service{Image: img.Ref(), ContainerName: img.Container, Restart: "always", Networks: []string{"harbor"}, DNSSearch: "."}
	cfg := "./common/config/"
	switch img.Service {
	case "log":
		svc.Volumes = []any{s.logLocation + "/:/var/log/docker/:z",
			bind(cfg+"log/logrotate.conf", "/etc/logrotate.d/logrotate.conf"),
			bind(cfg+"log/rsyslog_docker.conf", "/etc/rsyslog.d/rsyslog_docker.conf")}
	case "registry":
		svc.Volumes = []any{data + "/registry:/storage:z", cfg + "registry/:/etc/registry/:z",
			bind(data+"/secret/registry/root.crt", "/etc/registry/root.crt")}
		svc.DependsOn = []string{"log"}
	case "registryctl":
		svc.EnvFile = []string{cfg + "registryctl/env"}
		svc.Volumes = []any{data + "/registry:/storage:z", cfg + "registry/:/etc/registry/:z",
			bind(cfg+"registryctl/config.yml", "/etc/registryctl/config.yml")}
		svc.DependsOn = []string{"log"}
	case "postgresql":
		svc.EnvFile = []string{cfg + "db/env"}
		svc.Volumes = []any{data + "/database:/var/lib/postgresql/data:z"}
		svc.DependsOn = []string{"log"}
	case "core":
		svc.EnvFile = []string{cfg + "core/env"}
		svc.Volumes = []any{data + "/ca_download/:/etc/core/ca/:z", data + "/psc/:/etc/core/token/:z",
			data + "/:/data/:z", cfg + "core/certificates/:/etc/core/certificates/:z",
			bind(cfg+"core/app.conf", "/etc/core/app.conf"),
			bind(data+"/secret/core/private_key.pem", "/etc/core/private_key.pem"),
			bind(data+"/secret/keys/secretkey", "/etc/core/key")}
		svc.DependsOn = []string{"log", "registry", "redis", "postgresql"}
	case "portal":
		svc.DependsOn = []string{"log"}
	case "jobservice":
		svc.EnvFile = []string{cfg + "jobservice/env"}
		svc.Volumes = []any{data + "/job_logs:/var/log/jobs:z", bind(cfg+"jobservice/config.yml", "/etc/jobservice/config.yml")}
		svc.DependsOn = []string{"core"}
	case "redis":
		svc.Volumes = []any{data + "/redis:/var/lib/redis"}
		svc.DependsOn = []string{"log"}
	case "proxy":
		svc.Volumes = []any{cfg + "nginx:/etc/nginx:z"}
		if s.https {
			// 1.9+ prepare copied the certificate and key there (copyNginxCerts).
			svc.Volumes = append(svc.Volumes, data+"/secret/cert:/etc/cert:z")
		}
		if s.httpPort != "" {
			svc.Ports = []string{"127.0.0.1:" + s.httpPort + ":8080"}
		}
		if s.https {
			svc.Ports = append(svc.Ports, "127.0.0.1:"+s.httpsPort+":"+strconv.Itoa(proxyHTTPSPort))
		}
		svc.DependsOn = []string{"registry", "core", "portal", "log"}
	case "notary-server":
		svc.EnvFile = []string{cfg + "notary/server_env"}
		svc.Volumes = []any{cfg + "notary:/etc/notary:z"}
		svc.DependsOn = []string{"postgresql", "notary-signer"}
	case "notary-signer":
		svc.EnvFile = []string{cfg + "notary/signer_env"}
		svc.Volumes = []any{cfg + "notary:/etc/notary:z"}
		svc.DependsOn = []string{"postgresql"}
	case "clair":
		svc.EnvFile = []string{cfg + "clair/postgres_env"}
		svc.Volumes = []any{bind(cfg+"clair/config.yaml", "/etc/clair/config.yaml")}
		svc.DependsOn = []string{"postgresql"}
	case "clair-adapter":
		svc.EnvFile = []string{cfg + "clair-adapter/env"}
		svc.DependsOn = []string{"clair"}
	case "chartmuseum":
		svc.EnvFile = []string{cfg + "chartserver/env"}
		svc.Volumes = []any{data + "/chart_storage:/chart_storage:z"}
		svc.DependsOn = []string{"redis"}
	}
	svc.DependsOn = presentOnly(svc.DependsOn, present)
	return svc
}
