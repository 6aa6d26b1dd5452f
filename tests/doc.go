// Package tests holds integration tests that use uringnet only through its
// public API, the way a service would: net/http, TLS and HTTP/2 servers on a
// uringnet listener. The C shim's own tests are in tests/c.
package tests
