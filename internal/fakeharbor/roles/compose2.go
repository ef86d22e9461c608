package roles

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// serviceOrder2 is the order of services in the real 2.x templates.
var serviceOrder2 = []string{"log", "registry", "registryctl", "postgresql", "core", "portal", "jobservice", "redis",
	"proxy", "notary-server", "notary-signer", "clair", "clair-adapter", "trivy-adapter", "chartmuseum", "exporter"}

// composeFile2 renders what templates/docker_compose/docker-compose.yml.jinja of the line renders
// for these settings and flags: the same services, container names, images (the fake release
// table's, at the release's tag), volumes, env files and depends_on. Not rendered: cap_drop/
// cap_add, the syslog logging driver (and so the log service's 127.0.0.1:1514 port), https and
// metric ports; the proxy publishes http.port on 127.0.0.1 only.
func composeFile2(version string, line int, s settings2, flags map[string]bool) ([]byte, error) {
	if s.internalTLS {
		return nil, fmt.Errorf("the fake prepare does not support internal_tls.enabled")
	}
	rel, err := release.Get(version)
	if err != nil {
		return nil, fmt.Errorf("reading HARBOR_VERSION: %w", err)
	}
	var components []string
	for c, on := range flags {
		if on {
			components = append(components, c)
		}
	}
	if s.metric && prepareLines[line].exporter {
		components = append(components, release.Exporter)
	}
	byService := imagesByService(rel, components)
	if s.externalDB {
		delete(byService, "postgresql")
	}
	if s.externalRedis {
		delete(byService, "redis")
	}
	return encodeCompose(composeFormat2(line), serviceOrder2, byService, func(img release.Image) service {
		return serviceFor2(img, line, s, byService)
	})
}

// composeFormat2 is the template's `version:` line: '2.3' until 2.11, none from 2.12 (the
// Compose Specification).
func composeFormat2(line int) string {
	if line >= 12 {
		return ""
	}
	return "2.3"
}

