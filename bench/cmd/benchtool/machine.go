package main

import (
	"bufio"
	"context"
	"encoding/json"
	"github.com/harborbundle/bundle/internal/docker"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/harborbundle/bundle/bench/report"
)

// machineCmd prints the description every result file carries.
func machineCmd(ctx context.Context, args []string) error {
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	m := describeMachine(ctx, dir)
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

func describeMachine(ctx context.Context, dir string) report.Machine {
	m := report.Machine{NProc: runtime.NumCPU(), Go: runtime.Version()}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 10, 64); err == nil {
		m.MemBytes = kb << 10
	}
	m.Kernel = output(ctx, "uname", "-r")
	m.Docker = "unknown"
	if v, err := (&docker.Runner{}).Version(ctx); err == nil {
		m.Docker = v
	}
	m.Disk = diskLine(ctx, dir)
	return m
}

// procField is the value of the first "key : value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func output(ctx context.Context, name string, args ...string) string {
	b, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// diskLine names the filesystem the work happens on: device, type, size, and whether it spins.
func diskLine(ctx context.Context, dir string) string {
	df := strings.Fields(lastLine(output(ctx, "df", "-hT", dir)))
	if len(df) < 3 {
		return "unknown"
	}
	dev, typ, size := df[0], df[1], df[2]
	kind := ""
	base := strings.TrimRight(strings.TrimPrefix(dev, "/dev/"), "0123456789")
	if rot, err := os.ReadFile("/sys/block/" + base + "/queue/rotational"); err == nil {
		kind = map[string]string{"0": ", non-rotational", "1": ", rotational"}[strings.TrimSpace(string(rot))]
	}
	return dev + " " + typ + " " + size + kind
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
