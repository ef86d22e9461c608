package installer

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/harborbundle/bundle/internal/fakeharbor/release"
)

// 1.7's prepare runs on the host: it must write a docker-compose.yml that starts the release's
// images at their exact tags, with the data under secretkey_path.
func TestPrepare17(t *testing.T) {
	dir := unpack(t, "v1.7.6")
	data := t.TempDir()
	cfgPath := filepath.Join(dir, "harbor.cfg")
	cfg, _ := os.ReadFile(cfgPath)
	edited := strings.NewReplacer("hostname = reg.mydomain.com", "hostname = harbor.test",
		"secretkey_path = /data", "secretkey_path = "+data+"\nhttp_port = 18080").Replace(string(cfg))
	if err := os.WriteFile(cfgPath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, flags := range [][]string{nil, {"--with-clair", "--with-chartmuseum"}} {
		out, err := exec.Command(filepath.Join(dir, "prepare"), flags...).CombinedOutput()
		if err != nil {
			t.Fatalf("prepare %v: %v\n%s", flags, err, out)
		}
		compose, err := os.ReadFile(filepath.Join(dir, "docker-compose.yml"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Services map[string]struct {
				Image         string   `yaml:"image"`
				ContainerName string   `yaml:"container_name"`
				Volumes       []string `yaml:"volumes"`
				Ports         []string `yaml:"ports"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(compose, &doc); err != nil {
			t.Fatalf("docker-compose.yml: %v\n%s", err, compose)
		}
		rel, _ := release.Get("v1.7.6")
		var components []string
		if flags != nil {
			components = []string{release.Clair, release.Chartmuseum}
		}
		var want, got []string
		for _, img := range rel.ImagesFor(components...) {
			want = append(want, img.Service+"="+img.Ref()+"@"+img.Container)
		}
		for name, s := range doc.Services {
			got = append(got, name+"="+s.Image+"@"+s.ContainerName)
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("flags %v: services\n%v\nwant\n%v", flags, got, want)
		}
		if p := doc.Services["proxy"].Ports; len(p) != 1 || p[0] != "127.0.0.1:18080:8080" {
			t.Errorf("proxy ports %v", p)
		}
		if v := doc.Services["postgresql"].Volumes; len(v) != 1 || v[0] != data+"/database:/var/lib/postgresql/data:z" {
			t.Errorf("postgresql volumes %v", v)
		}
	}
	if st, err := os.Stat(filepath.Join(data, "database")); err != nil || st.Sys().(*syscall.Stat_t).Uid != 999 {
		t.Errorf("database dir not made for uid 999: %v", err)
	}
	key, err := os.ReadFile(filepath.Join(data, "secretkey"))
	if err != nil || len(key) != 16 {
		t.Fatalf("secretkey %q, %v", key, err)
	}
	if st, _ := os.Stat(filepath.Join(data, "secretkey")); st.Mode().Perm() != 0o600 {
		t.Errorf("secretkey mode %v", st.Mode())
	}
	// A second run keeps the key: the database's credentials were encrypted with it.
	if out, err := exec.Command(filepath.Join(dir, "prepare")).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if again, _ := os.ReadFile(filepath.Join(data, "secretkey")); string(again) != string(key) {
		t.Error("prepare replaced an existing secretkey")
	}
}
