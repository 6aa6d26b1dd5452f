// Package uringexpvar publishes uringnet's per-ring counters with expvar,
// as the variable "uringnet" (a list, one entry per running ring). Import it
// for its side effect:
//
//	import _ "github.com/uringnet/uringnet/go/uringnet/uringexpvar"
//
// It is a separate package because importing expvar registers /debug/vars
// on http.DefaultServeMux, which a network library should not do unasked.
package uringexpvar

import (
	"expvar"

	"github.com/uringnet/uringnet/go/uringnet"
)

func init() {
	expvar.Publish("uringnet", expvar.Func(func() any { return uringnet.AllStats() }))
}
