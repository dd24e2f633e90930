package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// CompletionCmd is "ais completion bash|zsh".
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh" help:"The shell: bash or zsh."`
}

// Run prints the script.
func (c *CompletionCmd) Run(con *console) error {
	switch c.Shell {
	case "bash":
		_, err := fmt.Fprint(con.Out, bashScript)
		return err
	case "zsh":
		_, err := fmt.Fprint(con.Out, zshScript)
		return err
	}
	return fmt.Errorf("no completion for shell %q; use bash or zsh", c.Shell)
}

// bashScript completes through "ais __complete", which gets bash's words as they are (split
// at ':' and '=') and answers with candidates for bash's current word, one per line.
const bashScript = `# bash completion for ais. Load it with:  source <(ais completion bash)
# or install it:  ais completion bash > /etc/bash_completion.d/ais
_ais_complete() {
    local IFS=$'\n'
    local cmd="${COMP_WORDS[0]/#\~/$HOME}"
    COMPREPLY=($("$cmd" __complete --shell bash --cword "$COMP_CWORD" -- "${COMP_WORDS[@]}" 2>/dev/null))
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *[/=,] ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
complete -F _ais_complete ais
`

// zshScript does the same for zsh, whose words are not split at ':'.
const zshScript = `#compdef ais
# zsh completion for ais. Load it (after compinit) with:  source <(ais completion zsh)
# or install it as _ais in a directory of $fpath.
_ais() {
    local IFS=$'\n'
    local -a cands spaced open
    local c
    cands=($(${words[1]/#\~/$HOME} __complete --shell zsh --cword $((CURRENT-1)) -- "${words[@]}" 2>/dev/null))
    for c in $cands; do
        if [[ $c == *[/=,] ]]; then open+=($c); else spaced+=($c); fi
    done
    (( ${#spaced} )) && compadd -Q -U -- $spaced
    (( ${#open} )) && compadd -Q -U -S '' -- $open
    return 0
}
if (( $+functions[compdef] )); then
    compdef _ais ais
fi
`

// CompleteCmd is the hidden "ais __complete" behind the completion scripts.
type CompleteCmd struct {
	Shell string   `enum:"bash,zsh" default:"bash" help:"The shell whose words these are."`
	Cword int      `help:"Index of the word under the cursor."`
	Words []string `arg:"" optional:"" passthrough:"" help:"The command line's words, the program first."`
}

// Run prints the candidates, one per line. It never fails: a completion has nothing to say
// about errors.
func (c *CompleteCmd) Run(ctx context.Context, con *console, kctx *kong.Context, cli *CLI) error {
	words, cur, trim := c.Words, c.Cword, 0
	if len(words) > 0 && words[0] == "--" {
		words = words[1:]
	}
	if c.Shell == "bash" {
		words, cur, trim = joinBashWords(words, cur)
	} else if cur >= len(words) {
		words = append(words, "")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	endpoint := endpointIn(words[:min(cur, len(words))], cli.Endpoint)
	live := &liveCandidates{endpoint: endpoint, cancel: cancel}
	cp := &completer{app: kctx.Model.Node, live: live}
	for _, s := range cp.complete(ctx, words, cur) {
		if trim > 0 {
			if len(s) < trim {
				continue
			}
			s = s[trim:]
		}
		fmt.Fprintln(con.Out, s)
	}
	return nil
}

// endpointIn returns the value of --endpoint/-e on the command line being completed, if any.
func endpointIn(words []string, dflt string) string {
	for i, w := range words {
		switch {
		case strings.HasPrefix(w, "--endpoint="):
			return strings.TrimPrefix(w, "--endpoint=")
		case (w == "--endpoint" || w == "-e") && i+1 < len(words):
			return words[i+1]
		}
	}
	return dflt
}

// liveCandidates asks the cluster, through a client made on first use.
type liveCandidates struct {
	endpoint string
	cancel   context.CancelFunc
	cl       *api.Client
	failed   bool
}

func (l *liveCandidates) client() *api.Client {
	if l.cl == nil && !l.failed {
		cl, err := newClient(l.endpoint, &reachability{cancel: l.cancel})
		if err != nil {
			l.failed = true
			return nil
		}
		l.cl = cl
	}
	return l.cl
}

func (l *liveCandidates) Buckets(ctx context.Context) ([]string, error) {
	cl := l.client()
	if cl == nil {
		return nil, nil
	}
	bs, err := cl.ListBuckets(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(bs))
	for _, b := range bs {
		if b.Provider == meta.ProviderAIS {
			names = append(names, b.Name)
		}
	}
	return names, nil
}

// maxObjectCandidates bounds how many object names completion fetches.
const maxObjectCandidates = 1000

func (l *liveCandidates) Objects(ctx context.Context, bucket, prefix string) ([]string, error) {
	cl := l.client()
	if cl == nil {
		return nil, nil
	}
	page, err := cl.ListObjects(ctx, bucket, api.ListOptions{Prefix: prefix, Limit: maxObjectCandidates})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(page.Entries))
	for _, e := range page.Entries {
		names = append(names, e.Name)
	}
	return names, nil
}

func (l *liveCandidates) Nodes(ctx context.Context) ([]string, error) {
	cl := l.client()
	if cl == nil {
		return nil, nil
	}
	ci, err := cl.Cluster(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ci.Nodes))
	for _, n := range ci.Nodes {
		ids = append(ids, n.ID)
	}
	return ids, nil
}
