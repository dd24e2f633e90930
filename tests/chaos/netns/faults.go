package netns

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// faultTable is the nftables table every namespace starts with: packets to or from an
// address in @blocked are dropped (a partition), and chain loss drops a random share of the
// rest (packet loss).
const faultTable = `table inet aischaos {
	set blocked { type ipv4_addr; }
	chain loss { }
	chain input { type filter hook input priority 0; policy accept; ip saddr @blocked drop; jump loss; }
	chain output { type filter hook output priority 0; policy accept; ip daddr @blocked drop; jump loss; }
}
`

// Partition cuts every node of each group off from every node of the other groups, in both
// directions. Nodes in no group keep all their links. Rules add up until Heal.
func (n *Net) Partition(groups ...[]string) error {
	block := map[string][]string{} // node -> addresses it must not talk to
	for i, g := range groups {
		for j, h := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					nb := n.Node(b)
					if nb == nil {
						return fmt.Errorf("netns: no node %s", b)
					}
					block[a] = append(block[a], nb.IP)
				}
			}
		}
	}
	for a, ips := range block {
		nd := n.Node(a)
		if nd == nil {
			return fmt.Errorf("netns: no node %s", a)
		}
		if err := n.nft(nd, fmt.Sprintf("add element inet aischaos blocked { %s }\n", strings.Join(ips, ", "))); err != nil {
			return err
		}
	}
	return nil
}

// Loss drops percent of the packets node sends and receives (nftables numgen: tc netem is not
// needed).
func (n *Net) Loss(node string, percent int) error {
	nd := n.Node(node)
	if nd == nil {
		return fmt.Errorf("netns: no node %s", node)
	}
	if percent <= 0 || percent > 100 {
		return fmt.Errorf("netns: loss %d%% out of 1..100", percent)
	}
	if percent == 100 {
		return n.nft(nd, "add rule inet aischaos loss drop\n")
	}
	return n.nft(nd, fmt.Sprintf("add rule inet aischaos loss numgen random mod 100 < %d drop\n", percent))
}

// Heal removes every partition and loss rule from every node.
func (n *Net) Heal() error {
	var first error
	for _, name := range n.Nodes() {
		if err := n.nft(n.Node(name), "flush set inet aischaos blocked\nflush chain inet aischaos loss\n"); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Rules returns the node's fault table as nft lists it.
func (n *Net) Rules(node string) (string, error) {
	nd := n.Node(node)
	if nd == nil {
		return "", fmt.Errorf("netns: no node %s", node)
	}
	out, err := exec.Command("ip", "netns", "exec", nd.NS, "nft", "list", "table", "inet", "aischaos").CombinedOutput()
	return string(out), err
}

func (n *Net) nft(nd *Node, script string) error {
	cmd := exec.Command("ip", "netns", "exec", nd.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("netns: nft in %s: %v: %s\n%s", nd.NS, err, bytes.TrimSpace(out), script)
	}
	return nil
}
