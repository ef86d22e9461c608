// Package selfextract is the container format of a .run file: a stub executable, then a payload,
// then a fixed-size trailer at the very end of the file.
//
//	[ stub: the bundle binary for the target platform ]
//	[ payload: a plain tar (package payload)          ]
//	[ trailer: TrailerSize bytes                       ]
//
// The trailer sits at EOF so that the stub can find its payload without knowing its own length,
// and so that appending is all a build needs: the stub stays a valid ELF file that the kernel runs
// as usual. At run time the binary opens itself (os.Executable, symlinks resolved) and reads the
// payload through an io.SectionReader: no temporary copy, nothing executed from /tmp, no external
// tar, gzip or dd.
//
// The trailer is small, so it carries its own checksum: any flipped byte in it is reported as a
// corrupt trailer rather than as a confusing error further on. It carries the manifest's location
// and sha256; nothing else in the payload is trusted until that hash checks out (package payload
// checks every other entry against the manifest).
//
// Every length is a u64: bundles past 4 GiB work, and no go:embed is involved.
package selfextract
