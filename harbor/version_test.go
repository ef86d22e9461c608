package harbor

import "testing"

func TestParseVersion(t *testing.T) {
	good := map[string]Version{
		"v1.10.0":          {1, 10, 0},
		"1.10.0":           {1, 10, 0},
		"v1.10.0-f3e11715": {1, 10, 0},
		" v2.13.0 ":        {2, 13, 0},
		"v1.9.4+build":     {1, 9, 4},
	}
	for in, want := range good {
		got, err := ParseVersion(in)
		if err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "v1.10", "1.10.0.1", "vx.y.z", "1.-1.0", "01.10.0", "1..0", "v"} {
		if v, err := ParseVersion(in); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want an error", in, v)
		}
	}
}

func TestVersionOrderAndString(t *testing.T) {
	a, b := Version{1, 9, 4}, Version{1, 10, 0}
	if a.Compare(b) != -1 || b.Compare(a) != 1 || a.Compare(a) != 0 {
		t.Fatal("1.9.4 must sort before 1.10.0 (numeric, not lexical)")
	}
	if b.String() != "v1.10.0" || b.Line() != "1.10" {
		t.Fatalf("got %s / %s", b.String(), b.Line())
	}
}

func TestPatterns(t *testing.T) {
	p, err := parsePattern("1.9.x")
	if err != nil || !p.matches(Version{1, 9, 4}) || p.matches(Version{1, 10, 0}) {
		t.Fatalf("1.9.x: %v %v", p, err)
	}
	p, err = parsePattern("v1.9.4")
	if err != nil || !p.matches(Version{1, 9, 4}) || p.matches(Version{1, 9, 3}) {
		t.Fatalf("v1.9.4: %v %v", p, err)
	}
	for _, bad := range []string{"1.x", "1.9.*", "1.9.4-rc1", "", "x"} {
		if _, err := parsePattern(bad); err == nil {
			t.Errorf("parsePattern(%q) accepted", bad)
		}
	}
}
