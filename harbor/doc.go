// Package harbor is what bundle knows about Harbor itself, kept apart from how bundles are built
// or applied so that one place answers "what does release X consist of, and may Y be upgraded to
// it?".
//
// The release catalog is data (catalog.yaml, embedded, plus --catalog files that add or override
// releases) rather than code, because Harbor keeps shipping patch releases and a wrong tag must
// be fixable without a new binary. It is decoded strictly and validated as a whole, so a typo in
// an override file fails loudly before anything is pulled.
//
// harbor.yml is handled as a yaml.v3 Node tree, not a struct: the administrator's comments, key
// order and unknown keys must survive every edit we make, and the migrator, not us, owns the
// schema. Because harbor.yml is read on hosts we do not control and its contents end up in logs,
// the reader refuses hostile documents (huge, deeply nested, alias bombs) and can redact secrets.
//
// What is installed is read from image tags (InstalledFromImages, InstalledFromCompose), because
// harbor.yml's _version names only the config schema of a minor line.
//
// Nothing here runs a command or touches the network: callers (builder, upgrade) do that.
package harbor
