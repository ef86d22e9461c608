package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Record is one raw measurement, one JSON line in the raw file that scripts/bench.sh appends to.
// A timed command fills WallSeconds, PeakRSSKiB and DiskBytes; a plain value (a file size, a
// count of blobs) fills Value and Unit.
type Record struct {
	Size        string  `json:"size"` // the release size it belongs to ("250MB")
	Name        string  `json:"name"` // what was measured ("build.keep.cold")
	Run         int     `json:"run"`
	WallSeconds float64 `json:"wall_s,omitempty"`
	PeakRSSKiB  int64   `json:"rss_kib,omitempty"`
	// SelfRSSKiB is the peak RSS (VmHWM) of the command's own process, without its children
	// (Harbor's install.sh and docker-compose run under every upgrade path).
	SelfRSSKiB int64   `json:"self_rss_kib,omitempty"`
	DiskBytes  *int64  `json:"disk_bytes,omitempty"` // peak growth of the watched directories
	Value      float64 `json:"value,omitempty"`
	Unit       string  `json:"unit,omitempty"`
	Exit       int     `json:"exit,omitempty"`
}

// ReadRecords reads JSON lines; blank lines are skipped, anything else that does not parse is an
// error naming the line.
func ReadRecords(r io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("reading raw line %d: %w", n, err)
		}
		if rec.Size == "" || rec.Name == "" {
			return nil, fmt.Errorf("reading raw line %d: size and name are required", n)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading raw measurements: %w", err)
	}
	return out, nil
}

// Stat is the median and spread of one field over the runs of one measurement.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// NewStat summarises xs; the median of an even count is the mean of the middle two.
func NewStat(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	mid := len(s) / 2
	med := s[mid]
	if len(s)%2 == 0 {
		med = (s[mid-1] + s[mid]) / 2
	}
	return Stat{Median: med, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// Spread is (max-min)/median, the relative spread the tables print as ±.
func (s Stat) Spread() float64 {
	if s.N == 0 || s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / s.Median
}

// Metric is every field of one named measurement summarised over its runs. A field nobody
// measured is nil.
type Metric struct {
	Wall    *Stat  `json:"wall_s,omitempty"`
	PeakRSS *Stat  `json:"rss_kib,omitempty"`
	SelfRSS *Stat  `json:"self_rss_kib,omitempty"`
	Disk    *Stat  `json:"disk_bytes,omitempty"`
	Value   *Stat  `json:"value,omitempty"`
	Unit    string `json:"unit,omitempty"`
	Failed  int    `json:"failed,omitempty"` // runs whose command exited non-zero (left out)
}

// Summarise groups records by size and name. Runs whose command failed are counted, not used.
func Summarise(recs []Record) map[string]map[string]*Metric {
	type fields struct{ wall, rss, self, disk, value []float64 }
	raw := map[string]map[string]*fields{}
	out := map[string]map[string]*Metric{}
	for _, r := range recs {
		if raw[r.Size] == nil {
			raw[r.Size], out[r.Size] = map[string]*fields{}, map[string]*Metric{}
		}
		f, m := raw[r.Size][r.Name], out[r.Size][r.Name]
		if f == nil {
			f, m = &fields{}, &Metric{}
			raw[r.Size][r.Name], out[r.Size][r.Name] = f, m
		}
		if r.Exit != 0 {
			m.Failed++
			continue
		}
		if r.WallSeconds > 0 {
			f.wall = append(f.wall, r.WallSeconds)
		}
		if r.PeakRSSKiB > 0 {
			f.rss = append(f.rss, float64(r.PeakRSSKiB))
		}
		if r.SelfRSSKiB > 0 {
			f.self = append(f.self, float64(r.SelfRSSKiB))
		}
		if r.DiskBytes != nil {
			f.disk = append(f.disk, float64(*r.DiskBytes))
		}
		if r.Unit != "" {
			f.value = append(f.value, r.Value)
			m.Unit = r.Unit
		}
	}
	for size, byName := range raw {
		for name, f := range byName {
			m := out[size][name]
			m.Wall, m.PeakRSS, m.SelfRSS = statOrNil(f.wall), statOrNil(f.rss), statOrNil(f.self)
			m.Disk, m.Value = statOrNil(f.disk), statOrNil(f.value)
		}
	}
	return out
}

func statOrNil(xs []float64) *Stat {
	if len(xs) == 0 {
		return nil
	}
	s := NewStat(xs)
	return &s
}
