// Package payload is the format of what a .run file carries: a plain tar holding the Harbor
// installer files, the images as a standard OCI image layout, and manifest.yaml, last.
//
// Why a plain tar of individually compressed blobs: the host must be able to check every byte in
// one sequential pass (Verify), read any blob by offset without unpacking anything (OpenEntry,
// Image, DockerArchive), and `extract DIR` must give a layout that crane and skopeo read. Outer
// compression would forbid the random access; a custom container would forbid the tools.
//
// Layout compatibility: with zstd (the default) or WriterOptions.OCIManifests every image
// manifest is OCI, and skopeo 1.9 (`oci:DIR:REF`) and crane both read an extracted layout. With
// plain keep, Docker schema 2 manifests are kept byte for byte (same manifest digests as the
// registry's): crane reads them, skopeo 1.9 does not find them in an OCI index.
//
// Why manifest.yaml is last: the writer streams, and only at the end does it know every entry's
// offset, size and sha256. The trailer written by selfextract points at the manifest's data and
// carries its sha256, so the manifest is the one root of trust: nothing else in the payload is
// used before the manifest's hash checks out, and every other entry is then checked against the
// manifest (path, offset, size, mode, sha256). Offsets are relative to the payload's first byte
// and always int64, so payloads beyond 4 GiB (and entries beyond 8 GiB, via PAX headers) work.
//
// Why the manifest also records each layer's uncompressed size: `docker load` reads a tar, whose
// headers need sizes up front, and zstd layers must be decompressed on the way in (docker 17.06
// does not read zstd). Knowing the sizes lets DockerArchive stream without a first pass.
//
// Determinism: the same inputs and build time give the same bytes (uid/gid 0, empty user and
// group names, every ModTime = build time, PAX only where needed, index and images sorted by
// reference). zstd output is deterministic for a given level: the encoder does not split the
// stream across goroutines.
package payload
