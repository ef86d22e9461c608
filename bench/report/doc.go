// Package report turns the raw measurements of `make bench` into the figures users read: median
// and spread of each measurement, each DESIGN.md goal as a ratio against its peer with met or
// missed, a Markdown table and a JSON document per release size, and the README section.
//
// The numbers in the README must come from a committed run, never from a person's keyboard: the
// README section is rendered from the JSON files under bench/results only, and the raw
// measurements those were computed from are committed next to them.
package report
