package sign

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// Line prefixes and limits of minisign's text files. minisign reads comment lines with fgets
// into buffers of COMMENTMAXBYTES (1024) and TRUSTEDCOMMENTMAXBYTES (8192) bytes, so a line
// with its newline must fit in one byte less, or minisign would read it as two lines: we
// refuse such lines instead.
const (
	untrustedPrefix = "untrusted comment: "
	trustedPrefix   = "trusted comment: "

	maxUntrustedComment     = 1024 - 2 - len(untrustedPrefix)
	maxTrustedCommentParsed = 8192 - 2 - len(trustedPrefix)
	maxFileSize             = 16 << 10
)

// Algorithm identifiers (two ASCII bytes at the start of every binary structure).
const (
	algLegacy    = "Ed" // ed25519 over the message itself; also the algorithm of every key
	algPrehashed = "ED" // ed25519 over BLAKE2b-512 of the message
	kdfScrypt    = "Sc"
	kdfNone      = "\x00\x00"
	chkBLAKE2b   = "B2"
)

// KeyID identifies a key pair; signatures carry it so a verifier can tell "wrong key" from
// "damaged file".
type KeyID [8]byte

// String formats the ID as minisign prints it: the 8 bytes as a little-endian uint64 in
// upper-case hex without leading zeros (minisign's "%" PRIX64), so one ID in 16 is 15 digits.
func (id KeyID) String() string {
	return fmt.Sprintf("%X", binary.LittleEndian.Uint64(id[:]))
}

// splitLines splits a minisign text file into lines, dropping trailing line breaks and the \r
// of CRLF line ends (minisign trims both, and ignores what follows its last line).
func splitLines(data []byte, what string) ([]string, error) {
	if len(data) > maxFileSize {
		return nil, malformedf("%s: %d bytes is far larger than any %s file", what, len(data), what)
	}
	text := strings.TrimRight(string(data), "\r\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines, nil
}

// untrustedComment returns the comment of an "untrusted comment: " line.
func untrustedComment(line, what string) (string, error) {
	c, ok := strings.CutPrefix(line, untrustedPrefix)
	if !ok {
		return "", malformedf("%s: the first line must start with %q", what, untrustedPrefix)
	}
	if len(c) > maxUntrustedComment {
		return "", malformedf("%s: untrusted comment longer than %d bytes", what, maxUntrustedComment)
	}
	if err := checkCommentChars(c); err != nil {
		return "", malformedf("%s: untrusted comment %v", what, err)
	}
	return c, nil
}

// checkCommentChars refuses bytes that would change the line structure of the file.
func checkCommentChars(c string) error {
	if strings.ContainsAny(c, "\r\n\x00") {
		return fmt.Errorf("contains a line break or NUL byte")
	}
	return nil
}

// decodeFixed decodes one base64 line that must hold exactly n bytes. It insists on the
// canonical encoding, so that every accepted file re-encodes to the same text.
func decodeFixed(line string, n int, what string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(line)
	if err != nil || len(b) != n || base64.StdEncoding.EncodeToString(b) != line {
		return nil, malformedf("%s: expected a base64 line holding %d bytes", what, n)
	}
	return b, nil
}

// writeComment writes an untrusted or trusted comment line, replacing line breaks so the file
// keeps its structure whatever the caller put in the comment. It works on bytes: a trusted
// comment is signed byte for byte, so it must not be re-encoded.
func writeComment(buf *bytes.Buffer, prefix, comment string) {
	buf.WriteString(prefix)
	for i := 0; i < len(comment); i++ {
		c := comment[i]
		if c == '\r' || c == '\n' || c == 0 {
			c = ' '
		}
		buf.WriteByte(c)
	}
	buf.WriteByte('\n')
}

func writeBase64(buf *bytes.Buffer, b []byte) {
	buf.WriteString(base64.StdEncoding.EncodeToString(b))
	buf.WriteByte('\n')
}
