package roles

import (
	"fmt"
	"regexp"
	"strings"
)

// A jinja2 subset for the real 2.x migration templates (prepare/<tag>/migrations/*/harbor.yml.jinja,
// baked into the fake prepare image): this file splits a template into data, {{ }} and {% %}
// pieces with the whitespace rules the real Environment sets (trim_blocks, lstrip_blocks, no
// keep_trailing_newline), as jinja2/lexer.py does. Anything outside the subset is an error
// naming the construct, never a guess: the templates are Harbor's, so a new construct in a new
// release must fail the tests, not render differently.

// jinjaSyntaxError is a template the subset cannot read.
type jinjaSyntaxError struct {
	Line int
	Msg  string
}

func (e *jinjaSyntaxError) Error() string {
	return fmt.Sprintf("jinja2.exceptions.TemplateSyntaxError: %s (line %d)", e.Msg, e.Line)
}

type pieceKind int

const (
	pieceData  pieceKind = iota
	pieceVar             // {{ ... }}
	pieceBlock           // {% ... %}
)

// piece is one part of a template: text for data, the expression tokens for the others.
type piece struct {
	kind pieceKind
	text string
	toks []jtok
	line int
}

type jtokKind int

const (
	jtName jtokKind = iota
	jtString
	jtInt
	jtFloat
	jtOp
)

type jtok struct {
	kind jtokKind
	s    string
}

var (
	jNewline    = regexp.MustCompile(`\r\n|\r|\n`)
	jName       = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*`)
	jFloat      = regexp.MustCompile(`^\d+(_\d+)*\.\d+(_\d+)*([eE][+-]?\d+(_\d+)*)?`)
	jInt        = regexp.MustCompile(`^\d+(_\d+)*`)
	jOperators  = []string{"==", "!=", ">=", "<=", "//", "**", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"}
	jWhitespace = " \t\n\r\f\v"
)

// jinjaLex splits src into pieces. Jinja first normalizes newlines to "\n" and, without
// keep_trailing_newline, drops one trailing newline of the source.
func jinjaLex(src string) ([]piece, error) {
	lines := jNewline.Split(src, -1)
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	src = strings.Join(lines, "\n")

	var out []piece
	pos, line := 0, 1
	lineStarting := true // the previous token ended with a newline (or none yet)
	for pos < len(src) {
		rest := src[pos:]
		i := nextTagStart(rest)
		if i < 0 {
			out = append(out, piece{kind: pieceData, text: rest, line: line})
			break
		}
		text, open := rest[:i], rest[i:i+2]
		if len(rest) > i+2 && (rest[i+2] == '-' || rest[i+2] == '+') {
			return nil, &jinjaSyntaxError{line + strings.Count(text, "\n"), "whitespace control " + rest[i:i+3] + " is outside the subset"}
		}
		// lstrip_blocks: spaces before {% or {# alone on their line go (not before {{).
		if open != "{{" {
			lpos := strings.LastIndex(text, "\n") + 1
			if (lpos > 0 || lineStarting) && strings.Trim(text[lpos:], jWhitespace) == "" {
				text = text[:lpos]
			}
		}
		if text != "" {
			out = append(out, piece{kind: pieceData, text: text, line: line})
		}
		line += strings.Count(rest[:i], "\n")
		pos += i + 2
		if open == "{#" {
			end := strings.Index(src[pos:], "#}")
			if end < 0 {
				return nil, &jinjaSyntaxError{line, "missing end of comment tag"}
			}
			line += strings.Count(src[pos:pos+end], "\n")
			pos += end + 2
			lineStarting = false
			if pos < len(src) && src[pos] == '\n' { // trim_blocks
				pos++
				line++
				lineStarting = true
			}
			continue
		}
		closer := "}}"
		kind := pieceVar
		if open == "{%" {
			closer, kind = "%}", pieceBlock
		}
		toks, n, err := jinjaTokens(src[pos:], closer, line)
		if err != nil {
			return nil, err
		}
		out = append(out, piece{kind: kind, toks: toks, line: line})
		line += strings.Count(src[pos:pos+n], "\n")
		pos += n
		lineStarting = false
		if kind == pieceBlock && pos < len(src) && src[pos] == '\n' { // trim_blocks
			pos++
			line++
			lineStarting = true
		}
	}
	return out, nil
}

func nextTagStart(s string) int {
	best := -1
	for _, o := range []string{"{{", "{%", "{#"} {
		if i := strings.Index(s, o); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// jinjaTokens reads expression tokens from s up to closer; n is how much of s it used (closer
// included).
func jinjaTokens(s, closer string, line int) (toks []jtok, n int, err error) {
	pos := 0
	for {
		for pos < len(s) && strings.IndexByte(jWhitespace, s[pos]) >= 0 {
			pos++
		}
		if pos >= len(s) {
			return nil, 0, &jinjaSyntaxError{line, "unexpected end of template, expected '" + closer + "'"}
		}
		rest := s[pos:]
		if strings.HasPrefix(rest, closer) {
			return toks, pos + len(closer), nil
		}
		if strings.HasPrefix(rest, "-"+closer) {
			return nil, 0, &jinjaSyntaxError{line, "whitespace control -" + closer + " is outside the subset"}
		}
		switch c := rest[0]; {
		case c == '\'' || c == '"':
			end := strings.IndexByte(rest[1:], c)
			if end < 0 {
				return nil, 0, &jinjaSyntaxError{line, "unterminated string"}
			}
			lit := rest[1 : 1+end]
			if strings.ContainsRune(lit, '\\') {
				return nil, 0, &jinjaSyntaxError{line, "string escapes are outside the subset"}
			}
			toks = append(toks, jtok{jtString, lit})
			pos += end + 2
		case jName.MatchString(rest):
			m := jName.FindString(rest)
			toks = append(toks, jtok{jtName, m})
			pos += len(m)
		case jFloat.MatchString(rest):
			m := jFloat.FindString(rest)
			toks = append(toks, jtok{jtFloat, m})
			pos += len(m)
		case jInt.MatchString(rest):
			m := jInt.FindString(rest)
			toks = append(toks, jtok{jtInt, m})
			pos += len(m)
		default:
			found := false
			for _, op := range jOperators {
				if strings.HasPrefix(rest, op) {
					toks = append(toks, jtok{jtOp, op})
					pos += len(op)
					found = true
					break
				}
			}
			if !found {
				return nil, 0, &jinjaSyntaxError{line, fmt.Sprintf("unexpected char %q", c)}
			}
		}
	}
}
