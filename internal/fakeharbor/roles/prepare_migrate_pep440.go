package roles

import (
	"math/big"
	"regexp"
	"strings"
)

// pep440 is packaging.version.Version (packaging 22+, as Debian's python3-packaging 23 here:
// a string that is not a PEP 440 version raises InvalidVersion instead of becoming a
// LegacyVersion). The real `prepare migrate` compares the input's _version with 1.9.0 by it.
type pep440 struct {
	epoch   *big.Int
	release []*big.Int // trailing zeros dropped, as packaging's _cmpkey does
	pre     *pepPart   // nil: none
	post    *big.Int   // nil: none
	dev     *big.Int   // nil: none
	local   []string   // nil: none
}

type pepPart struct {
	letter string // a, b, rc
	n      *big.Int
}

var pep440Re = regexp.MustCompile(`(?i)^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)` +
	`(?:[-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?(\d+)?)?` +
	`(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?` +
	`(?:[-_.]?(dev)[-_.]?(\d+)?)?` +
	`(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`)

func bigOr0(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return new(big.Int)
	}
	return n
}

// parsePEP440 is packaging.version.parse; ok false where it raises InvalidVersion.
func parsePEP440(s string) (pep440, bool) {
	m := pep440Re.FindStringSubmatch(s)
	if m == nil {
		return pep440{}, false
	}
	v := pep440{epoch: bigOr0(m[1])}
	for _, p := range strings.Split(m[2], ".") {
		v.release = append(v.release, bigOr0(p))
	}
	for len(v.release) > 0 && v.release[len(v.release)-1].Sign() == 0 {
		v.release = v.release[:len(v.release)-1]
	}
	if m[3] != "" {
		l := strings.ToLower(m[3])
		switch l {
		case "alpha":
			l = "a"
		case "beta":
			l = "b"
		case "c", "pre", "preview":
			l = "rc"
		}
		v.pre = &pepPart{l, bigOr0(m[4])}
	}
	switch {
	case m[5] != "":
		v.post = bigOr0(m[5])
	case m[6] != "":
		v.post = bigOr0(m[7])
	}
	if m[8] != "" {
		v.dev = bigOr0(m[9])
	}
	if m[10] != "" {
		v.local = strings.FieldsFunc(strings.ToLower(m[10]), func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	}
	return v, true
}

// less is Version.__lt__ (packaging's _cmpkey order).
func (a pep440) less(b pep440) bool { return a.cmp(b) < 0 }

func (a pep440) cmp(b pep440) int {
	if c := a.epoch.Cmp(b.epoch); c != 0 {
		return c
	}
	for i := 0; i < len(a.release) || i < len(b.release); i++ {
		switch {
		case i >= len(a.release):
			return -1
		case i >= len(b.release):
			return 1
		}
		if c := a.release[i].Cmp(b.release[i]); c != 0 {
			return c
		}
	}
	if c := cmpInf(a.preKey(), b.preKey()); c != 0 {
		return c
	}
	if c := cmpInf(optKey(a.post, -1), optKey(b.post, -1)); c != 0 {
		return c
	}
	if c := cmpInf(optKey(a.dev, 1), optKey(b.dev, 1)); c != 0 {
		return c
	}
	return cmpLocal(a.local, b.local)
}

// infKey is a value that may be -Infinity (inf -1) or +Infinity (inf 1), else (letter, n).
type infKey struct {
	inf    int
	letter string
	n      *big.Int
}

func (a pep440) preKey() infKey {
	switch {
	case a.pre == nil && a.post == nil && a.dev != nil:
		return infKey{inf: -1} // 1.0.dev0 sorts before 1.0a0
	case a.pre == nil:
		return infKey{inf: 1}
	}
	return infKey{letter: a.pre.letter, n: a.pre.n}
}

func optKey(n *big.Int, missing int) infKey {
	if n == nil {
		return infKey{inf: missing}
	}
	return infKey{n: n}
}

func cmpInf(a, b infKey) int {
	if a.inf != 0 || b.inf != 0 {
		switch {
		case a.inf == b.inf:
			return 0
		case a.inf < b.inf:
			return -1
		}
		return 1
	}
	if a.letter != b.letter {
		if a.letter < b.letter { // a < b < rc
			return -1
		}
		return 1
	}
	return a.n.Cmp(b.n)
}

// cmpLocal: no local sorts first; segments compare numbers above strings.
func cmpLocal(a, b []string) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		an, aNum := new(big.Int).SetString(a[i], 10)
		bn, bNum := new(big.Int).SetString(b[i], 10)
		switch {
		case aNum && bNum:
			if c := an.Cmp(bn); c != 0 {
				return c
			}
		case aNum:
			return 1
		case bNum:
			return -1
		case a[i] != b[i]:
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}
