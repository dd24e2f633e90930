package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// setNodeState forwards POST /v1/cluster/nodes/{id}/state (maintenance, active,
// decommissioning) to meta.
func (g *Gateway) setNodeState(c echo.Context) error {
	id := c.Param("id")
	if err := meta.ValidateNodeID(id); err != nil {
		return err
	}
	doc, err := readDoc(c.Request(), g.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	var req api.NodeStateRequest
	if err := json.Unmarshal(doc, &req); err != nil {
		return fmt.Errorf("%w: node state body: %v", meta.ErrInvalidRequest, err)
	}
	if !req.State.Valid() {
		return fmt.Errorf("%w: node state %q: use maintenance, active or decommissioning", meta.ErrInvalidRequest, req.State)
	}
	if err := g.mc.SetNodeState(c.Request().Context(), id, req.State); err != nil {
		return err
	}
	g.follower.Refresh()
	return c.NoContent(http.StatusOK)
}
