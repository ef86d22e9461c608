// Package sign reads and writes ed25519 keys and signatures in minisign's formats.
//
// A .run crosses an air gap and is then run as root, so it has to prove where it came from.
// We sign in minisign's formats rather than our own so that an independent, widely installed
// tool can check our work and so that operators can keep using the keys they already have:
// keys made by `minisign -G` (with or without a password) sign bundles, keys made by
// `bundle keygen` work with minisign, and `minisign -Vm NAME.run -p KEY.pub` verifies our
// detached NAME.run.minisig.
//
// Formats (https://jedisct1.github.io/minisign/), all binary fields base64 on one line under an
// "untrusted comment: " line:
//
//	public key  "Ed" | key ID[8] | ed25519 public key[32]
//	secret key  "Ed" | kdf ("Sc" scrypt, or 0x0000 unencrypted) | "B2" | salt[32] |
//	            opslimit u64le | memlimit u64le | key ID[8] | secret key[64] | BLAKE2b-256 checksum[32]
//	            (the last three XORed with a scrypt stream when encrypted)
//	signature   "ED" (prehashed) or "Ed" (legacy) | key ID[8] | ed25519 signature[64],
//	            then "trusted comment: ..." and a global signature over signature || trusted comment.
//
// We always sign prehashed ("ED": ed25519 over the BLAKE2b-512 of the content), the default of
// current minisign, because it streams: a multi-gigabyte bundle is hashed in one pass with
// bounded memory, and NewPrehash lets a caller compute that hash in the same pass as its own
// sha256. Legacy signatures are verified too, but only over content small enough to hold in
// memory, because ed25519 over the raw message cannot stream.
//
// The trusted comment is signed (through the global signature), the untrusted one is not: we
// never base a decision on the untrusted comment.
package sign
