package api

import (
	"context"
	"net/http"
	"net/url"

	"github.com/aisfoundry/ais/meta"
)

// SetNodeState asks the cluster, through the gateway, to move a node to a new state:
// meta.NodeMaintenance, meta.NodeActive, or meta.NodeDecommissioning. An unknown node is
// meta.ErrNodeNotFound.
func (c *Client) SetNodeState(ctx context.Context, id string, state meta.NodeState) error {
	return c.ep.call(ctx, http.MethodPost, "/v1/cluster/nodes/"+url.PathEscape(id)+"/state", nil,
		NodeStateRequest{State: state}, nil)
}
