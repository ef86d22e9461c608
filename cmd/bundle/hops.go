package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/harborbundle/bundle/harbor"
	"github.com/harborbundle/bundle/payload"
)

// Output of multi-hop bundles and chains: build's summary, inspect and releases --path.

// printHops adds the hops of a multi-hop build to its summary (nothing for a one-hop bundle).
func printHops(tw *tabwriter.Writer, hops []payload.Hop, chains []payload.Chain) {
	if len(hops) == 0 {
		return
	}
	var vs []string
	for _, h := range hops {
		vs = append(vs, h.Version)
	}
	fmt.Fprintf(tw, "Hops:\t%d: %s\n", len(hops), strings.Join(vs, " -> "))
	for _, ch := range chains {
		fmt.Fprintf(tw, "  from %s:\t%s\n", ch.From, strings.Join(ch.Hops, " -> "))
	}
}

// printBundleHops writes the hops of a multi-hop bundle for inspect: what each brings.
func printBundleHops(w io.Writer, m *payload.Manifest) {
	if len(m.Hops) == 0 {
		return
	}
	total := 0
	for _, h := range m.Hops {
		total += h.EstimateSeconds
	}
	fmt.Fprintf(w, "\nHops (%d, about %s on the host in all; Harbor starts at every hop):\n", len(m.Hops), time.Duration(total)*time.Second)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  HOP\tVERSION\tENTERED FROM\tMIGRATION\tPOSTGRESQL\tCOMPONENTS\tIMAGES\tESTIMATE\n")
	for i, h := range m.Hops {
		mig := h.Migration.Method
		if !h.MigratesConfig {
			mig += " (no change)"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", i+1, h.Version, strings.Join(h.FromVersions, ", "), mig,
			orDash(h.Postgres), strings.Join(h.Components, ", "), len(h.Images), time.Duration(h.EstimateSeconds)*time.Second)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nChains:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, ch := range m.Chains {
		fmt.Fprintf(tw, "  from %s:\t%s\n", ch.From, strings.Join(ch.Hops, " -> "))
	}
	tw.Flush()
}

// pathView is `bundle releases --path -o json`.
type pathView struct {
	Target string      `json:"target"`
	Chains []chainView `json:"chains"`
	Hops   []hopView   `json:"hops"`
}

type chainView struct {
	From string   `json:"from"`
	Hops []string `json:"hops"`
}

type hopView struct {
	Version        string   `json:"version"`
	EnteredFrom    []string `json:"entered_from"`
	Migration      string   `json:"migration"`
	MigratesConfig bool     `json:"migrates_config"`
	Postgres       string   `json:"postgres"`
	Components     []string `json:"components"`
	Drops          []string `json:"drops"`
}

// runPath is `bundle releases --path FROM TO`: the chain, nothing built.
func runPath(w io.Writer, cat *harbor.Catalog, jsonOut bool, from, to string) error {
	target, err := cat.Get(to)
	if err != nil {
		return err
	}
	froms, err := cat.FromVersions([]string{from}, target)
	if err != nil {
		return err
	}
	plan, err := cat.PlanChains(froms, target)
	if err != nil {
		return err
	}
	v := pathView{Target: target.Version}
	for _, ch := range plan.Chains {
		v.Chains = append(v.Chains, chainView{From: ch.From, Hops: ch.Versions()})
	}
	for _, r := range plan.Hops {
		v.Hops = append(v.Hops, hopView{Version: r.Version, EnteredFrom: plan.EntersFrom(r), Migration: r.Migration.Method,
			MigratesConfig: plan.MigratesConfig(cat, r), Postgres: r.Postgres.String(), Components: nonNil(r.Components()), Drops: nonNil(dropNames(r))})
	}
	if jsonOut {
		return writeJSON(w, v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, ch := range v.Chains {
		fmt.Fprintf(tw, "%s -> %s:\t%d hop(s): %s\n", ch.From, v.Target, len(ch.Hops), strings.Join(ch.Hops, " -> "))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "HOP\tENTERED FROM\tMIGRATION\tPOSTGRESQL\tCOMPONENTS\tDROPS\n")
	for _, h := range v.Hops {
		mig := h.Migration
		if !h.MigratesConfig {
			mig += " (no change)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Version, strings.Join(h.EnteredFrom, ", "), mig, h.Postgres,
			orDash(strings.Join(h.Components, ", ")), orDash(strings.Join(h.Drops, ", ")))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nHarbor starts at every hop: its core migrates the database schema and harbor-db upgrades PostgreSQL only at start.\nbundle build %s --from %s carries every hop in one .run.\n", target.Version, from)
	return nil
}
