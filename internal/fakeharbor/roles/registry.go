package roles

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// runRegistry is registry-photon reduced to a blob and manifest store:
//
//	GET /v2/                         {}
//	PUT /v2/NAME/blobs/sha256:HEX    stores the body (digest checked), 201
//	GET /v2/NAME/blobs/sha256:HEX    the blob
//	PUT /v2/NAME/manifests/REF       stores the manifest (a blob) under its digest and tag, 201
//	GET /v2/NAME/manifests/REF       the manifest, by tag or digest
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
	if i := strings.LastIndex(path, "/manifests/"); i >= 0 {
		serveManifest(root, path[:i], path[i+len("/manifests/"):], w, r)
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
		if !storeFiles(w, []storedFile{{data, body}, {link, []byte("sha256:" + hexDigest)}}) {
			return
		}
		w.Header().Set("Docker-Content-Digest", "sha256:"+hexDigest)
		w.WriteHeader(http.StatusCreated)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// storedFile is one file a push writes into the storage: a blob's data or a link to it.
type storedFile struct {
	path string
	data []byte
}

// storeFiles writes each file atomically, its directory made first; on the first failure it
// answers 500 and reports false.
func storeFiles(w http.ResponseWriter, files []storedFile) bool {
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return false
		}
		if err := writeAtomic(f.path, f.data, 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return false
		}
	}
	return true
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

var tagName = regexp.MustCompile(`^[\w][\w.-]{0,127}$`)

// serveManifest keeps a manifest as distribution's filesystem driver does: the manifest is a
// blob, linked from the repository's _manifests/revisions and, pushed by tag, _manifests/tags.
func serveManifest(root, name, ref string, w http.ResponseWriter, r *http.Request) {
	if !repoName.MatchString(name) {
		http.Error(w, `{"errors":[{"code":"NAME_INVALID"}]}`, http.StatusBadRequest)
		return
	}
	manifests := filepath.Join(root, reposDir, name, "_manifests")
	byDigest := blobDigest.FindStringSubmatch(ref)
	if byDigest == nil && !tagName.MatchString(ref) {
		http.Error(w, `{"errors":[{"code":"TAG_INVALID"}]}`, http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		hexDigest := ""
		if byDigest != nil {
			if _, err := os.Stat(filepath.Join(manifests, "revisions/sha256", byDigest[1], "link")); err == nil {
				hexDigest = byDigest[1]
			}
		} else if link, err := os.ReadFile(filepath.Join(manifests, "tags", ref, "current/link")); err == nil {
			hexDigest = strings.TrimPrefix(string(link), "sha256:")
		}
		body, err := os.ReadFile(filepath.Join(root, blobsDir, hexDigest[:min(2, len(hexDigest))], hexDigest, "data"))
		if hexDigest == "" || err != nil {
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		var m struct {
			MediaType string `json:"mediaType"`
		}
		json.Unmarshal(body, &m)
		if m.MediaType != "" {
			w.Header().Set("Content-Type", m.MediaType)
		}
		w.Header().Set("Docker-Content-Digest", "sha256:"+hexDigest)
		w.Write(body)
	case http.MethodPut:
		body, err := io.ReadAll(r.Body)
		if err != nil || !json.Valid(body) {
			http.Error(w, `{"errors":[{"code":"MANIFEST_INVALID"}]}`, http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		hexDigest := hex.EncodeToString(sum[:])
		if byDigest != nil && byDigest[1] != hexDigest {
			http.Error(w, `{"errors":[{"code":"DIGEST_INVALID"}]}`, http.StatusBadRequest)
			return
		}
		files := []storedFile{
			{filepath.Join(root, blobsDir, hexDigest[:2], hexDigest, "data"), body},
			{filepath.Join(manifests, "revisions/sha256", hexDigest, "link"), []byte("sha256:" + hexDigest)},
		}
		if byDigest == nil {
			files = append(files, storedFile{filepath.Join(manifests, "tags", ref, "current/link"), []byte("sha256:" + hexDigest)})
		}
		if !storeFiles(w, files) {
			return
		}
		w.Header().Set("Docker-Content-Digest", "sha256:"+hexDigest)
		w.Header().Set("Location", "/v2/"+name+"/manifests/sha256:"+hexDigest)
		w.WriteHeader(http.StatusCreated)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
