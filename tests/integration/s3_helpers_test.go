package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/tests/cluster"
)

// s3Env is a cluster with two S3 users, each with a key.
type s3Env struct {
	c          *cluster.Cluster
	endpoint   string
	key, alt   *meta.AccessKey
	cl, altCl  *s3.Client
	httpClient *http.Client
}

func newS3Env(t *testing.T, spec cluster.Spec) *s3Env {
	t.Helper()
	t.Setenv("AWS_CA_BUNDLE", "") // the machine's bundle is for real AWS endpoints
	c := cluster.Start(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := &s3Env{c: c, endpoint: c.GatewayURLs[0], httpClient: &http.Client{Timeout: 5 * time.Minute}}
	var err error
	if e.key, _, err = c.MetaClient.CreateKey(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if e.alt, _, err = c.MetaClient.CreateKey(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	e.cl = e.client(e.key, nil)
	e.altCl = e.client(e.alt, nil)
	return e
}

func (e *s3Env) client(k *meta.AccessKey, opt func(*s3.Options)) *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(e.endpoint),
		Region:       "us-east-1",
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(k.ID, k.Secret, ""),
		HTTPClient:   e.httpClient,
		Retryer:      aws.NopRetryer{},
	}, func(o *s3.Options) {
		if opt != nil {
			opt(o)
		}
	})
}

// wantS3Err checks that err is the S3 error code (and, if status > 0, the HTTP status).
func wantS3Err(t *testing.T, what string, err error, code string, status int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("%s: %v is not an API error, want %s", what, err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("%s: code %s (%v), want %s", what, ae.ErrorCode(), err, code)
	}
	if status > 0 {
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) && re.HTTPStatusCode() != status {
			t.Fatalf("%s: status %d, want %d", what, re.HTTPStatusCode(), status)
		}
	}
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signed builds a request signed with SigV4 (header) for k at time at; payloadHash is the
// x-amz-content-sha256 value ("" means the SHA-256 of body).
func (e *s3Env) signed(t *testing.T, k *meta.AccessKey, method, path string, hdr http.Header, body []byte, payloadHash string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, e.endpoint+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if payloadHash == "" {
		payloadHash = sha256hex(body)
	}
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	err = s3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret},
		req, payloadHash, "s3", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// s3Signer signs as S3 clients do: the path is encoded once.
func s3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// s3ErrDoc is the body of an S3 error.
type s3ErrDoc struct {
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	Resource  string `xml:"Resource"`
	RequestID string `xml:"RequestId"`
}

// do sends a raw request and checks the status and, when code != "", the S3 error code.
func (e *s3Env) do(t *testing.T, what string, req *http.Request, status int, code string) (*http.Response, []byte) {
	t.Helper()
	resp, err := e.httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d (%s), want %d", what, resp.StatusCode, body, status)
	}
	if code != "" {
		var d s3ErrDoc
		if err := xml.Unmarshal(body, &d); err != nil || d.Code != code {
			t.Fatalf("%s: body %q, want code %s", what, body, code)
		}
		if d.RequestID == "" || d.Resource == "" || resp.Header.Get("x-amz-request-id") != d.RequestID {
			t.Fatalf("%s: error without RequestId/Resource: %q, header %q", what, body, resp.Header.Get("x-amz-request-id"))
		}
	}
	return resp, body
}

// chunkSigner produces an aws-chunked body with per-chunk signatures (SigV4 streaming).
type chunkSigner struct {
	key      []byte
	amzDate  string
	scope    string
	prevSig  string
	tamperAt int // chunk index whose data is changed after signing (-1: none)
}

func hmacSum(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func deriveKey(secret, date, region string) []byte {
	k := hmacSum([]byte("AWS4"+secret), date)
	k = hmacSum(k, region)
	k = hmacSum(k, "s3")
	return hmacSum(k, "aws4_request")
}

func (cs *chunkSigner) chunk(i int, data []byte) []byte {
	sts := "AWS4-HMAC-SHA256-PAYLOAD\n" + cs.amzDate + "\n" + cs.scope + "\n" + cs.prevSig + "\n" +
		sha256hex(nil) + "\n" + sha256hex(data)
	sig := hex.EncodeToString(hmacSum(cs.key, sts))
	cs.prevSig = sig
	if i == cs.tamperAt && len(data) > 0 {
		data = append([]byte{data[0] ^ 1}, data[1:]...)
	}
	return append(append([]byte(fmt.Sprintf("%x;chunk-signature=%s\r\n", len(data), sig)), data...), "\r\n"...)
}

// signedChunkedPut builds a PUT of data as a signed aws-chunked body of chunkSize chunks.
func (e *s3Env) signedChunkedPut(t *testing.T, k *meta.AccessKey, path string, data []byte, chunkSize, tamperAt int) *http.Request {
	t.Helper()
	now := time.Now().UTC()
	var body bytes.Buffer
	// The encoded length must be known before signing: compute it from the framing.
	n := 0
	for off := 0; ; off += chunkSize {
		m := min(chunkSize, len(data)-off)
		if m <= 0 {
			break
		}
		n += len(fmt.Sprintf("%x;chunk-signature=", m)) + 64 + 2 + m + 2
	}
	n += len("0;chunk-signature=") + 64 + 2 + 2
	hdr := http.Header{"Content-Encoding": {"aws-chunked"}, "X-Amz-Decoded-Content-Length": {fmt.Sprint(len(data))}}
	req, err := http.NewRequest(http.MethodPut, e.endpoint+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.ContentLength = int64(n)
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	if err := s3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: k.ID, SecretAccessKey: k.Secret},
		req, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	auth := req.Header.Get("Authorization")
	seed := auth[strings.LastIndex(auth, "Signature=")+len("Signature="):]
	date := now.Format("20060102")
	cs := &chunkSigner{key: deriveKey(k.Secret, date, "us-east-1"), amzDate: req.Header.Get("X-Amz-Date"),
		scope: date + "/us-east-1/s3/aws4_request", prevSig: seed, tamperAt: tamperAt}
	i := 0
	for off := 0; off < len(data); off += chunkSize {
		body.Write(cs.chunk(i, data[off:min(off+chunkSize, len(data))]))
		i++
	}
	body.Write(cs.chunk(i, nil))
	if body.Len() != n {
		t.Fatalf("chunked body is %d bytes, computed %d", body.Len(), n)
	}
	req.Body = io.NopCloser(bytes.NewReader(body.Bytes()))
	return req
}

// dialTo makes an HTTP client that sends every connection to addr (virtual-host tests).
func dialTo(addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}}
}

func crc32IEEE() hash.Hash { return crc32.NewIEEE() }

// sendShort writes req's request line and headers (with its full Content-Length) to the
// gateway, then only partial as the body, and half-closes; it returns the answer's status and
// S3 code (0 if the server dropped the connection without answering).
func sendShort(t *testing.T, endpoint string, req *http.Request, partial []byte) (int, string) {
	t.Helper()
	host := strings.TrimPrefix(endpoint, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var hdr bytes.Buffer
	fmt.Fprintf(&hdr, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", req.Method, req.URL.RequestURI(), req.Host, req.ContentLength)
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&hdr, "%s: %s\r\n", k, v)
		}
	}
	hdr.WriteString("\r\n")
	_, _ = conn.Write(hdr.Bytes())
	_, _ = conn.Write(partial)
	_ = conn.(*net.TCPConn).CloseWrite()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var d s3ErrDoc
	_ = xml.Unmarshal(body, &d)
	return resp.StatusCode, d.Code
}
