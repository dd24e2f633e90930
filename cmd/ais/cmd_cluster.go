package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/alecthomas/kong"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// ShowCmd groups "ais show ...".
type ShowCmd struct {
	Cluster     ShowClusterCmd     `cmd:"" help:"Show meta members (leader marked), targets, gateways and the epoch."`
	Performance ShowPerformanceCmd `cmd:"" help:"Throughput and latency per target, refreshing on a terminal (from the targets' /metrics)."`
	Storage     ShowStorageCmd     `cmd:"" help:"Capacity per target and per mountpath (from the targets' /metrics)."`
	Rebalance   ShowRebalanceCmd   `cmd:"" help:"Each target's rebalance progress, refreshing on a terminal until done."`
}

// ShowClusterCmd is "ais show cluster".
type ShowClusterCmd struct {
	jsonFlag
}

// Run shows the cluster.
func (c *ShowClusterCmd) Run(ctx context.Context, cl *api.Client, con *console) error {
	ci, err := cl.Cluster(ctx)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSON(con.Out, ci)
	}
	return writeCluster(con, ci)
}

func writeCluster(con *console, ci *api.ClusterInfo) error {
	leader := ci.Leader
	if leader == "" {
		leader = "none"
	}
	fmt.Fprintf(con.Out, "epoch %d, meta leader %s, term %d\n\n", ci.Epoch, leader, ci.Term)

	t := newTable("META", "ROLE", "RAFT", "HTTP")
	for _, m := range ci.Meta {
		role := "follower"
		switch {
		case m.Leader || (m.ID == ci.Leader && ci.Leader != ""):
			role = "leader *"
		case !m.Voter:
			role = "non-voter"
		}
		t.add(m.ID, role, m.RaftAddr, m.HTTPURL)
	}
	if err := t.write(con.Out); err != nil {
		return err
	}

	var targets, gateways []meta.Node
	for _, n := range ci.Nodes {
		if n.Role == meta.RoleTarget {
			targets = append(targets, n)
		} else {
			gateways = append(gateways, n)
		}
	}
	fmt.Fprintln(con.Out)
	if len(targets) == 0 {
		fmt.Fprintln(con.Out, "no targets")
	} else {
		t = newTable("TARGET", "STATE", ">MOUNTPATHS", ">USED", ">TOTAL", ">USE%", "PUBLIC")
		for _, n := range targets {
			use := "-"
			if n.Capacity > 0 {
				use = strconv.FormatFloat(100*float64(n.Used)/float64(n.Capacity), 'f', 0, 64) + "%"
			}
			used, total := "-", "-"
			if n.Capacity > 0 || n.Used > 0 {
				used, total = humanSize(int64(n.Used)), humanSize(int64(n.Capacity))
			}
			t.add(n.ID, string(n.State), strconv.Itoa(len(n.Mountpaths)), used, total, use, n.PublicURL)
		}
		if err := t.write(con.Out); err != nil {
			return err
		}
	}
	fmt.Fprintln(con.Out)
	if len(gateways) == 0 {
		fmt.Fprintln(con.Out, "no gateways")
		return nil
	}
	t = newTable("GATEWAY", "STATE", "PUBLIC")
	for _, n := range gateways {
		t.add(n.ID, string(n.State), n.PublicURL)
	}
	return t.write(con.Out)
}

// ClusterCmd groups "ais cluster ...".
type ClusterCmd struct {
	Node ClusterNodeCmd `cmd:"" help:"Change a node's state."`
}

// ClusterNodeCmd groups the node state changes.
type ClusterNodeCmd struct {
	Maintenance  NodeStateCmd `cmd:"" help:"Put a node in maintenance: it keeps its data but gets no new objects." state:"maintenance"`
	Activate     NodeStateCmd `cmd:"" help:"Make a node active again after maintenance." state:"active"`
	Decommission NodeStateCmd `cmd:"" help:"Start moving a node's objects away so it can leave the cluster." state:"decommissioning"`
}

// NodeStateCmd moves one node to the state of the command it is under.
type NodeStateCmd struct {
	Node string `arg:"" name:"NODE_ID" predictor:"node" help:"The node's ID (see ais show cluster)."`
}

// Run asks for the state change.
func (c *NodeStateCmd) Run(ctx context.Context, cl *api.Client, con *console, kctx *kong.Context) error {
	st := meta.NodeState(kctx.Selected().Tag.Get("state"))
	if !st.Valid() {
		return fmt.Errorf("internal: command %q has no node state", kctx.Selected().Name)
	}
	if err := meta.ValidateNodeID(c.Node); err != nil {
		return err
	}
	if err := cl.SetNodeState(ctx, c.Node, st); err != nil {
		return nodeErr(c.Node, err)
	}
	fmt.Fprintf(con.Out, "node %s: %s\n", c.Node, st)
	return nil
}
