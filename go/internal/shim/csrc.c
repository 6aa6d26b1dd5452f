// The C shim from csrc/, compiled by cgo as part of this package so that
// `go build` needs no prior make step.
#include "../../../csrc/ring.c"
#include "../../../csrc/bufring.c"
#include "../../../csrc/submit.c"
#include "../../../csrc/reap.c"
#include "../../../csrc/probe.c"
