package sign

import (
	"fmt"

	"golang.org/x/crypto/scrypt"
)

// Bounds on the scrypt work a secret key file may ask for. minisign uses N=2^20, r=8, p=1
// (1 GiB, a few seconds); a hostile or damaged file must not make us allocate or spin far more.
const (
	maxScryptLogN = 20
	maxScryptP    = 16
)

// scryptParams maps libsodium's crypto_pwhash_scryptsalsa208sha256 limits to scrypt's N, r and
// p exactly as libsodium does (pickparams), since minisign stores the limits, not N, r, p.
func scryptParams(opslimit, memlimit uint64) (logN uint, r, p int) {
	if opslimit < 32768 {
		opslimit = 32768
	}
	const rr = 8
	r = rr
	var maxN uint64
	if opslimit < memlimit/32 {
		p = 1
		maxN = opslimit / (rr * 4)
	} else {
		maxN = memlimit / (rr * 128)
	}
	for logN = 1; logN < 63; logN++ {
		if uint64(1)<<logN > maxN/2 {
			break
		}
	}
	if opslimit >= memlimit/32 {
		maxrp := (opslimit / 4) / (uint64(1) << logN)
		if maxrp > 0x3fffffff {
			maxrp = 0x3fffffff
		}
		p = int(uint32(maxrp) / rr)
	}
	return logN, r, p
}

// decryptSecret XORs the key ID, secret key and checksum with the scrypt stream derived from
// the password, in place. The caller checks the checksum to tell a wrong password.
func decryptSecret(raw []byte, password func() ([]byte, error)) error {
	if password == nil {
		return fmt.Errorf("%w: give its password, or use a key made with `minisign -G -W` or `bundle keygen`", ErrPasswordRequired)
	}
	logN, r, p := scryptParams(le64(raw[offOpsLimit:]), le64(raw[offMemLimit:]))
	if logN > maxScryptLogN || p < 1 || p > maxScryptP {
		return malformedf("secret key: its key derivation asks for scrypt N=2^%d r=%d p=%d, more than the N=2^%d p=%d we allow; re-encrypt it with `minisign -C`",
			logN, r, p, maxScryptLogN, maxScryptP)
	}
	pw, err := password()
	if err != nil {
		return fmt.Errorf("reading the secret key's password: %w", err)
	}
	defer clear(pw)
	stream, err := scrypt.Key(pw, raw[offSalt:offSalt+saltLen], 1<<logN, r, p, keynumSKLen)
	if err != nil {
		return fmt.Errorf("deriving the secret key's decryption key: %w", err)
	}
	defer clear(stream)
	for i, b := range stream {
		raw[offKeynumSK+i] ^= b
	}
	return nil
}