func serviceFor2(img release.Image, line int, s settings2, present map[string]release.Image) service {
	data := strings.TrimRight(s.dataVolume, "/")
	cfg := "./common/config/"
	trust := bind(cfg+"shared/trust-certificates", "/harbor_cust_cert")
	svc := service{Image: img.Ref(), ContainerName: img.Container, Restart: "always", Networks: []string{"harbor"}}
	switch img.Service {
	case "log":
		svc.Volumes = []any{s.logLocation + "/:/var/log/docker/:z",
			bind(cfg+"log/logrotate.conf", "/etc/logrotate.d/logrotate.conf"),
			bind(cfg+"log/rsyslog_docker.conf", "/etc/rsyslog.d/rsyslog_docker.conf")}
	case "registry":
		svc.Volumes = []any{data + "/registry:/storage:z", cfg + "registry/:/etc/registry/:z",
			bind(data+"/secret/registry/root.crt", "/etc/registry/root.crt"), trust}
		svc.DependsOn = []string{"log"}
	case "registryctl":
		svc.EnvFile = []string{cfg + "registryctl/env"}
		svc.Volumes = []any{data + "/registry:/storage:z", cfg + "registry/:/etc/registry/:z",
			bind(cfg+"registryctl/config.yml", "/etc/registryctl/config.yml"), trust}
		svc.DependsOn = []string{"log"}
	case "postgresql":
		svc.EnvFile = []string{cfg + "db/env"}
		svc.Volumes = []any{data + "/database:/var/lib/postgresql/data:z"}
		svc.DependsOn = []string{"log"}
	case "core":
		svc.EnvFile = []string{cfg + "core/env"}
		svc.Volumes = []any{data + "/ca_download/:/etc/core/ca/:z", data + "/:/data/:z",
			cfg + "core/certificates/:/etc/core/certificates/:z",
			bind(cfg+"core/app.conf", "/etc/core/app.conf"),
			bind(data+"/secret/core/private_key.pem", "/etc/core/private_key.pem"),
			bind(data+"/secret/keys/secretkey", "/etc/core/key"), trust}
		if s.uaaCAFile != "" {
			svc.Volumes = append(svc.Volumes, bind(s.uaaCAFile, "/etc/core/certificates/uaa_ca.pem"))
		}
		svc.DependsOn = []string{"log", "registry", "redis", "postgresql"}
	case "portal":
		if line >= 1 {
			svc.Volumes = []any{bind(cfg+"portal/nginx.conf", "/etc/nginx/nginx.conf")}
		}
		svc.DependsOn = []string{"log"}
	case "jobservice":
		svc.EnvFile = []string{cfg + "jobservice/env"}
		svc.Volumes = []any{data + "/job_logs:/var/log/jobs:z", bind(cfg+"jobservice/config.yml", "/etc/jobservice/config.yml"), trust}
		svc.DependsOn = []string{"core"}
	case "redis":
		svc.Volumes = []any{data + "/redis:/var/lib/redis"}
		svc.DependsOn = []string{"log"}
	case "proxy":
		svc.Volumes = []any{cfg + "nginx:/etc/nginx:z"}
		if s.https {
			svc.Volumes = append(svc.Volumes, data+"/secret/cert:/etc/cert:z")
		}
		svc.Volumes = append(svc.Volumes, trust)
		svc.Ports = []string{"127.0.0.1:" + s.httpPort + ":8080"}
		if s.https {
			svc.Ports = append(svc.Ports, "127.0.0.1:"+s.httpsPort+":"+strconv.Itoa(proxyHTTPSPort))
		}
		svc.DependsOn = []string{"registry", "core", "portal", "log"}
	case "notary-server":
		svc.EnvFile = []string{cfg + "notary/server_env"}
		svc.Volumes = []any{cfg + "notary:/etc/notary:z",
			bind(data+"/secret/notary/notary-signer-ca.crt", "/etc/notary/notary-signer-ca.crt"),
			bind(data+"/secret/registry/root.crt", "/etc/notary/root.crt"), trust}
		svc.DependsOn = []string{"postgresql", "notary-signer"}
	case "notary-signer":
		svc.EnvFile = []string{cfg + "notary/signer_env"}
		svc.Volumes = []any{cfg + "notary:/etc/notary:z",
			bind(data+"/secret/notary/notary-signer.crt", "/etc/notary/notary-signer.crt"),
			bind(data+"/secret/notary/notary-signer.key", "/etc/notary/notary-signer.key"), trust}
		svc.DependsOn = []string{"log", "postgresql"}
	case "clair":
		svc.EnvFile = []string{cfg + "clair/clair_env"}
		svc.Volumes = []any{bind(cfg+"clair/config.yaml", "/etc/clair/config.yaml"), trust}
		svc.DependsOn = []string{"log", "postgresql"}
	case "clair-adapter":
		svc.EnvFile = []string{cfg + "clair-adapter/env"}
		svc.Volumes = []any{trust}
		svc.DependsOn = []string{"clair", "redis"}
	case "trivy-adapter":
		svc.EnvFile = []string{cfg + "trivy-adapter/env"}
		svc.Volumes = []any{bind(data+"/trivy-adapter/trivy", "/home/scanner/.cache/trivy"),
			bind(data+"/trivy-adapter/reports", "/home/scanner/.cache/reports"), trust}
		svc.DependsOn = []string{"log", "redis"}
		if line == 0 {
			svc.DependsOn = []string{"redis"}
		}
	case "chartmuseum":
		svc.EnvFile = []string{cfg + "chartserver/env"}
		svc.Volumes = []any{data + "/chart_storage:/chart_storage:z", cfg + "chartserver:/etc/chartserver:z", trust}
		svc.DependsOn = []string{"log"}
	case "exporter":
		svc.EnvFile = []string{cfg + "exporter/env"}
		svc.Volumes = []any{trust}
		svc.DependsOn = []string{"core", "postgresql"}
	}
	svc.DependsOn = presentOnly(svc.DependsOn, present)
	return svc
}
