package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// Plot colours per mode; the README says which is which.
var modeColor = map[string]color.RGBA{
	"uring": {30, 90, 220, 255}, // blue
	"std":   {220, 50, 40, 255}, // red
	"c":     {30, 160, 60, 255}, // green
}

// writePlot draws two panels side by side — round trips/s (left) and server
// CPU µs per round trip (right) — against connections on a log scale, one
// line per mode and message size, each panel scaled from 0 to its maximum.
func writePlot(path string, all []point) error {
	var ps []point
	for _, p := range all {
		if p.work == "echo" {
			ps = append(ps, p)
		}
	}
	const w, h, pad = 900, 360, 30
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	panels := []func(point) float64{
		func(p point) float64 { return p.rps },
		func(p point) float64 { return p.cpuPerOp },
	}
	minC, maxC := math.Inf(1), math.Inf(-1)
	for _, p := range ps {
		minC, maxC = math.Min(minC, math.Log10(float64(p.conns))), math.Max(maxC, math.Log10(float64(p.conns)))
	}
	if maxC == minC {
		maxC = minC + 1
	}
	for pi, get := range panels {
		x0, x1 := pad+pi*w/2, (pi+1)*w/2-pad
		y0, y1 := h-pad, pad
		maxV := 0.0
		for _, p := range ps {
			maxV = math.Max(maxV, get(p))
		}
		axis := color.RGBA{0, 0, 0, 255}
		line(img, x0, y0, x1, y0, axis)
		line(img, x0, y0, x0, y1, axis)
		for t := 1; t <= 4; t++ { // grid at quarters of the maximum
			y := y0 - (y0-y1)*t/4
			line(img, x0, y, x1, y, color.RGBA{220, 220, 220, 255})
		}
		type key struct {
			mode string
			size int
		}
		series := map[key][]point{}
		for _, p := range ps {
			k := key{p.mode, p.size}
			series[k] = append(series[k], p)
		}
		for k, pts := range series {
			col, ok := modeColor[k.mode]
			if !ok {
				col = color.RGBA{120, 120, 120, 255} // variants (uring+ENV=...): grey
			}
			px := func(p point) (int, int) {
				fx := (math.Log10(float64(p.conns)) - minC) / (maxC - minC)
				fy := get(p) / maxV
				return x0 + int(fx*float64(x1-x0)), y0 - int(fy*float64(y0-y1))
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
