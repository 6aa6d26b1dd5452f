package main

import (
	"image"
	"image/color"
	"unicode/utf8"
)

// A 3x5 pixel font for the plot's labels: the digits, the letters its
// titles use, and a few signs. '#' is a pixel; other characters are
// skipped as blanks.
var glyphs = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"},
	'1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"},
	'3': {"###", "..#", "###", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"},
	'5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"},
	'7': {"###", "..#", "..#", "..#", "..#"},
	'8': {"###", "#.#", "###", "#.#", "###"},
	'9': {"###", "#.#", "###", "..#", "###"},
	'.': {"...", "...", "...", "...", ".#."},
	'/': {"..#", "..#", ".#.", "#..", "#.."},
	'k': {"#..", "#.#", "##.", "#.#", "#.#"},
	'C': {"###", "#..", "#..", "#..", "###"},
	'P': {"###", "#.#", "###", "#..", "#.."},
	'U': {"#.#", "#.#", "#.#", "#.#", "###"},
	'c': {"...", "###", "#..", "#..", "###"},
	'd': {"..#", "..#", "###", "#.#", "###"},
	'i': {".#.", "...", ".#.", ".#.", ".#."},
	'n': {"...", "##.", "#.#", "#.#", "#.#"},
	'o': {"...", "###", "#.#", "#.#", "###"},
	'p': {"...", "###", "#.#", "###", "#.."},
	'r': {"...", "##.", "#..", "#..", "#.."},
	's': {"...", ".##", "#..", "..#", "##."},
	't': {".#.", "###", ".#.", ".#.", ".##"},
	'u': {"...", "#.#", "#.#", "#.#", "###"},
}

// textScale is how many image pixels one font pixel takes; glyphAdvance is
// a glyph's width with the blank column after it, in image pixels.
const (
	textScale    = 2
	glyphAdvance = 4 * textScale
)

// textWidth is the width in pixels of s drawn by drawText.
func textWidth(s string) int { return utf8.RuneCountInString(s) * glyphAdvance }

// drawText draws s with its top-left corner at (x, y); runes without a
// glyph are left blank.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range s {
		g := glyphs[r]
		for row, bits := range g {
			for col, b := range bits {
				if b != '#' {
					continue
				}
				for dy := 0; dy < textScale; dy++ {
					for dx := 0; dx < textScale; dx++ {
						img.SetRGBA(x+col*textScale+dx, y+row*textScale+dy, c)
					}
				}
			}
		}
		x += glyphAdvance
	}
}
