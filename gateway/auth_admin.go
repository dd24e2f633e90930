package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// authRoutes serve the administration of S3 users and access keys through the gateway, so that
// the CLI needs one endpoint. Meta keeps the users and keys; these handlers pass each request on
// and, for a new key, wait until this gateway's epoch holds it (so the key works here at once).
func (g *Gateway) authRoutes(e *echo.Echo) {
	e.GET("/v1/auth/users", g.listUsers)
	e.POST("/v1/auth/users", g.createUser)
	e.DELETE("/v1/auth/users/:name", g.deleteUser)
	e.GET("/v1/auth/keys", g.listKeys)
	e.POST("/v1/auth/keys", g.createKey)
	e.DELETE("/v1/auth/keys/:id", g.deleteKey)
}

func (g *Gateway) listUsers(c echo.Context) error {
	users, err := g.mc.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	if users == nil {
		users = []meta.User{}
	}
	return c.JSON(http.StatusOK, api.UserList{Users: users})
}

func (g *Gateway) createUser(c echo.Context) error {
	var req api.UserRequest
	if err := g.readJSON(c, &req); err != nil {
		return err
	}
	if err := meta.ValidateUserName(req.Name); err != nil {
		return err
	}
	u, err := g.mc.CreateUser(c.Request().Context(), req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

func (g *Gateway) deleteUser(c echo.Context) error {
	name := c.Param("name")
	if err := meta.ValidateUserName(name); err != nil {
		return err
	}
	ctx := c.Request().Context()
	epoch, err := g.mc.DeleteUser(ctx, name)
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch) // the revocation holds on this gateway when the answer arrives
	setEpoch(c, epoch)
	return c.NoContent(http.StatusNoContent)
}

func (g *Gateway) listKeys(c echo.Context) error {
	user := c.QueryParam("user")
	if user != "" {
		if err := meta.ValidateUserName(user); err != nil {
			return err
		}
	}
	keys, err := g.mc.ListKeys(c.Request().Context(), user)
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []meta.AccessKey{}
	}
	return c.JSON(http.StatusOK, api.KeyList{Keys: keys})
}

func (g *Gateway) createKey(c echo.Context) error {
	var req api.KeyRequest
	if err := g.readJSON(c, &req); err != nil {
		return err
	}
	if err := meta.ValidateUserName(req.User); err != nil {
		return err
	}
	ctx := c.Request().Context()
	k, epoch, err := g.mc.CreateKey(ctx, req.User)
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch)
	setEpoch(c, epoch)
	return c.JSON(http.StatusCreated, k)
}

func (g *Gateway) deleteKey(c echo.Context) error {
	id := c.Param("id")
	if err := meta.ValidateAccessKeyID(id); err != nil {
		return err
	}
	ctx := c.Request().Context()
	epoch, err := g.mc.DeleteKey(ctx, id)
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch) // the revocation holds on this gateway when the answer arrives
	setEpoch(c, epoch)
	return c.NoContent(http.StatusNoContent)
}

// readJSON decodes a small JSON request body into v; a missing or malformed body is
// meta.ErrInvalidRequest.
func (g *Gateway) readJSON(c echo.Context, v any) error {
	doc, err := readDoc(c.Request(), g.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	if len(doc) == 0 {
		return fmt.Errorf("%w: a JSON body is required", meta.ErrInvalidRequest)
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return fmt.Errorf("%w: request body: %v", meta.ErrInvalidRequest, err)
	}
	return nil
}
