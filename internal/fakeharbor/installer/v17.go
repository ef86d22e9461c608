package installer

import (
	"fmt"
	"strings"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// 1.7 is in the fake only to be refused by bundle (its harbor.cfg and its image tags give it
// away), yet tests must be able to start it. Real 1.7 ships static docker-compose*.yml files with
// /data hard-coded and a python prepare that writes common/config from harbor.cfg; the fake's
// prepare is a bash script that writes both, taking the data directory from secretkey_path (the
// directory 1.7 keeps its secretkey in, /data by default) so that tests can use a temp dir.

const harborCfg17 = `## Configuration file of Harbor

#This attribute is for migrator to detect the version of the .cfg file, DO NOT MODIFY!
_version = 1.7.0
#The IP address or hostname to access admin UI and registry service.
#DO NOT use localhost or 127.0.0.1, because Harbor needs to be accessed by external clients.
#DO NOT comment out this line, modify the value of "hostname" directly, or the installation will fail.
hostname = reg.mydomain.com

#The protocol for accessing the UI and token/notification service, by default it is http.
#It can be set to https if ssl is enabled on nginx.
ui_url_protocol = http

#Maximum number of job workers in job service
max_job_workers = 10

#Determine whether or not to generate certificate for the registry's token.
#If the value is on, the prepare script creates new root cert and private key
#for generating token to access the registry. If the value is off the default key/cert will be used.
#This flag also controls the creation of the notary signer's cert.
customize_crt = on

#The path of cert and key files for nginx, they are applied only the protocol is set to https
ssl_cert = /data/cert/server.crt
ssl_cert_key = /data/cert/server.key

#The path of secretkey storage
secretkey_path = /data

#Admiral's url, comment this attribute, or set its value to NA when Harbor is standalone
admiral_url = NA

#Log files are rotated log_rotate_count times before being removed. If count is 0, old versions are removed rather than rotated.
log_rotate_count = 50
#Log files are rotated only if they grow bigger than log_rotate_size bytes. If size is followed by k, the size is assumed to be in kilobytes.
#If the M is used, the size is in megabytes, and if G is used, the size is in gigabytes. So size 100, size 100k, size 100M and size 100G
#are all valid.
log_rotate_size = 200M

#Config http proxy for Clair, e.g. http://my.proxy.com:3128
#Clair doesn't need to connect to harbor internal components via http proxy.
http_proxy =
https_proxy =
no_proxy = 127.0.0.1,localhost,core,registry

#The initial password of Harbor admin, only works for the first time when Harbor starts.
#It has no effect after the first launch of Harbor.
#Change the admin password from UI after launching Harbor.
harbor_admin_password = Harbor12345

##By default the auth mode is db_auth, i.e. the credentials are stored in a local database.
#Set it to ldap_auth if you want to verify a user's credentials against an LDAP server.
auth_mode = db_auth

#Turn on or off the self-registration feature
self_registration = on

#The expiration time (in minute) of token created by token service, default is 30 minutes
token_expiration = 30

#The flag to control what users have permission to create projects
#The default value "everyone" allows everyone to creates a project.
#Set to "adminonly" so that only admin user can create project.
project_creation_restriction = everyone

#######Harbor DB configuration section#######

#The address of the Harbor database. Only need to change when using external db.
db_host = postgresql

#The password for the root user of Harbor DB. Change this before any production use.
db_password = root123

#The port of Harbor database host
db_port = 5432

#The user name of Harbor database
db_user = postgres

##### End of Harbor DB configuration#######

##The redis server address. Only needed in HA installation.
#address:port, e.g. 10.4.0.1:6379
redis_host = redis
redis_port = 6379
redis_password =
redis_db_index = 1,2,3

#The registry storage provider name. Supported values: filesystem, s3, gcs, azure, swift and oss.
registry_storage_provider_name = filesystem
registry_storage_provider_config =
registry_custom_ca_bundle =

#If reload_config=true, all settings which present in harbor.cfg take effect after prepare and restart harbor, it overwrites exsiting settings.
#reload_config=true
`

const installSh17 = `#!/bin/bash

# docker version: 1.10.0+
# docker-compose version: 1.6.0+

set -e

` + helpers + `
usage=$'Please set hostname and other necessary attributes in harbor.cfg first. DO NOT use localhost or 127.0.0.1 for hostname, because Harbor needs to be accessed by external clients.
Please set --with-notary if needs enable Notary in Harbor, and set ui_url_protocol/ssl_cert/ssl_cert_key in harbor.cfg bacause notary must run under https.
Please set --with-clair if needs enable Clair in Harbor
Please set --with-chartmuseum if needs enable Chartmuseum in Harbor'
item=0

with_notary=false
with_clair=false
with_chartmuseum=false

while [ $# -gt 0 ]; do
	case $1 in
	--help)
		note "$usage"
		exit 0;;
	--with-notary)
		with_notary=true;;
	--with-clair)
		with_clair=true;;
	--with-chartmuseum)
		with_chartmuseum=true;;
	*)
		note "$usage"
		exit 1;;
	esac
	shift || true
done

workdir="$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )"
cd "$workdir"

# The hostname in harbor.cfg has not been modified
if grep -q '^[[:blank:]]*hostname = reg.mydomain.com' harbor.cfg
then
	warn "$usage"
	exit 1
fi

h2 "[Step $item]: checking installation environment ..."; let item+=1
if ! docker --version &> /dev/null; then error "Need to install docker(1.10.0+) first and run this script again."; exit 1; fi
if ! docker-compose --version &> /dev/null; then error "Need to install docker-compose(1.6.0+) by yourself first and run this script again."; exit 1; fi

if [ -f harbor*.tar.gz ]
then
	h2 "[Step $item]: loading Harbor images ..."; let item+=1
	docker load -i ./harbor*.tar.gz
fi
echo ""

h2 "[Step $item]: preparing environment ..."; let item+=1
if [ -n "$host" ]
then
	sed "s/^hostname = .*/hostname = $host/g" -i ./harbor.cfg
fi
prepare_para=
if [ "$with_notary" = true ]; then prepare_para="${prepare_para} --with-notary"; fi
if [ "$with_clair" = true ]; then prepare_para="${prepare_para} --with-clair"; fi
if [ "$with_chartmuseum" = true ]; then prepare_para="${prepare_para} --with-chartmuseum"; fi
./prepare $prepare_para
echo ""

h2 "[Step $item]: checking existing instance of Harbor ..."; let item+=1
if [ -n "$(docker-compose ps -q)" ]
then
	note "stopping existing Harbor instance ..."
	docker-compose down -v
fi
echo ""

h2 "[Step $item]: starting Harbor ..."
docker-compose up -d

success $"----Harbor has been installed and started successfully.----"
`

// prepare17 is 1.7's prepare as a bash script writing common/config, the secretkey and
// docker-compose.yml (the images at the release's tags).
func prepare17(rel *release.Release) string {
	blocks := map[string]*strings.Builder{}
	for _, c := range []string{release.Core, release.Notary, release.Clair, release.Chartmuseum} {
		blocks[c] = &strings.Builder{}
	}
	for _, img := range rel.Images {
		if b, ok := blocks[img.Component]; ok && img.Service != "" {
			b.WriteString(service17(img))
		}
	}
	s := strings.ReplaceAll(prepare17Tmpl, "@CORE_SERVICES@", blocks[release.Core].String())
	s = strings.ReplaceAll(s, "@NOTARY_SERVICES@", blocks[release.Notary].String())
	s = strings.ReplaceAll(s, "@CLAIR_SERVICES@", blocks[release.Clair].String())
	return strings.ReplaceAll(s, "@CHARTMUSEUM_SERVICES@", blocks[release.Chartmuseum].String())
}

// volumes17 are the mounts of 1.7's docker-compose.yml; @DATA@ is replaced by the data dir.
var volumes17 = map[string][]string{
	"registry":    {"@DATA@/registry:/storage:z", "./common/config/registry/:/etc/registry/:z"},
	"postgresql":  {"@DATA@/database:/var/lib/postgresql/data:z"},
	"adminserver": {"@DATA@/config/:/etc/adminserver/config/:z", "@DATA@/secretkey:/etc/adminserver/key:z", "@DATA@/:/data/:z"},
	"core": {"./common/config/core/app.conf:/etc/core/app.conf:z", "@DATA@/secretkey:/etc/core/key:z",
		"@DATA@/ca_download/:/etc/core/ca/:z", "@DATA@/psc/:/etc/core/token/:z", "@DATA@/:/data/:z"},
	"jobservice":  {"@DATA@/job_logs:/var/log/jobs:z", "./common/config/jobservice/config.yml:/etc/jobservice/config.yml:z"},
	"redis":       {"@DATA@/redis:/var/lib/redis"},
	"proxy":       {"./common/config/nginx:/etc/nginx:z"},
	"chartmuseum": {"@DATA@/chart_storage:/chart_storage:z"},
}

var envFiles17 = map[string]string{
	"core": "./common/config/core/env", "adminserver": "./common/config/adminserver/env",
	"postgresql": "./common/config/db/env", "jobservice": "./common/config/jobservice/env",
}

func service17(img release.Image) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:\n    image: %s\n    container_name: %s\n    restart: always\n", img.Service, img.Ref(), img.Container)
	if f, ok := envFiles17[img.Service]; ok {
		fmt.Fprintf(&b, "    env_file:\n      - %s\n", f)
	}
	if v := volumes17[img.Service]; len(v) > 0 {
		b.WriteString("    volumes:\n")
		for _, m := range v {
			fmt.Fprintf(&b, "      - %s\n", m)
		}
	}
	if img.Service == "proxy" {
		b.WriteString("    ports:\n      - 127.0.0.1:@PORT@:8080\n")
	}
	b.WriteString("    networks:\n      - harbor\n")
	return b.String()
}

