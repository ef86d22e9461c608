// Package archtest holds no code, only tests that keep the layering of DESIGN.md true: library
// packages never draw progress or parse flags (no cobra, no progressbar), and only
// internal/docker runs the docker CLI.
package archtest
