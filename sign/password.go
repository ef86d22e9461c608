package sign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

const maxPasswordLen = 1024 // PASSWORDMAXBYTES in minisign

// PasswordPrompt returns a password function for ReadSecretKey that asks on a terminal without
// echo, writing prompt to out, or, when in is not a terminal, reads one line from in (as
// minisign does, so `echo PASSWORD | bundle build --sign-key KEY` works in scripts). It is
// called only for encrypted keys.
func PasswordPrompt(in *os.File, out io.Writer, prompt string) func() ([]byte, error) {
	return func() ([]byte, error) {
		if term.IsTerminal(int(in.Fd())) {
			fmt.Fprint(out, prompt)
			pw, err := term.ReadPassword(int(in.Fd()))
			fmt.Fprintln(out)
			return pw, err
		}
		return readPasswordLine(in)
	}
}

// readPasswordLine reads up to the first newline one byte at a time, so nothing after the
// password is consumed from a shared stdin.
func readPasswordLine(r io.Reader) ([]byte, error) {
	var pw []byte
	b := make([]byte, 1)
	for len(pw) <= maxPasswordLen {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return bytes.TrimSuffix(pw, []byte("\r")), nil
			}
			pw = append(pw, b[0])
		}
		if errors.Is(err, io.EOF) {
			if len(pw) == 0 {
				return nil, errors.New("no password given on standard input")
			}
			return bytes.TrimSuffix(pw, []byte("\r")), nil
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("password longer than %d bytes", maxPasswordLen)
}
