// Package houserules checks the rules of ARCHITECTURE.md and STYLE.md that code can check:
// the direction of imports, package documentation and where the environment may be read.
package houserules
