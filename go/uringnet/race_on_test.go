//go:build race

package uringnet

// raceEnabled is true under -race, whose shadow memory makes RSS checks meaningless.
const raceEnabled = true
