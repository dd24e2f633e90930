package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/aisfoundry/ais/meta"
)

// Query parameters of a signed target URL, as the gateway puts them in a redirect.
const (
	QueryEpoch   = "ais_epoch"
	QueryExpires = "ais_exp"
	QuerySig     = "ais_sig"
)

// Signer signs and verifies the short-lived URLs with which gateways send clients to targets.
// The key is the cluster's signing key (meta.ClusterConfig.SigningKey). It is safe for
// concurrent use.
type Signer struct {
	key  []byte
	macs sync.Pool // hash.Hash: HMAC-SHA256 with key, reset before use
}

// NewSigner parses a hex key.
func NewSigner(hexKey string) (*Signer, error) {
	k, err := hex.DecodeString(hexKey)
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("api: signing key must be at least 16 bytes of hex")
	}
	s := &Signer{key: k}
	s.macs.New = func() any { return hmac.New(sha256.New, s.key) }
	return s, nil
}

// mac is the hex HMAC-SHA256 of "method\npath\nepoch\nexp" (every gateway and target computes
// it, once per object request).
func (s *Signer) mac(method, path string, epoch uint64, exp int64) string {
	var sum [sha256.Size * 2]byte
	return string(s.appendMAC(sum[:0], method, path, epoch, exp))
}

func (s *Signer) appendMAC(dst []byte, method, path string, epoch uint64, exp int64) []byte {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	var nums [48]byte
	b := append(nums[:0], '\n')
	b = strconv.AppendUint(b, epoch, 10)
	b = append(b, '\n')
	b = strconv.AppendInt(b, exp, 10)
	_, _ = io.WriteString(m, method)
	_, _ = m.Write([]byte{'\n'})
	_, _ = io.WriteString(m, path)
	_, _ = m.Write(b)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	s.macs.Put(m)
	return hex.AppendEncode(dst, sum[:])
}

// Sign returns the query parameters that let method on path (the URL path, unescaped, such as
// "/v1/objects/b/o") through until expires.
func (s *Signer) Sign(method, path string, epoch uint64, expires time.Time) url.Values {
	exp := expires.Unix()
	return url.Values{
		QueryEpoch:   {strconv.FormatUint(epoch, 10)},
		QueryExpires: {strconv.FormatInt(exp, 10)},
		QuerySig:     {s.mac(method, path, epoch, exp)},
	}
}

// Verify checks the signature in q for method and path at now and returns the signed epoch.
// HEAD is accepted on a URL signed for GET.
func (s *Signer) Verify(method, path string, q url.Values, now time.Time) (uint64, error) {
	sig := q.Get(QuerySig)
	if sig == "" {
		return 0, fmt.Errorf("%w: targets accept object requests only on URLs signed by a gateway", meta.ErrPermission)
	}
	epoch, err1 := strconv.ParseUint(q.Get(QueryEpoch), 10, 64)
	exp, err2 := strconv.ParseInt(q.Get(QueryExpires), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: malformed signed URL", meta.ErrPermission)
	}
	var want [sha256.Size * 2]byte
	ok := hmac.Equal([]byte(sig), s.appendMAC(want[:0], method, path, epoch, exp))
	if !ok && method == "HEAD" {
		ok = hmac.Equal([]byte(sig), s.appendMAC(want[:0], "GET", path, epoch, exp))
	}
	if !ok {
		return 0, fmt.Errorf("%w: bad URL signature", meta.ErrPermission)
	}
	if now.Unix() > exp {
		return 0, fmt.Errorf("%w: signed URL expired; ask the gateway again", meta.ErrPermission)
	}
	return epoch, nil
}
