package check

import (
	"fmt"
	"strings"
)

// maxListed bounds how many anomalies a Result spells out.
const maxListed = 20

// Result is one checker's verdict.
type Result struct {
	Name  string
	Valid bool
	// Checked counts what the checker looked at (operations, keys, observations).
	Checked int
	// Anomalies describe what is wrong, one per line (at most maxListed; Count has them all).
	Anomalies []string
	Count     int
	// Inconclusive is set when the checker could not decide (a timeout); Valid is false then.
	Inconclusive bool
	// Artifacts are files the checker wrote (the linearizability visualization).
	Artifacts []string
}

func (r *Result) addf(format string, args ...any) {
	r.Count++
	r.Valid = false
	if len(r.Anomalies) < maxListed {
		r.Anomalies = append(r.Anomalies, fmt.Sprintf(format, args...))
	}
}

func (r *Result) String() string {
	var sb strings.Builder
	verdict := "ok"
	switch {
	case r.Inconclusive:
		verdict = "INCONCLUSIVE"
	case !r.Valid:
		verdict = fmt.Sprintf("FAILED (%d anomalies)", r.Count)
	}
	fmt.Fprintf(&sb, "%s: %s, %d checked", r.Name, verdict, r.Checked)
	for _, a := range r.Anomalies {
		sb.WriteString("\n    ")
		sb.WriteString(a)
	}
	if r.Count > len(r.Anomalies) {
		fmt.Fprintf(&sb, "\n    ... and %d more", r.Count-len(r.Anomalies))
	}
	for _, a := range r.Artifacts {
		sb.WriteString("\n    see ")
		sb.WriteString(a)
	}
	return sb.String()
}

func newResult(name string) *Result { return &Result{Name: name, Valid: true} }
