// Package scandb knows what Trivy's vulnerability databases are as published and as installed:
// the OCI artifacts Trivy pulls (ghcr.io/aquasecurity/trivy-db:2 and trivy-java-db:1, one layer
// each, a gzip tar of the DB file and metadata.json), and where Harbor's trivy-adapter reads them
// (its cache dir, data_volume/trivy-adapter/trivy on the host, mounted at
// /home/scanner/.cache/trivy: db/trivy.db + db/metadata.json, java-db/trivy-java.db +
// java-db/metadata.json).
//
// Why a layer is checked this strictly (exactly the kind's files, regular files, bounded sizes,
// the kind's schema version): the host unpacks it as root into a directory a container runs
// from, and an air-gapped Trivy started with skip_update has no way to fetch a good DB if the
// carried one is wrong. Everything Trivy itself would refuse, or that could write outside the
// DB's directory, is refused here, on the connected side at build time and again on the host.
//
// Facts and where they come from (reference only):
//   - media types: trivy pkg/db (dbMediaType) and pkg/javadb (mediaType); trivy-db and
//     trivy-java-db publish with `oras push ... db.tar.gz:<media type>` (.github/workflows/cron.yml).
//   - tar members: `tar cvzf ... -C <dir> trivy.db metadata.json` (trivy-db / trivy-java-db
//     Makefiles, db-compress), so plain names, no directory entry.
//   - schema versions: trivy-db's db.SchemaVersion (2) and trivy-java-db's (1) are the tags.
//   - metadata.json: trivy-db pkg/metadata.Metadata {Version, NextUpdate, UpdatedAt,
//     DownloadedAt} written by encoding/json (RFC 3339 times).
//   - owner: goharbor/harbor make/photon/trivy-adapter/Dockerfile.base creates user scanner with
//     uid and gid 10000; prepare (utils/trivy_adapter.py) makes data_volume/trivy-adapter/trivy
//     owned by 10000:10000.
//   - modes: Trivy extracts the layer with the modes the tar holds (0644 files as published) and
//     rewrites metadata.json with os.Create (0644 under umask 022); directories 0755.
package scandb
