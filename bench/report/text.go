package report

// whyBundle compares features, not figures; what the other tools are is their own documentation's
// word (Harbor's installer and upgrade guide, makeself 2.4, Zarf, Hauler). Zarf and Hauler carry
// images into Kubernetes or a registry; neither upgrades a docker-compose Harbor, so the upgrade
// rows are "no" for them by design, not as a defect.
const whyBundle = `## Why bundle

What an operator carries across the air gap and what happens on the host, against the tools they
would otherwise use:

| | bundle | Harbor offline installer + upgrade guide | makeself .run of the installer | Zarf | Hauler |
|---|---|---|---|---|---|
| one file to carry | yes: the .run (the tool is inside) | no: installer .tgz, migrator image, the guide | yes | no: package, zarf CLI, init package | no: haul, hauler CLI |
| integrity of every byte, naming the bad entry | yes, one streaming pass | the .tgz as a whole (GPG .asc) | the archive as a whole (CRC, MD5 or SHA256) | yes (package checksums) | yes (OCI digests) |
| signatures | minisign (ed25519), checked before anything runs | GPG .asc, checked by hand | GPG (--sign) | cosign | cosign |
| shared layers stored once | yes | yes (one docker save) | as the installer | yes | yes |
| split onto small media | yes (--split), each part checkable alone | no | no | yes (--max-package-size) | — |
| upgrades a docker-compose Harbor | yes | by hand, following the guide | runs a script you write | — (Kubernetes) | — (registry/content store) |
| preflight before any change (path, space, versions, ports) | yes | by reading the guide | — | — | — |
| backup of install dir, database and secrets | yes, checksummed | by hand (mv, cp -r) | — | — | — |
| automatic rollback on failure | yes | no | — | — | — |
| resume after a crash or kill -9 | yes (journal) | no | — | — | — |
| never pulls: every image checked before install.sh | yes | no: a missing image sends install.sh to Docker Hub | as the script inside | yes | yes |
| progress | bars on a terminal, lines elsewhere | docker's | extraction only | yes | yes |
| JSON output for scripts | yes (-o json) | no | no | — | — |

—: not something the tool does, or not documented by it.
`

// howItWorks is the .run layout and the upgrade steps, from DESIGN.md.
const howItWorks = `## How it works

` + "```" + `
harbor-upgrade-1.10.run
[ bundle binary (linux/amd64)                                        ]
[ payload: plain tar                                                 ]
[   installer/  install.sh, prepare, common.sh, harbor.yml, LICENSE  ]
[   images/     OCI image layout: index.json, blobs/sha256/...       ]
[               (layers zstd by default; each shared layer once)     ]
[   manifest.yaml  every entry's path, size, offset, sha256; images  ]
[ trailer: magic, payload and manifest offsets, manifest sha256,     ]
[          optional signature                                        ]
` + "```" + `

On the host the binary reads its own payload (nothing is unpacked to /tmp, nothing is executed
from it) and runs: **verify** (every byte, one pass) -> **detect** (install dir, version,
components, data volume) -> **preflight** (upgrade path, Docker and compose versions, root, free
space, ports, old images for rollback) -> **stop** (docker-compose down, never -v) -> **backup**
(install dir moved, database and secrets copied with owners and checksums) -> **load** (a
docker-archive built on the fly from the OCI layout streams into docker load: no second copy of
the images on disk) -> **migrate** (harbor.yml through the release's migrator, then checked) ->
**install** (install.sh with the same components) -> **health** (every container healthy and the
API reporting the new version). Each step is journaled before and after it runs; a failure after
the stop rolls back to the backup, and an interrupted run resumes or rolls back.
`
