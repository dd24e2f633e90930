module github.com/aisfoundry/ais/tests/chaos

go 1.26.0

require github.com/aisfoundry/ais v0.0.0

require (
	github.com/anishathalye/porcupine v1.3.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
)

replace github.com/aisfoundry/ais => ../..
