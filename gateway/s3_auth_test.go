package gateway

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The examples of AWS's SigV4 documentation for S3 (credentials AKIAIOSFODNN7EXAMPLE /
// wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, 2013-05-24, us-east-1) with their published
// signatures.
const (
	exampleKey    = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var exampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

func readRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func authHeader(signed, sig string) string {
	return "AWS4-HMAC-SHA256 Credential=" + exampleKey + "/20130524/us-east-1/s3/aws4_request,SignedHeaders=" + signed + ",Signature=" + sig
}

func TestSigV4DocumentedExamples(t *testing.T) {
	tests := []struct {
		name, raw string
	}{
		{"GET object with range", "GET /test.txt HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nRange: bytes=0-9\r\n" +
			"x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\nx-amz-date: 20130524T000000Z\r\n" +
			"Authorization: " + authHeader("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41") + "\r\n\r\n"},
		{"PUT object", "PUT /test%24file.text HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nDate: Fri, 24 May 2013 00:00:00 GMT\r\n" +
			"x-amz-date: 20130524T000000Z\r\nx-amz-storage-class: REDUCED_REDUNDANCY\r\n" +
			"x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\r\nContent-Length: 21\r\n" +
			"Authorization: " + authHeader("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd") + "\r\n\r\nWelcome to Amazon S3."},
		{"GET bucket lifecycle", "GET /?lifecycle HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nx-amz-date: 20130524T000000Z\r\n" +
			"x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n" +
			"Authorization: " + authHeader("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543") + "\r\n\r\n"},
		{"list objects", "GET /?max-keys=2&prefix=J HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\nx-amz-date: 20130524T000000Z\r\n" +
			"x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\r\n" +
			"Authorization: " + authHeader("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7") + "\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := readRequest(t, tc.raw)
			sv, err := parseHeaderAuth(r, exampleTime.Add(time.Minute), 15*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := sv.verify(r, exampleSecret); err != nil {
				var sd *sigDetail
				errors.As(err, &sd)
				t.Fatalf("%v\ncanonical request:\n%s\nstring to sign:\n%s", err, sd.canonical, sd.stringToSign)
			}
			if err := sv.verify(r, exampleSecret+"x"); !errors.Is(err, errS3SignatureMismatch) {
				t.Fatalf("wrong secret: %v", err)
			}
			if _, err := parseHeaderAuth(r, exampleTime.Add(16*time.Minute), 15*time.Minute); !errors.Is(err, errS3TimeSkewed) {
				t.Fatalf("skewed clock: %v", err)
			}
		})
	}
}

func TestSigV4PresignedExample(t *testing.T) {
	const u = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
		"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
		"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
	r := readRequest(t, "GET "+u+" HTTP/1.1\r\nHost: examplebucket.s3.amazonaws.com\r\n\r\n")
	q := parseS3Query(r.URL.RawQuery)
	sv, err := parsePresigned(q, exampleTime.Add(time.Hour), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := sv.verify(r, exampleSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := parsePresigned(q, exampleTime.Add(24*time.Hour+time.Second), 15*time.Minute); !errors.Is(err, errS3Expired) {
		t.Fatalf("expired URL: %v", err)
	}
	q.Set("X-Amz-Expires", "604801")
	if _, err := parsePresigned(q, exampleTime.Add(time.Hour), 15*time.Minute); !errors.Is(err, errS3AuthQuery) {
		t.Fatalf("expiry over 7 days: %v", err)
	}
}

// chunkedExample builds the body of AWS's chunked upload example: 65 KiB of 'a' in 64 KiB
// chunks with the published chunk signatures.
func chunkedExample(sigs []string, tamper bool) []byte {
	data := bytes.Repeat([]byte("a"), 65*1024)
	var b bytes.Buffer
	chunks := [][]byte{data[:64*1024], data[64*1024:], {}}
	for i, c := range chunks {
		if tamper && i == 1 {
			c = append([]byte("b"), c[1:]...)
		}
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), sigs[i])
		b.Write(c)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func TestSigV4ChunkedExample(t *testing.T) {
	sigs := []string{"ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
		"0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
		"b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"}
	for _, tamper := range []bool{false, true} {
		t.Run(fmt.Sprintf("tamper=%v", tamper), func(t *testing.T) {
			body := chunkedExample(sigs, tamper)
			raw := "PUT /examplebucket/chunkObject.txt HTTP/1.1\r\nHost: s3.amazonaws.com\r\nx-amz-date: 20130524T000000Z\r\n" +
				"x-amz-storage-class: REDUCED_REDUNDANCY\r\nx-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\r\n" +
				"Content-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 66560\r\nContent-Length: 66824\r\n" +
				"Authorization: " + authHeader("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
				"4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9") + "\r\n\r\n" + string(body)
			r := readRequest(t, raw)
			sv, err := parseHeaderAuth(r, exampleTime, 15*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if err := sv.verify(r, exampleSecret); err != nil {
				t.Fatal(err)
			}
			b, err := newS3Body(r, sv, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(b)
			if tamper {
				if !errors.Is(err, errS3SignatureMismatch) {
					t.Fatalf("tampered chunk: %v", err)
				}
				if len(got) >= 66560 {
					t.Fatalf("a tampered body reached its length (%d bytes)", len(got))
				}
				return
			}
			if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) || b.size != 66560 {
				t.Fatalf("decoded %d bytes, err %v", len(got), err)
			}
		})
	}
}

func TestHoldBackKeepsLastByteUntilChecked(t *testing.T) {
	payload := []byte("hello, world")
	for _, bufSize := range []int{1, 2, 3, 7, 64} {
		for _, fail := range []bool{false, true} {
			t.Run(fmt.Sprintf("buf=%d fail=%v", bufSize, fail), func(t *testing.T) {
				src := &failAtEOF{r: bytes.NewReader(payload), fail: fail}
				h := &holdBack{src: src}
				var got []byte
				buf := make([]byte, bufSize)
				var err error
				for {
					var n int
					n, err = h.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				if fail {
					if err == io.EOF || len(got) >= len(payload) {
						t.Fatalf("failed source: got %d bytes and %v", len(got), err)
					}
					return
				}
				if err != io.EOF || !bytes.Equal(got, payload) {
					t.Fatalf("got %q, %v", got, err)
				}
			})
		}
	}
}

type failAtEOF struct {
	r    io.Reader
	fail bool
}

func (f *failAtEOF) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF && f.fail {
		return n, errors.New("check failed")
	}
	return n, err
}

func TestUnsignedTrailer(t *testing.T) {
	data := []byte("0123456789abcdef")
	h := s3Hash("crc32")()
	h.Write(data)
	crc := base64.StdEncoding.EncodeToString(h.Sum(nil))
	for _, tc := range []struct {
		name, trailer string
		wantErr       error
	}{
		{"good", "x-amz-checksum-crc32:" + crc, nil},
		{"bad", "x-amz-checksum-crc32:AAAAAA==", errBadDigestForTest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf("10\r\n%s\r\n0\r\n%s\r\n\r\n", data, tc.trailer)
			raw := "PUT /b/k HTTP/1.1\r\nHost: x\r\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n" +
				"Content-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 16\r\nx-amz-trailer: x-amz-checksum-crc32\r\n" +
				fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + body
			r := readRequest(t, raw)
			b, err := newS3Body(r, nil, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(b)
			if tc.wantErr != nil {
				if err == nil || !strings.Contains(err.Error(), "checksum") || len(got) >= len(data) {
					t.Fatalf("bad trailer: %d bytes, %v", len(got), err)
				}
				return
			}
			if err != nil || string(got) != string(data) || b.trailerSum != "crc32" {
				t.Fatalf("got %q, %v, trailer %q", got, err, b.trailerSum)
			}
		})
	}
}

var errBadDigestForTest = errors.New("bad digest")
