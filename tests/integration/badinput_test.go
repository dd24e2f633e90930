package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// noFollow is an HTTP client that returns redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// rawDo sends one request and follows a 307 by hand, re-sending the body.
func rawDo(t *testing.T, method, u string, hdr http.Header, body []byte) (*http.Response, []byte) {
	t.Helper()
	for hop := 0; hop < 3; hop++ {
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTemporaryRedirect {
			u = resp.Header.Get("Location")
			continue
		}
		return resp, data
	}
	t.Fatalf("%s %s: too many redirects", method, u)
	return nil, nil
}

func wantCode(t *testing.T, what string, resp *http.Response, data []byte, status int, code string) {
	t.Helper()
	var e api.Error
	_ = json.Unmarshal(data, &e)
	if resp.StatusCode != status || (code != "" && e.Code != code && resp.Header.Get(api.HeaderErrorCode) != code) {
		t.Errorf("%s: got %d %s %s, want %d %s", what, resp.StatusCode, e.Code, strings.TrimSpace(string(data)), status, code)
	}
}

// objectURL escapes each component of the name, so that bytes such as NUL and invalid UTF-8
// reach the server as the test means them.
func objectURL(gw, bucket, name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return gw + "/v1/objects/" + bucket + "/" + strings.Join(parts, "/")
}

// filesUnder lists every regular file below the target mountpaths (work files included).
func filesUnder(t *testing.T, c *cluster.Cluster) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, mps := range c.TargetMountpaths {
		for _, mp := range mps {
			_ = filepath.WalkDir(mp, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() && !strings.Contains(p, "/.ais/sys/") {
					out[p] = true
				}
				return nil
			})
		}
	}
	return out
}

func TestBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	c := cluster.Start(t, cluster.Spec{Meta: 3, Targets: 3, Mountpaths: 2, Gateways: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl := newClient(t, c, 0)
	gw := c.GatewayURLs[0]
	const bucket = "bad-input"
	if err := cl.CreateBucket(ctx, bucket, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutObject(ctx, bucket, "ten", strings.NewReader("0123456789"), 10, nil); err != nil {
		t.Fatal(err)
	}
	before := filesUnder(t, c)

	t.Run("body cut short", func(t *testing.T) {
		for _, proxy := range []bool{false, true} {
			u := objectURL(gw, bucket, "short")
			if proxy {
				u += "?proxy=true"
			}
			status := putShortBody(t, u, 1000, 500)
			if status != http.StatusBadRequest && status != 0 {
				t.Errorf("short body (proxy=%v): status %d, want 400 IncompleteBody or a dropped connection", proxy, status)
			}
		}
		time.Sleep(200 * time.Millisecond) // let the target notice the broken connection
		if _, err := cl.HeadObject(ctx, bucket, "short"); !errors.Is(err, meta.ErrObjectNotFound) {
			t.Errorf("after a short body, HEAD says %v; want ErrObjectNotFound", err)
		}
	})
	t.Run("wrong checksum", func(t *testing.T) {
		hdr := http.Header{api.HeaderChecksumType: {"md5"}, api.HeaderChecksumValue: {"00112233445566778899aabbccddeeff"}}
		resp, data := rawDo(t, http.MethodPut, objectURL(gw, bucket, "digest"), hdr, []byte("hello"))
		wantCode(t, "wrong checksum", resp, data, http.StatusBadRequest, "BadDigest")
		// Overwriting an existing object with a bad digest keeps the old version readable.
		resp, data = rawDo(t, http.MethodPut, objectURL(gw, bucket, "ten"), hdr, []byte("other"))
		wantCode(t, "wrong checksum over existing", resp, data, http.StatusBadRequest, "BadDigest")
		rc, _, err := cl.GetObject(ctx, bucket, "ten", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != "0123456789" {
			t.Errorf("old version after a bad-digest PUT reads %q", got)
		}
	})
	t.Run("bad names", func(t *testing.T) {
		for _, name := range []string{"a/../b", "../x", "nul\x00byte", strings.Repeat("n", 1025), "bad\xffutf8"} {
			resp, data := rawDo(t, http.MethodPut, objectURL(gw, bucket, name), nil, []byte("x"))
			wantCode(t, fmt.Sprintf("PUT %.20q", name), resp, data, http.StatusBadRequest, "InvalidObjectName")
		}
	})
	t.Run("missing bucket", func(t *testing.T) {
		resp, data := rawDo(t, http.MethodPut, objectURL(gw, "no-such-bucket", "x"), nil, []byte("x"))
		wantCode(t, "PUT into missing bucket", resp, data, http.StatusNotFound, "BucketNotFound")
		_, err := cl.PutObject(ctx, "no-such-bucket", "x", strings.NewReader("x"), 1, nil)
		if !errors.Is(err, meta.ErrBucketNotFound) {
			t.Errorf("client PUT into missing bucket: %v, want ErrBucketNotFound", err)
		}
	})
	t.Run("missing object", func(t *testing.T) {
		resp, data := rawDo(t, http.MethodGet, objectURL(gw, bucket, "no-such-object"), nil, nil)
		wantCode(t, "GET missing object", resp, data, http.StatusNotFound, "ObjectNotFound")
	})
	t.Run("unsatisfiable range", func(t *testing.T) {
		resp, data := rawDo(t, http.MethodGet, objectURL(gw, bucket, "ten"), http.Header{"Range": {"bytes=999-"}}, nil)
		wantCode(t, "Range bytes=999- of 10 bytes", resp, data, http.StatusRequestedRangeNotSatisfiable, "InvalidRange")
	})
	t.Run("invalid bucket name", func(t *testing.T) {
		resp, data := rawDo(t, http.MethodPut, gw+"/v1/buckets/Bad_Name", nil, nil)
		wantCode(t, "create Bad_Name", resp, data, http.StatusBadRequest, "InvalidBucketName")
	})
	t.Run("unsigned target request", func(t *testing.T) {
		snap, err := c.MetaClient.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tg := snap.ActiveTargets()[0]
		resp, data := rawDo(t, http.MethodPut, tg.PublicURL+"/v1/objects/"+bucket+"/sneaky", nil, []byte("x"))
		wantCode(t, "unsigned PUT to a target", resp, data, http.StatusForbidden, "AccessDenied")
	})

	// Nothing was left behind: no new files (objects or work files) anywhere.
	after := filesUnder(t, c)
	for p := range after {
		if !before[p] {
			t.Errorf("bad input left a file behind: %s", p)
		}
	}
}

// putShortBody sends a PUT that announces length bytes and sends only sent, then closes its
// side. It follows one redirect. It returns the status, or 0 if the server dropped the
// connection without answering.
func putShortBody(t *testing.T, u string, length, sent int) int {
	t.Helper()
	for hop := 0; hop < 3; hop++ {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.Dial("tcp", pu.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", pu.RequestURI(), pu.Host, length)
		br := bufio.NewReader(conn)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			conn.Close()
			return 0
		}
		if resp.StatusCode == http.StatusTemporaryRedirect {
			conn.Close()
			u = resp.Header.Get("Location")
			continue
		}
		if resp.StatusCode == http.StatusContinue {
			_, _ = conn.Write(bytes.Repeat([]byte("x"), sent))
			_ = conn.(*net.TCPConn).CloseWrite()
			resp, err = http.ReadResponse(br, nil)
			conn.Close()
			if err != nil {
				return 0
			}
			return resp.StatusCode
		}
		conn.Close()
		return resp.StatusCode
	}
	t.Fatalf("too many redirects")
	return 0
}
