module github.com/aisfoundry/ais/tests/chaos

go 1.26.0

require (
	github.com/aisfoundry/ais v0.0.0
	github.com/anishathalye/porcupine v1.3.1
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

// The product, from this repository: the tests import only api and meta.
replace github.com/aisfoundry/ais => ../..
