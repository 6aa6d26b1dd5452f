package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
)

// Plot colours per mode; the README says which is which.
var modeColor = map[string]color.RGBA{
	"uring": {30, 90, 220, 255}, // blue
	"std":   {220, 50, 40, 255}, // red
	"c":     {30, 160, 60, 255}, // green
}

// writePlot draws two panels side by side — round trips/s (left) and server
// CPU µs per round trip (right) — against connections on a log scale, one
// line per mode and message size (the smallest size in full colour, larger
// ones lighter), each panel scaled from 0 to its maximum, with its title
// and the values of its grid lines and connection counts.
func writePlot(path string, all []point) error {
	var ps []point
	smallest := 0
	for _, p := range all {
		if p.work == "echo" {
			ps = append(ps, p)
			if smallest == 0 || p.size < smallest {
				smallest = p.size
			}
		}
	}
	const w, h = 900, 380
	const left, right, top, bottom = 56, 20, 34, 40 // margins of each panel
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	panels := []struct {
		title string
		get   func(point) float64
	}{
		{"round trips/s", func(p point) float64 { return p.rps }},
		{"CPU us/op", func(p point) float64 { return p.cpuPerOp }},
	}
	minC, maxC := math.Inf(1), math.Inf(-1)
	for _, p := range ps {
		minC, maxC = math.Min(minC, math.Log10(float64(p.conns))), math.Max(maxC, math.Log10(float64(p.conns)))
	}
	if maxC == minC {
		maxC = minC + 1
	}
	// One line per mode and size, the same in both panels.
	type key struct {
		mode string
		size int
	}
	series := map[key][]point{}
	for _, p := range ps {
		k := key{p.mode, p.size}
		series[k] = append(series[k], p)
	}
	black := color.RGBA{0, 0, 0, 255}
	for pi, panel := range panels {
		get := panel.get
		x0, x1 := pi*w/2+left, (pi+1)*w/2-right
		y0, y1 := h-bottom, top
		maxV := 0.0
		for _, p := range ps {
			maxV = math.Max(maxV, get(p))
		}
		drawText(img, (x0+x1-textWidth(panel.title))/2, 8, panel.title, black)
		line(img, x0, y0, x1, y0, black)
		line(img, x0, y0, x0, y1, black)
		drawText(img, x0-textWidth("0")-6, y0-5, "0", black)
		for t := 1; t <= 4; t++ { // grid at quarters of the maximum
			y := y0 - (y0-y1)*t/4
			line(img, x0, y, x1, y, color.RGBA{220, 220, 220, 255})
			label := axisValue(maxV * float64(t) / 4)
			drawText(img, x0-textWidth(label)-6, y-5, label, black)
		}
		xOf := func(conns int) int {
			fx := (math.Log10(float64(conns)) - minC) / (maxC - minC)
			return x0 + int(fx*float64(x1-x0))
		}
		labelled := map[int]bool{}
		for _, p := range ps {
			if !labelled[p.conns] {
				labelled[p.conns] = true
				label := connsLabel(p.conns)
				drawText(img, xOf(p.conns)-textWidth(label)/2, y0+8, label, black)
			}
		}
		drawText(img, (x0+x1-textWidth("conns"))/2, y0+24, "conns", black)
		for k, pts := range series {
			col, ok := modeColor[k.mode]
			if !ok {
				col = color.RGBA{120, 120, 120, 255} // variants (uring+ENV=...): grey
			}
			if k.size != smallest {
				col = lighter(col)
			}
			px := func(p point) (int, int) {
				fy := get(p) / maxV
				return xOf(p.conns), y0 - int(fy*float64(y0-y1))
			}
			for i := range pts {
				x, y := px(pts[i])
				dot(img, x, y, col)
				if i > 0 {
					xp, yp := px(pts[i-1])
					line(img, xp, yp, x, y, col)
				}
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}

// axisValue formats a label: 12.5, 850, 7.5k, 100k.
func axisValue(v float64) string {
	switch {
	case v >= 10000:
		return strconv.FormatFloat(v/1000, 'f', 0, 64) + "k"
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', 1, 64) + "k"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// connsLabel formats a connection count: 1, 100, 1k, 10k.
func connsLabel(n int) string {
	if n >= 1000 && n%1000 == 0 {
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// lighter mixes c halfway to white.
func lighter(c color.RGBA) color.RGBA {
	return color.RGBA{c.R/2 + 128, c.G/2 + 128, c.B/2 + 128, 255}
}

func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	err := dx + dy
	for {
		img.SetRGBA(x0, y0, c)
		img.SetRGBA(x0, y0+1, c)
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * err
		if e2 >= dy {
			err += dy
			x0 += sx
		}
		if e2 <= dx {
			err += dx
			y0 += sy
		}
	}
}

func dot(img *image.RGBA, x, y int, c color.RGBA) {
	for i := -3; i <= 3; i++ {
		for j := -3; j <= 3; j++ {
			img.SetRGBA(x+i, y+j, c)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
