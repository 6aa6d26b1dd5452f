package main

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestGlyphsAreThreeByFive(t *testing.T) {
	for r, g := range glyphs {
		for i, row := range g {
			if len(row) != 3 {
				t.Errorf("glyph %q row %d is %q: want 3 characters", r, i, row)
			}
			for _, b := range row {
				if b != '#' && b != '.' {
					t.Errorf("glyph %q row %d is %q: want only # and .", r, i, row)
				}
			}
		}
	}
}

// Every label the plot draws must have glyphs, or it would come out blank.
func TestPlotLabelsHaveGlyphs(t *testing.T) {
	labels := []string{"round trips/s", "CPU us/op", "conns",
		axisValue(118000), axisValue(2500), axisValue(850), axisValue(12.5), connsLabel(1), connsLabel(10000)}
	for _, l := range labels {
		for _, r := range l {
			if _, ok := glyphs[r]; !ok && r != ' ' {
				t.Errorf("label %q: no glyph for %q", l, r)
			}
		}
	}
}

func TestAxisLabels(t *testing.T) {
	for v, want := range map[float64]string{118000: "118k", 29500: "30k", 2500: "2.5k", 850: "850", 12.54: "12.5"} {
		if got := axisValue(v); got != want {
			t.Errorf("axisValue(%v) = %q, want %q", v, got, want)
		}
	}
	for n, want := range map[int]string{1: "1", 100: "100", 1000: "1k", 10000: "10k", 1500: "1500"} {
		if got := connsLabel(n); got != want {
			t.Errorf("connsLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

// The plot is a PNG of the documented size with its titles drawn: the
// rows where they go hold dark pixels. The figures are arbitrary.
func TestWritePlot(t *testing.T) {
	var pts []point
	for i, mode := range []string{"std", "uring", "c"} {
		for _, size := range []int{64, 4096} {
			for j, conns := range []int{1, 100, 1000, 10000} {
				pts = append(pts, point{work: "echo", mode: mode, conns: conns, size: size,
					run: run{rps: float64(20000 + 10000*i + 5000*j), cpuPerOp: float64(30 - 5*j - i)}})
			}
		}
	}
	path := filepath.Join(t.TempDir(), "plot.png")
	if err := writePlot(path, pts); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 380 {
		t.Fatalf("plot is %v, want 900x380", b)
	}
	dark := 0
	for y := 8; y < 8+5*textScale; y++ {
		for x := 0; x < 900; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x4000 {
				dark++
			}
		}
	}
	if dark == 0 {
		t.Error("no title drawn")
	}
}
