package installer

// The shell scripts of the 1.8+ installers. They are bash as the real ones are, and rely on
// nothing in the images but what `docker run` and docker-compose do with them.

// helpers are the output and version-check functions; common.sh in 1.10, inline before.
const helpers = `# Colours only when tput knows the terminal; without one (a log file) the text stays plain.
bold=$(tput bold 2>/dev/null || true)
reset=$(tput sgr0 2>/dev/null || true)
red=$(tput setaf 1 2>/dev/null || true)
green=$(tput setaf 76 2>/dev/null || true)
tan=$(tput setaf 3 2>/dev/null || true)
blue=$(tput setaf 25 2>/dev/null || true)
white=$(tput setaf 7 2>/dev/null || true)

h1() { printf "\n${bold}%s${reset}\n" "$@"; }
h2() { printf "\n${bold}%s${reset}\n" "$@"; }
info() { printf "${white}➜ %s${reset}\n" "$@"; }
success() { printf "${green}✔ %s${reset}\n" "$@"; }
error() { printf "${red}✖ %s${reset}\n" "$@"; }
warn() { printf "${tan}➜ %s${reset}\n" "$@"; }
bold() { printf "${bold}%s${reset}\n" "$@"; }
note() { printf "\n${bold}${blue}Note:${reset} ${blue}%s${reset}\n" "$@"; }

# version_at_least OUTPUT MAJOR MINOR: the first X.Y[.Z] in OUTPUT (a "--version" line such as
# "Docker version 20.10.24+dfsg1, build 297e128") is at least MAJOR.MINOR.
# Returns 0 if so, 1 if older, 2 if OUTPUT has no version.
version_at_least() {
	if [[ $1 =~ (([0-9]+)\.([0-9]+)([\.0-9]*)) ]]
	then
		local major=$((10#${BASH_REMATCH[2]})) minor=$((10#${BASH_REMATCH[3]}))
		if [ "$major" -lt "$2" ] || { [ "$major" -eq "$2" ] && [ "$minor" -lt "$3" ]; }
		then
			return 1
		fi
		return 0
	fi
	return 2
}

check_docker() {
	if ! docker --version &> /dev/null
	then
		error "Need to install docker(17.06.0+) first and run this script again."
		exit 1
	fi
	local out rc=0
	out=$(docker --version)
	version_at_least "$out" 17 6 || rc=$?
	case $rc in
	0) note "docker version: ${BASH_REMATCH[1]}";;
	1) error "Need to upgrade docker package to 17.06.0+."; exit 1;;
	*) error "Failed to parse docker version."; exit 1;;
	esac
}

check_dockercompose() {
	if ! docker-compose --version &> /dev/null
	then
		error "Need to install docker-compose(1.18.0+) by yourself first and run this script again."
		exit 1
	fi
	local out rc=0
	out=$(docker-compose --version)
	version_at_least "$out" 1 18 || rc=$?
	case $rc in
	0) note "docker-compose version: ${BASH_REMATCH[1]}";;
	1) error "Need to upgrade docker-compose package to 1.18.0+."; exit 1;;
	*) error "Failed to parse docker-compose version."; exit 1;;
	esac
}
`

// commonSh is 1.10's common.sh, sourced by install.sh.
const commonSh = "#!/bin/bash\n\n" + helpers

const installHead110 = `#!/bin/bash

set -e

DIR="$(cd "$(dirname "$0")" && pwd)"
source "$DIR/common.sh"

`

const installHead18 = `#!/bin/bash

# docker version: 17.06.0+
# docker-compose version: 1.18.0+

set -e

` + helpers + "\n"

// installBody is the part of install.sh every 1.8+ release shares.
const installBody = `usage=$'Please set hostname and other necessary attributes in harbor.yml first. DO NOT use localhost or 127.0.0.1 for hostname, because Harbor needs to be accessed by external clients.
Please set --with-notary if needs enable Notary in Harbor, and set https in harbor.yml because notary must run under https.
Please set --with-clair if needs enable Clair in Harbor
Please set --with-chartmuseum if needs enable Chartmuseum in Harbor'
item=0

# the optional components are off unless asked for
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

@STEP_CHECKS@
if [ -f harbor*.tar.gz ]
then
	h2 "[Step $item]: loading Harbor images ..."; let item+=1
	docker load -i ./harbor*.tar.gz
fi
echo ""

h2 "[Step $item]: preparing environment ..."; let item+=1
if [ -n "$host" ]
then
	sed "s/^hostname: .*/hostname: $host/g" -i ./harbor.yml
fi
prepare_para=
if [ "$with_notary" = true ]
then
	prepare_para="${prepare_para} --with-notary"
fi
if [ "$with_clair" = true ]
then
	prepare_para="${prepare_para} --with-clair"
fi
if [ "$with_chartmuseum" = true ]
then
	prepare_para="${prepare_para} --with-chartmuseum"
fi

./prepare $prepare_para
echo ""

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

// prepareTmpl is the host-side prepare script; @MOUNTS@ and @IMAGE@ are filled per release.
const prepareTmpl = `#!/bin/bash
set +e

# The installer's directory: docker-compose.yml and common/config are written here.
harbor_prepare_path="$( cd "$(dirname "$0")" ; pwd -P )"
echo "prepare base dir is set to ${harbor_prepare_path}"

# A fresh input dir holding the harbor.yml the prepare container reads.
rm -rf "${harbor_prepare_path}/input"
mkdir -p "${harbor_prepare_path}/input"
input_dir="${harbor_prepare_path}/input"

set -e

# A harbor.yml may be named as the first argument; else the one next to this script.
if [[ ! "$1" =~ ^\-\- ]] && [ -f "$1" ]
then
	cp "$1" "$input_dir/harbor.yml"
	shift
else
	cp "${harbor_prepare_path}/harbor.yml" "$input_dir/harbor.yml"
fi

data_path=$(grep '^[^#]*data_volume:' "$input_dir/harbor.yml" | awk '{print $NF}')

# 1.7 kept its keys directly in /data; 1.8 and later keep them in <data_volume>/secret/keys.
previous_secretkey_path=/data/secretkey
previous_defaultalias_path=/data/defaultalias
if [ -f $previous_secretkey_path ]; then
	mkdir -p "$data_path/secret/keys"
	mv $previous_secretkey_path "$data_path/secret/keys"
fi
if [ -f $previous_defaultalias_path ]; then
	mkdir -p "$data_path/secret/keys"
	mv $previous_defaultalias_path "$data_path/secret/keys"
fi

secret_dir="${data_path}/secret"
config_dir="$harbor_prepare_path/common/config"

docker run --rm @MOUNTS@
		@IMAGE@ "$@"

echo "Clean up the input dir"
rm -rf "${harbor_prepare_path}/input"
`

// licenseText stands for Harbor's LICENSE file (Apache 2.0, whose full text the fake omits).
const licenseText = `                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   This is the fake Harbor used by bundle's tests. Real Harbor is distributed under the
   Apache License 2.0; its full text is at the address above.
`
