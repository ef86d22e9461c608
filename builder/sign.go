package builder

import (
	"github.com/harborbundle/bundle/internal/atomicfile"
	"hash"
	"io"
	"path/filepath"

	"github.com/harborbundle/bundle/selfextract"
	"github.com/harborbundle/bundle/sign"
)

// signer signs a bundle twice, in the same pass that writes it: the manifest's sha256 in the
// trailer (what `bundle verify --key` and the .run check: the manifest covers every entry), and
// the whole file in NAME.run.minisig (what `minisign -Vm NAME.run -p KEY.pub` checks, with no
// bundle tool at hand). The whole-file hash is fed with the stub, the payload and the trailer
// as they are written, so signing costs no second read of a multi-gigabyte file.
type signer struct {
	key     *sign.SecretKey
	comment string
	whole   hash.Hash // BLAKE2b-512 prehash of everything written
}

// newSigner returns nil when no key is given, so callers can chain without checks.
func newSigner(key *sign.SecretKey, s *settings, output string) *signer {
	if key == nil {
		return nil
	}
	return &signer{key: key, comment: sign.DefaultTrustedComment(filepath.Base(output), s.BuildTime), whole: sign.NewPrehash()}
}

// tee makes w also feed the whole-file hash.
func (g *signer) tee(w io.Writer) io.Writer {
	if g == nil {
		return w
	}
	return io.MultiWriter(w, g.whole)
}

func (g *signer) teeReader(r io.Reader) io.Reader {
	if g == nil {
		return r
	}
	return io.TeeReader(r, g.whole)
}

// signTrailer fills t's signature over the manifest's sha256 and feeds the hash with the
// trailer exactly as Commit will write it (payload at stubLen, payloadLen bytes long).
func (g *signer) signTrailer(t *selfextract.Trailer, stubLen, payloadLen int64) error {
	if g == nil {
		return nil
	}
	sig, err := g.key.SignBytes(t.ManifestSHA256[:], g.comment)
	if err != nil {
		return err
	}
	t.Signature = sig.Marshal()
	final := *t
	final.PayloadOffset, final.PayloadLength = uint64(stubLen), uint64(payloadLen)
	b, err := final.MarshalBinary()
	if err != nil {
		return err
	}
	g.whole.Write(b)
	return nil
}

// writeDetached writes NAME.run.minisig for the whole file.
func (g *signer) writeDetached(runPath string) (string, error) {
	if g == nil {
		return "", nil
	}
	sig, err := g.key.SignPrehashed(g.whole.Sum(nil), g.comment)
	if err != nil {
		return "", err
	}
	path := runPath + ".minisig"
	return path, atomicfile.Write(path, sig.Marshal(), 0o644)
}
