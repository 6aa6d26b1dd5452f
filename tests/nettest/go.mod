module github.com/uringnet/uringnet/tests/nettest

go 1.22

replace github.com/uringnet/uringnet => ../..

require (
	github.com/uringnet/uringnet v0.0.0-00010101000000-000000000000
	golang.org/x/net v0.28.0
)
