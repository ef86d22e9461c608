package upgrade

import (
	"fmt"
	"slices"
	"strings"

	"github.com/harborbundle/bundle/harbor"
)

// droppedInUse lists the optional components the install uses that the target no longer has
// (the catalog's drops of every line after the installed one up to the target's).
func droppedInUse(cat *harbor.Catalog, in *Install, target *harbor.Release) ([]harbor.Drop, error) {
	if cat == nil || target == nil {
		return nil, nil
	}
	all, err := cat.Dropped(in.Version, target)
	if err != nil {
		return nil, err
	}
	var out []harbor.Drop
	for _, d := range all {
		if slices.Contains(in.Components, d.Component) {
			out = append(out, d)
		}
	}
	return out, nil
}

// dropsErr refuses an upgrade that takes away a component in use unless --drop-components
// names it, and a --drop-components that names something this upgrade does not drop (a typo
// must not pass for consent).
func dropsErr(drops []harbor.Drop, allowed []string) error {
	var missing, have []string
	for _, d := range drops {
		have = append(have, d.Component)
		if !slices.Contains(allowed, d.Component) {
			missing = append(missing, d.Component)
		}
	}
	var extra []string
	for _, a := range allowed {
		if !slices.Contains(have, a) {
			extra = append(extra, a)
		}
	}
	switch {
	case len(missing) > 0:
		var lost []string
		for _, d := range drops {
			if slices.Contains(missing, d.Component) {
				lost = append(lost, d.Component+": "+d.Lost)
			}
		}
		return fmt.Errorf("the new release no longer has %s, which this install uses (%s); to go ahead and lose it, run again with --drop-components %s",
			strings.Join(missing, ", "), strings.Join(lost, "; "), strings.Join(have, ","))
	case len(extra) > 0:
		return fmt.Errorf("--drop-components names %s, which this upgrade does not drop (it drops %s)", strings.Join(extra, ", "), orNone(have))
	}
	return nil
}

func dropsText(drops []harbor.Drop) string {
	if len(drops) == 0 {
		return "none of the components in use is dropped"
	}
	var parts []string
	for _, d := range drops {
		parts = append(parts, d.Component+" (--drop-components: "+d.Lost+")")
	}
	return "dropped with consent: " + strings.Join(parts, "; ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "nothing"
	}
	return strings.Join(s, ", ")
}
