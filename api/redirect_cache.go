package api

import (
	"hash/maphash"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// HeaderRedirectOnly on an object request asks the gateway for its redirect and nothing else:
// the gateway answers 307 with the signed target URL even when it runs with --proxy, and never
// reads a body. The Go client sends its PUTs to the gateway this way, without the body, so the
// gateway's connection stays open (a server that answers before reading a body it was offered
// must close the connection) and the body travels once, to the target.
const HeaderRedirectOnly = "Ais-Redirect-Only"

// HeaderUnreachable names (host:port) a target the client could not connect to after a
// gateway's redirect. For a GET or HEAD in an EC bucket the gateway then sends the client to
// the next target in HRW order, which rebuilds the object from its slices (QueryECFallback).
const HeaderUnreachable = "Ais-Unreachable"

// QueryECFallback on a target URL names the owner that was unreachable: the target serves a
// GET or HEAD of an object it does not own from EC slices, without storing it.
const QueryECFallback = "ec_fallback"

// DefaultRedirectCacheSize is how many signed target URLs a Client keeps by default.
const DefaultRedirectCacheSize = 32 << 10

// redirectMargin is how long before its signature expires a cached URL is no longer used, so
// that a moderately skewed clock on the client or a target does not turn it into 403s.
const redirectMargin = 60 * time.Second

// redirectCache keeps the signed target URLs gateways answered with, per method and object, until
// shortly before their signatures expire. A request that finds its URL here goes to the target
// directly, in one round trip. It is safe because the target decides: a URL whose epoch is past
// (421), whose signature expired (403) or whose target is gone (no connection) is dropped and
// the request goes to the gateway again, as any redirected request would.
type redirectCache struct {
	seed   maphash.Seed
	max    int // per shard
	now    func() time.Time
	shards [16]redirectShard
}

type redirectShard struct {
	mu sync.Mutex
	m  map[string]cachedURL
}

type cachedURL struct {
	url   string
	until time.Time
}

func newRedirectCache(size int, now func() time.Time) *redirectCache {
	c := &redirectCache{seed: maphash.MakeSeed(), max: max(size/16, 1), now: now}
	for i := range c.shards {
		c.shards[i].m = map[string]cachedURL{}
	}
	return c
}

func redirectKey(method, bucket, object string) string {
	return method + " " + bucket + "/" + object
}

func (c *redirectCache) shard(key string) *redirectShard {
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

// get returns the cached target URL of key, if there is one that is still good.
func (c *redirectCache) get(key string) (string, bool) {
	s := c.shard(key)
	s.mu.Lock()
	e, ok := s.m[key]
	s.mu.Unlock()
	if !ok || !c.now().Before(e.until) {
		return "", false
	}
	return e.url, true
}

// put remembers loc, a signed target URL, for key; a URL without an expiry (ais_exp) or about
// to expire is not kept. Only the signature's parameters are kept in the query (not, say, the
// ID of the request that brought the redirect). A full shard forgets about a quarter of its
// entries first.
func (c *redirectCache) put(key string, loc *url.URL) {
	q := loc.Query()
	exp, err := strconv.ParseInt(q.Get(QueryExpires), 10, 64)
	if err != nil {
		return
	}
	kept := *loc
	kept.RawQuery = url.Values{QueryEpoch: q[QueryEpoch], QueryExpires: q[QueryExpires], QuerySig: q[QuerySig]}.Encode()
	until := time.Unix(exp, 0).Add(-redirectMargin)
	if !c.now().Before(until) {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	if len(s.m) >= c.max {
		n := 0
		for k := range s.m { // map order is random: a random quarter goes
			delete(s.m, k)
			if n++; n >= c.max/4+1 {
				break
			}
		}
	}
	s.m[key] = cachedURL{url: kept.String(), until: until}
	s.mu.Unlock()
}

// drop forgets key.
func (c *redirectCache) drop(key string) {
	s := c.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}
