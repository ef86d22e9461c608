package roles

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The registry's storage: data_volume/registry mounted at /storage, laid out as distribution's
// filesystem driver lays it out.
const (
	registryStorage = "/storage"
	blobsDir        = "/docker/registry/v2/blobs/sha256"
	reposDir        = "/docker/registry/v2/repositories"
)

var (
	blobDigest = regexp.MustCompile(`^sha256:([a-f0-9]{64})$`)
	repoName   = regexp.MustCompile(`^[a-z0-9]+(?:[._/-][a-z0-9]+)*$`)
)

// runRegistry is registry-photon reduced to a blob store:
//
//	GET /v2/                         {}
//	PUT /v2/NAME/blobs/sha256:HEX    stores the body (digest checked), 201
//	GET /v2/NAME/blobs/sha256:HEX    the blob
func runRegistry(env *Env, _ []string) int {
	root := env.Path(registryStorage)
	writeErr := probeWrite(root)
	if writeErr != nil {
		env.logf("registry", "%v", writeErr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if writeErr != nil {
			http.Error(w, writeErr.Error(), http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		serveBlob(root, w, r)
	})
	return serve(env, "registry", env.listenAddr(5000), mux)
}

func serveBlob(root string, w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v2/")
	if path == "" {
		reply(w, struct{}{}, nil)
		return
	}
	i := strings.LastIndex(path, "/blobs/")
	if i < 0 {
		http.Error(w, `{"errors":[{"code":"UNSUPPORTED"}]}`, http.StatusNotFound)
		return
	}
	name, m := path[:i], blobDigest.FindStringSubmatch(path[i+len("/blobs/"):])
	if m == nil || !repoName.MatchString(name) {
		http.Error(w, `{"errors":[{"code":"DIGEST_INVALID"}]}`, http.StatusBadRequest)
		return
	}
	hexDigest := m[1]
	data := filepath.Join(root, blobsDir, hexDigest[:2], hexDigest, "data")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		http.ServeFile(w, r, data)
	case http.MethodPut:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != hexDigest {
			http.Error(w, `{"errors":[{"code":"DIGEST_INVALID"}]}`, http.StatusBadRequest)
			return
		}
		link := filepath.Join(root, reposDir, name, "_layers/sha256", hexDigest, "link")
		for _, f := range []struct {
			path string
			data []byte
		}{{data, body}, {link, []byte("sha256:" + hexDigest)}} {
			if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if err := writeAtomic(f.path, f.data, 0o644); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Docker-Content-Digest", "sha256:"+hexDigest)
		w.WriteHeader(http.StatusCreated)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// walkBlobs counts the blobs under a registry's blobs directory and their total size.
func walkBlobs(dir string) (count int, size int64) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "data" {
			if fi, err := d.Info(); err == nil {
				count++
				size += fi.Size()
			}
		}
		return nil
	})
	return count, size
}
