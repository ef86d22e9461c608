package roles

import (
	"fmt"
	"strings"
)

// pyTabError finds a tab where PyYAML's scanner refuses one: anywhere but inside a quoted
// scalar, the content of a block scalar (| or >) or a comment ("found character '\t' that
// cannot start any token"). yaml.v3 accepts tabs as separating white space, so without this the
// fake would load files (and its own rendered intermediate files) that the real migrator cannot.
func pyTabError(text string) error {
	lines := strings.Split(text, "\n")
	blockParent := -1 // indentation of the line that opened a block scalar; -1: none
	var quote byte    // the quote of a scalar continuing onto the next line
	for n, line := range lines {
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if blockParent >= 0 {
			if strings.TrimSpace(line) == "" || indent > blockParent {
				continue
			}
			blockParent = -1
		}
		prev := byte(' ') // the last character that is not a space
		for i := 0; i < len(line); i++ {
			c := line[i]
			if quote != 0 {
				switch {
				case quote == '"' && c == '\\':
					i++
				case quote == '\'' && c == '\'' && i+1 < len(line) && line[i+1] == '\'':
					i++
				case c == quote:
					quote, prev = 0, c
				}
				continue
			}
			switch {
			case c == '\t':
				return fmt.Errorf("while scanning for the next token found character '\\t' that cannot start any token (line %d, column %d)", n+1, i+1)
			case c == '#' && (i == 0 || line[i-1] == ' '):
				i = len(line)
				continue
			case (c == '"' || c == '\'') && strings.IndexByte(" :,[{-?", prev) >= 0 && (i == 0 || line[i-1] == ' ' || strings.IndexByte("[{,", line[i-1]) >= 0):
				quote = c
				continue
			case (c == '|' || c == '>') && (prev == ':' || prev == '-' || prev == ' ' && i == indent) && (i == 0 || line[i-1] == ' '):
				rest := strings.TrimLeft(line[i+1:], "+-0123456789")
				if r := strings.TrimLeft(rest, " "); r == "" || r[0] == '#' {
					blockParent = indent
					i = len(line)
					continue
				}
			}
			if c != ' ' {
				prev = c
			}
		}
	}
	return nil
}
