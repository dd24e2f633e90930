package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// WaitClusterCmd waits until the gateway serves and the cluster has the targets it should.
type WaitClusterCmd struct {
	Endpoint string        `short:"e" env:"AIS_ENDPOINT" default:"http://127.0.0.1:8080" placeholder:"URL" help:"Gateway of the cluster."`
	Targets  int           `default:"1" help:"Active targets to wait for."`
	Timeout  time.Duration `default:"60s" help:"How long to wait."`
}

func (c *WaitClusterCmd) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	cl, err := api.NewClient(c.Endpoint, nil)
	if err != nil {
		return err
	}
	var last error
	for {
		ci, err := cl.Cluster(ctx)
		if err == nil {
			n := 0
			for _, nd := range ci.Nodes {
				if nd.Role == meta.RoleTarget && nd.State == meta.NodeActive {
					n++
				}
			}
			if n >= c.Targets {
				if _, err := cl.Health(ctx); err == nil {
					return nil
				}
			}
			err = fmt.Errorf("%d of %d targets active", n, c.Targets)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("the cluster at %s is not ready: %v", c.Endpoint, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// S3KeyCmd makes an S3 access key through meta and prints "ID SECRET".
type S3KeyCmd struct {
	Meta string `required:"" placeholder:"URL" help:"A meta member's HTTP URL."`
	User string `default:"bench" help:"User the key belongs to."`
}

func (c *S3KeyCmd) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// Right after a start, meta may still be electing a leader (503): try again for a while.
	for {
		err := c.once(ctx)
		if err == nil || !errors.Is(err, errRetry) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

var errRetry = errors.New("meta is not ready")

func (c *S3KeyCmd) once(ctx context.Context) error {
	u := strings.TrimRight(strings.Split(c.Meta, ",")[0], "/") + "/v1/meta/keys"
	body, _ := json.Marshal(map[string]string{"user": c.User})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("POST %s: %w: %s", u, errRetry, strings.TrimSpace(string(raw)))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s: %s", u, resp.Status, strings.TrimSpace(string(raw)))
	}
	var k struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(raw, &k); err != nil || k.ID == "" || k.Secret == "" {
		return fmt.Errorf("POST %s: no key in the answer %q", u, raw)
	}
	fmt.Println(k.ID, k.Secret)
	return nil
}
