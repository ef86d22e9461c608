package roles

import (
	"fmt"
	"sort"
	"strings"
)

// click's side of `main.py migrate`: option parsing, usage errors (exit 2, on stderr) and the
// help text, as click 8 prints them.

// parseMigrateOpts is click's parsing of `migrate`'s options; done when it already ended the
// run (usage error, --help).
func parseMigrateOpts(env *Env, args []string) (o migrateOpts, code int, done bool) {
	o.target = env.ConfigVersion() // the real default is that release's own 2.N.0
	usage := func(msg string) (migrateOpts, int, bool) {
		fmt.Fprintf(env.Stderr, "Usage: main.py migrate [OPTIONS]\nTry 'main.py migrate --help' for help.\n\nError: %s\n", msg)
		return o, exitUsage, true
	}
	names := map[string]string{"-i": "input", "--input": "input", "-o": "output", "--output": "output", "-t": "target", "--target": "target"}
	var extra []string
	help := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			extra = append(extra, args[i+1:]...)
			break
		}
		if a == "--help" {
			help = true
			continue
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			extra = append(extra, a)
			continue
		}
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			name, val, hasVal = strings.Cut(a, "=")
		} else if len(a) > 2 {
			name, val, hasVal = a[:2], a[2:], true
		}
		field, ok := names[name]
		if !ok {
			return usage("No such option: " + name + clickSuggest(name))
		}
		if !hasVal {
			if i+1 >= len(args) { // click raises this one without a context: no usage lines
				fmt.Fprintf(env.Stderr, "Error: Option '%s' requires an argument.\n", name)
				return o, exitUsage, true
			}
			i++
			val = args[i]
		}
		switch field {
		case "input":
			o.input, o.hasInput = val, true
		case "output":
			o.output = val
		case "target":
			o.target = val
		}
	}
	// click parses everything first, then runs the eager --help, then checks required options,
	// then extra arguments.
	if help {
		if releaseAtLeast(env.Version(), migrateLongHelpFrom) {
			fmt.Fprint(env.Stdout, migrateHelpLong)
		} else {
			fmt.Fprint(env.Stdout, migrateHelp)
		}
		return o, exitOK, true
	}
	if !o.hasInput {
		return usage("Missing option '-i' / '--input'.")
	}
	if len(extra) > 0 {
		plural := ""
		if len(extra) > 1 {
			plural = "s"
		}
		return usage(fmt.Sprintf("Got unexpected extra argument%s (%s)", plural, strings.Join(extra, " ")))
	}
	return o, 0, false
}

// migrateLongHelpFrom is the first release whose migrate() docstring (click's help text)
// documents its parameters.
const migrateLongHelpFrom = "2.1.0"

const migrateHelpLong = `Usage: main.py migrate [OPTIONS]

  migrate command will migrate config file style to specific version :input_:
  is the path of the original config file :output: is the destination path of
  config file, the generated configs will storage in it :target: is the the
  target version of config file will upgrade to

Options:
  -i, --input TEXT   The path of original config file  [required]
  -o, --output TEXT  the path of output config file
  -t, --target TEXT  target version of input path
  --help             Show this message and exit.
`

const migrateHelp = `Usage: main.py migrate [OPTIONS]

  migrate command will migrate config file style to specific version

Options:
  -i, --input TEXT   The path of original config file  [required]
  -o, --output TEXT  the path of output config file
  -t, --target TEXT  target version of input path
  --help             Show this message and exit.
`

// migrateLongOpts are the long options click suggests from for a mistyped one.
var migrateLongOpts = []string{"--input", "--output", "--target", "--help"}

// clickSuggest is click's NoSuchOption suggestion for a mistyped long option of `migrate`.
func clickSuggest(opt string) string {
	if !strings.HasPrefix(opt, "--") {
		return ""
	}
	return clickPossibilities(clickCloseMatches(opt, migrateLongOpts))
}

// clickCloseMatches is difflib.get_close_matches(word, possibilities) as click calls it: at
// most 3, ratio >= 0.6, best first (heapq.nlargest over (score, candidate): a tie goes to the
// larger candidate). The ratio is SequenceMatcher(a=candidate, b=word): not symmetric, so the
// candidate comes first, as difflib sets it (set_seq2(word), set_seq1(x)).
func clickCloseMatches(word string, possibilities []string) []string {
	type scored struct {
		s float64
		o string
	}
	var close []scored
	for _, o := range possibilities {
		if r := seqRatio(o, word); r >= 0.6 {
			close = append(close, scored{r, o})
		}
	}
	sort.Slice(close, func(i, j int) bool {
		if close[i].s != close[j].s {
			return close[i].s > close[j].s
		}
		return close[i].o > close[j].o
	})
	names := make([]string, 0, min(len(close), 3))
	for _, c := range close[:min(len(close), 3)] {
		names = append(names, c.o)
	}
	return names
}

// clickPossibilities is how click 8.1's NoSuchOption words the close matches: none, one as
// " Did you mean X?", more as " (Possible options: ...)" sorted.
func clickPossibilities(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return " Did you mean " + names[0] + "?"
	}
	sort.Strings(names)
	return " (Possible options: " + strings.Join(names, ", ") + ")"
}

// seqRatio is difflib.SequenceMatcher(None, a, b).ratio() for short strings (no junk, no
// autojunk): 2*M/T, M the characters of the matching blocks found by recursive longest match.
func seqRatio(a, b string) float64 {
	if len(a)+len(b) == 0 {
		return 1
	}
	var matched func(alo, ahi, blo, bhi int) int
	matched = func(alo, ahi, blo, bhi int) int {
		besti, bestj, best := alo, blo, 0
		j2len := map[int]int{}
		for i := alo; i < ahi; i++ {
			next := map[int]int{}
			for j := blo; j < bhi; j++ {
				if a[i] != b[j] {
					continue
				}
				k := j2len[j-1] + 1
				next[j] = k
				if k > best {
					besti, bestj, best = i-k+1, j-k+1, k
				}
			}
			j2len = next
		}
		if best == 0 {
			return 0
		}
		return best + matched(alo, besti, blo, bestj) + matched(besti+best, ahi, bestj+best, bhi)
	}
	return 2 * float64(matched(0, len(a), 0, len(b))) / float64(len(a)+len(b))
}