const prepare17Tmpl = `#!/bin/bash
# prepare of Harbor 1.7 (the real one is python): writes common/config, the secretkey and
# docker-compose.yml from harbor.cfg.
set -e

with_notary=false
with_clair=false
with_chartmuseum=false
while [ $# -gt 0 ]; do
	case $1 in
	--with-notary) with_notary=true;;
	--with-clair) with_clair=true;;
	--with-chartmuseum) with_chartmuseum=true;;
	*) echo "Error: no such option: $1" >&2; exit 2;;
	esac
	shift
done

base_dir="$( cd "$(dirname "$0")" ; pwd -P )"
cfg="$base_dir/harbor.cfg"

# cfg_value KEY: the value of "KEY = value" in harbor.cfg.
cfg_value() { grep "^[[:blank:]]*$1[[:blank:]]*=" "$cfg" | tail -n 1 | sed 's/^[^=]*=[[:blank:]]*//; s/[[:blank:]]*$//'; }

hostname=$(cfg_value hostname)
if [ -z "$hostname" ] || [ "$hostname" = reg.mydomain.com ]; then
	echo "Please specify hostname" >&2
	exit 1
fi
data_path=$(cfg_value secretkey_path)
data_path=${data_path:-/data}
# http_port is not a key of real 1.7 (it always publishes 80); tests may add it.
http_port=$(cfg_value http_port)
http_port=${http_port:-80}
db_password=$(cfg_value db_password)
admin_password=$(cfg_value harbor_admin_password)

config_dir="$base_dir/common/config"
rm -rf "$config_dir"
mkdir -p "$config_dir"/{core,adminserver,db,jobservice,registry,nginx,log}

printf 'appname = Harbor\nrunmode = prod\nenablegzip = true\n\n[prod]\nhttpport = 8080\n' > "$config_dir/core/app.conf"
cat > "$config_dir/core/env" <<END
CONFIG_PATH=/etc/core/app.conf
EXT_ENDPOINT=http://$hostname
POSTGRESQL_HOST=postgresql
POSTGRESQL_PORT=5432
REGISTRY_URL=http://registry:5000
ADMINSERVER_URL=http://adminserver:8080
HARBOR_ADMIN_PASSWORD=$admin_password
WITH_NOTARY=$with_notary
WITH_CLAIR=$with_clair
WITH_CHARTMUSEUM=$with_chartmuseum
END
printf 'POSTGRES_PASSWORD=%s\n' "$db_password" > "$config_dir/db/env"
printf 'PORT=8080\nPOSTGRESQL_HOST=postgresql\nPOSTGRESQL_PASSWORD=%s\n' "$db_password" > "$config_dir/adminserver/env"
printf 'CORE_URL=http://core:8080\n' > "$config_dir/jobservice/env"
printf 'protocol: http\nport: 8080\n' > "$config_dir/jobservice/config.yml"
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /storage\nhttp:\n  addr: :5000\n' > "$config_dir/registry/config.yml"
cat > "$config_dir/nginx/nginx.conf" <<'END'
worker_processes auto;

events {
  worker_connections 1024;
}

http {
  upstream core {
    server core:8080;
  }

  server {
    listen 8080;
    location / {
      proxy_pass http://core/;
    }
  }
}
END
chmod 600 "$config_dir/core/env" "$config_dir/db/env" "$config_dir/adminserver/env"
for f in $(find "$config_dir" -type f); do echo "Generated configuration file: ${f#$base_dir/}"; done

mkdir -p "$data_path"
# Not in real 1.7 (whose harbor-db and redis start as root and chown their data themselves): the
# fake makes them here, owned as 1.8+ expect, so 1.7.6 starts whatever user its images run as.
for d in database redis; do
	if [ ! -d "$data_path/$d" ]; then
		mkdir -p "$data_path/$d"
		chown 999:999 "$data_path/$d"
		chmod 700 "$data_path/$d"
	fi
done
if [ ! -f "$data_path/secretkey" ]; then
	(umask 077; tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 16 > "$data_path/secretkey")
	echo "Generated and saved secret to file: $data_path/secretkey"
fi

compose="$base_dir/docker-compose.yml"
{
	printf "version: '2'\nservices:\n"
	cat <<'END'
@CORE_SERVICES@END
	if [ "$with_notary" = true ]; then cat <<'END'
@NOTARY_SERVICES@END
	fi
	if [ "$with_clair" = true ]; then cat <<'END'
@CLAIR_SERVICES@END
	fi
	if [ "$with_chartmuseum" = true ]; then cat <<'END'
@CHARTMUSEUM_SERVICES@END
	fi
	printf 'networks:\n  harbor:\n    external: false\n'
} | sed -e "s|@DATA@|${data_path%/}|g" -e "s|@PORT@|$http_port|g" > "$compose"
echo "Generated configuration file: docker-compose.yml"
`
