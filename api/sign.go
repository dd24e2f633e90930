package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
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
// The key is the cluster's signing key (meta.ClusterConfig.SigningKey).
type Signer struct {
	key []byte
}

// NewSigner parses a hex key.
func NewSigner(hexKey string) (*Signer, error) {
	k, err := hex.DecodeString(hexKey)
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("api: signing key must be at least 16 bytes of hex")
	}
	return &Signer{key: k}, nil
}

func (s *Signer) mac(method, path string, epoch uint64, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\n%s\n%d\n%d", method, path, epoch, exp)
	return hex.EncodeToString(m.Sum(nil))
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
		return 0, fmt.Errorf("%w: targets accept only signed URLs from a gateway on their public port", meta.ErrPermission)
	}
	epoch, err1 := strconv.ParseUint(q.Get(QueryEpoch), 10, 64)
	exp, err2 := strconv.ParseInt(q.Get(QueryExpires), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: malformed signed URL", meta.ErrPermission)
	}
	ok := hmac.Equal([]byte(sig), []byte(s.mac(method, path, epoch, exp)))
	if !ok && method == "HEAD" {
		ok = hmac.Equal([]byte(sig), []byte(s.mac("GET", path, epoch, exp)))
	}
	if !ok {
		return 0, fmt.Errorf("%w: bad URL signature", meta.ErrPermission)
	}
	if now.Unix() > exp {
		return 0, fmt.Errorf("%w: signed URL expired; ask the gateway again", meta.ErrPermission)
	}
	return epoch, nil
}
