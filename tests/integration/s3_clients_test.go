package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aisfoundry/ais/tests/cluster"
)

// TestS3Clients runs tests/e2e/s3_clients.sh (the AWS CLI, s3cmd and rclone against the S3
// API) on a fresh cluster. .ci/run installs the clients; elsewhere the test is skipped when
// one is missing (under CI it fails instead).
func TestS3Clients(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	for _, bin := range []string{"aws", "s3cmd", "rclone"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed; .ci/run installs awscli, s3cmd and rclone", bin)
			}
			t.Skipf("%s is not installed (apt-get install awscli s3cmd rclone)", bin)
		}
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "e2e", "s3_clients.sh")
	c := cluster.Start(t, cluster.Spec{Meta: 1, Targets: 3, Mountpaths: 2, Gateways: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	key, _, err := c.MetaClient.CreateKey(ctx, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "bash", script)
	cmd.Env = append(os.Environ(), "S3_ENDPOINT="+c.GatewayURLs[0], "AWS_ACCESS_KEY_ID="+key.ID,
		"AWS_SECRET_ACCESS_KEY="+key.Secret, "TMPDIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", script, out)
	if err != nil {
		t.Fatalf("s3_clients.sh: %v", err)
	}
}
