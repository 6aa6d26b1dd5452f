//go:build !race

package uringnet

const raceEnabled = false
