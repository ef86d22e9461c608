package installer

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// File is one file of the installer, relative to the installer's harbor/ directory.
type File struct {
	Name string // "install.sh", "prepare", "harbor.yml", ...
	Mode fs.FileMode
	Data []byte
}

//go:embed files
var files embed.FS

// Files returns the installer files of a release, in a fixed order, without the image tarball
// (harbor.vX.tar.gz), which the packager adds to the offline installer.
func Files(version string) ([]File, error) {
	rel, err := release.Get(version)
	if err != nil {
		return nil, err
	}
	if rel.Is2x() {
		return nil, fmt.Errorf("the fake has no installer scripts of its own for %s: 2.x installers carry Harbor's real files (Files2x)", rel.Version)
	}
	license := File{Name: "LICENSE", Mode: 0o644, Data: []byte(licenseText)}
	if rel.ConfigVersion == "" { // 1.7: harbor.cfg, prepare on the host
		return []File{
			{Name: "install.sh", Mode: 0o755, Data: []byte(installSh17)},
			{Name: "prepare", Mode: 0o755, Data: []byte(prepare17(rel))},
			{Name: "harbor.cfg", Mode: 0o644, Data: []byte(harborCfg17)},
			license,
		}, nil
	}
	yml, err := files.ReadFile("files/harbor-v" + rel.ConfigVersion + ".yml")
	if err != nil {
		return nil, fmt.Errorf("reading the default harbor.yml of %s: %w", rel.ConfigVersion, err)
	}
	prepareImg, ok := rel.Image(release.Prepare)
	if !ok {
		return nil, fmt.Errorf("release %s has no prepare image", rel.Version)
	}
	out := []File{
		{Name: "install.sh", Mode: 0o755, Data: []byte(installSh(rel.ConfigVersion))},
		{Name: "prepare", Mode: 0o755, Data: []byte(prepareSh(rel.ConfigVersion, prepareImg.Ref()))},
		{Name: "harbor.yml", Mode: 0o644, Data: yml},
	}
	if rel.ConfigVersion == "1.10.0" {
		out = append(out, File{Name: "common.sh", Mode: 0o644, Data: []byte(commonSh)})
	}
	return append(out, license), nil
}

// installSh is install.sh of 1.8, 1.9 (helpers inline, placeholder hostname refused) or 1.10
// (helpers in common.sh, `set -e`).
func installSh(configVersion string) string {
	head := installHead18
	if configVersion == "1.10.0" {
		head = installHead110
	}
	body := strings.ReplaceAll(installBody, "@STEP_CHECKS@", stepChecks(configVersion))
	return head + body
}

func stepChecks(configVersion string) string {
	if configVersion == "1.10.0" {
		return `h2 "[Step $item]: checking if docker is installed ..."; let item+=1
check_docker

h2 "[Step $item]: checking docker-compose is installed ..."; let item+=1
check_dockercompose
`
	}
	return `# harbor.yml still names the example host: install.sh of 1.8/1.9 refuses to go on.
if grep -q '^[[:blank:]]*hostname: reg.mydomain.com' harbor.yml
then
	warn "$usage"
	exit 1
fi

h2 "[Step $item]: checking installation environment ..."; let item+=1
check_docker
check_dockercompose
`
}

// prepareSh is the host-side prepare of 1.8+: it runs the prepare image with the real mounts.
// 1.9 and 1.10 also mount the data volume (so prepare can fix owners) and / as /hostfs.
func prepareSh(configVersion, image string) string {
	mounts := `-v "$input_dir":/input:z \
		-v "$harbor_prepare_path":/compose_location:z \
		-v "$config_dir":/config:z \
		-v "$secret_dir":/secret:z \`
	if configVersion != "1.8.0" {
		mounts = `-v "$input_dir":/input:z \
		-v "$data_path":/data:z \
		-v "$harbor_prepare_path":/compose_location:z \
		-v "$config_dir":/config:z \
		-v "$secret_dir":/secret:z \
		-v /:/hostfs:z \`
	}
	s := strings.ReplaceAll(prepareTmpl, "@MOUNTS@", mounts)
	return strings.ReplaceAll(s, "@IMAGE@", image)
}
