package main

import (
	"encoding/json"
	"fmt"
	"github.com/harborbundle/bundle/progress"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/harborbundle/bundle/selfextract"
)

// outputFlag validates -o: text (default) or json.
func outputFlag(v string) (jsonOut bool, err error) {
	switch v {
	case "", "text":
		return false, nil
	case "json":
		return true, nil
	}
	return false, usagef("-o %q: want text or json", v)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printInfo writes what a bundle installs, for inspect and info.
func printInfo(w io.Writer, info *selfextract.Info) {
	m := info.Manifest
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "File:\t%s\n", info.File)
	if len(info.Parts) > 0 {
		fmt.Fprintf(tw, "Parts:\t%s\n", strings.Join(info.Parts, " "))
	}
	fmt.Fprintf(tw, "Size:\t%s (%d bytes)\n", progress.HumanBytes(info.Size), info.Size)
	fmt.Fprintf(tw, "Harbor release:\t%s\n", m.Release)
	fmt.Fprintf(tw, "Upgrades from:\t%s\n", strings.Join(m.FromVersions, ", "))
	fmt.Fprintf(tw, "Components:\t%s\n", strings.Join(m.Components, ", "))
	fmt.Fprintf(tw, "Migration:\t%s (%s %s)\n", m.Migration.Method, m.Migration.Image, strings.Join(m.Migration.Args, " "))
	comp := m.Compression.Algorithm
	if m.Compression.Level != "" {
		comp += " " + m.Compression.Level
	}
	fmt.Fprintf(tw, "Layers:\t%s\n", comp)
	fmt.Fprintf(tw, "Built:\t%s by bundle %s\n", m.Builder.BuildTime.UTC().Format("2006-01-02 15:04:05 UTC"), m.Builder.Version)
	if m.Installer.Source != "" {
		fmt.Fprintf(tw, "Installer:\t%s (sha256 %s)\n", m.Installer.Source, m.Installer.SHA256)
	}
	if m.Installer.Signature != "" {
		fmt.Fprintf(tw, "Installer sig:\t%s\n", m.Installer.Signature)
	}
	sig := "unsigned"
	if info.Signed {
		sig = "signed (check it with: bundle verify --key KEY.pub)"
	}
	fmt.Fprintf(tw, "Signature:\t%s\n", sig)
	fmt.Fprintf(tw, "Manifest sha256:\t%s\n", info.ManifestSHA256)
	tw.Flush()
	fmt.Fprintf(w, "\nImages (%d):\n", len(m.Images))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  REFERENCE\tCOMPONENT\tSIZE\tIMAGE ID (config)\tMANIFEST\n")
	for _, img := range m.Images {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", img.Ref, img.Component, progress.HumanBytes(img.Size), shortDigest(img.ConfigDigest), shortDigest(img.ManifestDigest))
	}
	tw.Flush()
	var installer []string
	for _, e := range m.Entries {
		if strings.HasPrefix(e.Path, "installer/") {
			installer = append(installer, strings.TrimPrefix(e.Path, "installer/"))
		}
	}
	fmt.Fprintf(w, "\nInstaller files: %s\n", strings.Join(installer, " "))
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}
