package harbor

import (
	"fmt"
	"strings"
)

// pyYAMLTab returns the 1-based line of the first tab that Harbor's own readers of harbor.yml
// cannot take, or 0. The migrator, `prepare migrate` and `prepare` itself load harbor.yml with
// PyYAML, whose scanner accepts a tab only inside a quoted scalar, a block scalar's text or a
// comment ("found character '\t' that cannot start any token"); everywhere else, as indentation
// or as the space between a key, its value and a comment, it refuses the file. yaml.v3 accepts
// those tabs, so without this check preflight would pass a file the real code cannot read (the
// 1.10 migrator then falls back to reading it as INI and writes defaults: silently wrong).
func pyYAMLTab(text []byte) int {
	lines := strings.Split(string(text), "\n")
	block := -1    // indentation of the key that opened a block scalar (| or >); -1: none
	var quote byte // a quoted scalar that goes on to the next line
	for n, line := range lines {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if block >= 0 {
			if strings.Trim(line, " \t\r") == "" || indent > block {
				continue // the block scalar's text: tabs are content
			}
			block = -1
		}
		prev := byte(' ')
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case quote == '"' && c == '\\':
				i++ // an escaped character, possibly the quote itself
			case quote != 0:
				if c == quote {
					if quote == '\'' && i+1 < len(line) && line[i+1] == '\'' {
						i++ // '' inside single quotes
						continue
					}
					quote = 0
				}
			case c == '#' && (prev == ' ' || prev == '\t' || i == 0):
				i = len(line) // the rest is a comment
			case c == '\t':
				return n + 1
			case (c == '"' || c == '\'') && startsScalar(prev):
				quote = c
			}
			prev = c
		}
		if quote == 0 && opensBlockScalar(line) {
			block = indent
		}
	}
	return 0
}

// startsScalar: a quote after one of these begins a quoted scalar; elsewhere (it's, a"b) it is
// part of a plain one.
func startsScalar(prev byte) bool { return strings.IndexByte(" :-[{,", prev) >= 0 }

// opensBlockScalar: the line ends (before any comment) in a block scalar indicator, `key: |`,
// `- >-`, `key: |2`.
func opensBlockScalar(line string) bool {
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimRight(line, " \r")
	j := strings.LastIndexAny(line, "|>")
	if j < 0 || (j > 0 && line[j-1] != ' ') {
		return false
	}
	return strings.Trim(line[j+1:], "+-0123456789") == ""
}

func tabProblem(line int) string {
	return fmt.Sprintf("harbor.yml line %d: a tab outside quotes or comments, which Harbor's YAML reader (PyYAML) refuses; replace it with spaces", line)
}
