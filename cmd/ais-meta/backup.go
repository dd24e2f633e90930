package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/metasrv"
)

type backupCmd struct {
	Meta    []string      `required:"" sep:"," placeholder:"URL" help:"HTTP URL of a meta member; repeat or separate with commas (any member answers: followers forward to the leader)."`
	Out     string        `required:"" short:"o" placeholder:"FILE" help:"File to write the backup to (replaced atomically). It holds the cluster's signing key: keep it like a secret."`
	Timeout time.Duration `default:"30s" help:"Give up after this long."`
}

func (c *backupCmd) Run() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	hc := api.NewHTTPClient()
	var lastErr error
	for _, base := range c.Meta {
		data, epoch, err := fetchBackup(ctx, hc, strings.TrimRight(base, "/"))
		if err != nil {
			lastErr = err
			continue
		}
		if err := writeAtomic(c.Out, data); err != nil {
			return err
		}
		fmt.Printf("saved the metadata at epoch %s (%d bytes) to %s\n", epoch, len(data), c.Out)
		return nil
	}
	return fmt.Errorf("backup: no member answered: %w", lastErr)
}

func fetchBackup(ctx context.Context, hc *http.Client, base string) ([]byte, string, error) {
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		base = "http://" + base
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/meta/backup", nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("%s: %w", base, api.ReadError(resp))
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", base, err)
	}
	return data, resp.Header.Get(api.HeaderEpoch) + " (Raft index " + resp.Header.Get(metasrv.HeaderBackupApplied) + ")", nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ais-meta-backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
