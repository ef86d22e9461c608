// Package builder makes a Harbor upgrade bundle on a connected machine: it resolves a release in
// the catalog, fetches the installer and every image the release needs, and writes them as the
// payload of a self-extracting .run file.
//
// The work is dominated by moving bytes, so the design is about moving each byte once and never
// trusting one twice without checking it:
//
//   - Before anything is written, every image manifest is resolved and the installer fetched: a
//     catalog entry the registry does not know, an unknown version or an existing output fail
//     before the output directory sees a single byte (InputError, exit status 2).
//   - Blobs land in a content-addressed cache (temp file, digest check, fsync, rename). A blob
//     shared by several images is downloaded once even when pulls run in parallel; a blob found
//     in the cache is re-hashed before it is used, because a cache directory is just files that
//     anything may have damaged. A build killed at any point resumes and fetches only what the
//     cache lacks.
//   - Recompressing layers to zstd is CPU work that runs while other blobs download, and its
//     results are cached too, keyed by the source digest and the level, so a warm rebuild does
//     no network and no compression.
//   - The payload is written image by image in a fixed order as soon as each is ready, through a
//     temp file that is renamed into place only when complete: no partial .run ever carries the
//     final name. With SOURCE_DATE_EPOCH set, the same inputs give the same bytes.
//   - Signing (Options.SignKey) rides the same pass: the trailer gets a signature of the
//     manifest's sha256, and the whole-file hash for NAME.run.minisig is fed as the file is
//     written, so a multi-gigabyte bundle is never read back to be signed.
package builder
