package harbor

import "testing"

func TestTmpLoad(t *testing.T) {
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Releases() {
		t.Log(r.Version, r.Components(), r.Migration, len(r.Images), r.UpgradeFrom)
	}
}
