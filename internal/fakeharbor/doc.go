// Package fakeharbor builds, serves and installs a fake Harbor that behaves like the real releases
// at every point bundle touches.
//
// No real Harbor image can be pulled on the machines bundle is tested on, yet every claim bundle
// makes (it builds from a registry, loads on an air-gapped host, upgrades through Harbor's own
// installer) must be checked against something that looks like Harbor to Docker, to
// docker-compose and to the upgrade guide. This package is that something:
//
//   - images with the real names and tags (package release), one static binary (cmd/harbord)
//     playing each role, built with go-containerregistry from a shared "photon" base layer, a
//     binary layer and a small per-image layer; content is generated from a seed, so the same
//     inputs give the same digests, and a size knob gives tiny releases for unit tests and ~1 GB
//     releases of mixed-compressibility content for the benchmarks;
//   - an in-process registry and an HTTP server laid out like Harbor's GitHub release downloads
//     (Start), so the builder is tested against the real protocols;
//   - online and offline installers as real .tgz files, the offline one with harbor.vX.tar.gz made
//     as Harbor makes it (one docker save of every image, gzip);
//   - a harness (Install) that installs a release on the machine's Docker engine through its own
//     install.sh, seeds data through the API and removes everything afterwards.
//
// Large content never sits in memory: layers are generated once into a content-addressed cache
// directory and served from there; the registry's blob store is that cache.
package fakeharbor
