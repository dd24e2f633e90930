package main

import (
	"os"

	"golang.org/x/term"
)

// newConsole wraps the process's streams; progress is drawn only when stderr is a terminal.
func newConsole(in, out, errw *os.File) *console {
	fd := int(errw.Fd())
	return &console{
		In: in, Out: out, Err: errw,
		Progress:    term.IsTerminal(fd),
		OutTerminal: term.IsTerminal(int(out.Fd())),
		Width: func() int {
			if w, _, err := term.GetSize(fd); err == nil && w > 0 {
				return w
			}
			return 80
		},
	}
}
