package workload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
)

// bodyMagic starts every object body a chaos client writes.
const bodyMagic = "AISCHAOS1"

// Body returns the bytes of one write: a header line naming the key, the write ID, the
// payload's length and its SHA-256, then size pseudo-random payload bytes derived from the
// write ID. Every write's bytes differ, and a reader can tell from the bytes alone whether
// they are an intact write of the key it asked for.
func Body(key, write string, size int) []byte {
	payload := make([]byte, size)
	seed := sha256.Sum256([]byte(write))
	rng := rand.NewChaCha8(seed)
	_, _ = rng.Read(payload)
	sum := sha256.Sum256(payload)
	hdr := fmt.Sprintf("%s key=%s write=%s len=%d sha256=%s\n", bodyMagic, url.QueryEscape(key),
		url.QueryEscape(write), size, hex.EncodeToString(sum[:]))
	return append([]byte(hdr), payload...)
}

// Decode checks that data is an intact write of key and returns its write ID. The error says
// what is wrong: not a chaos body, another key's bytes (misplaced), a short or long payload
// (torn), or a checksum mismatch (damaged).
func Decode(key string, data []byte) (string, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > 4096 {
		return "", fmt.Errorf("no header line in %d bytes (starts %q)", len(data), prefix(data))
	}
	fields := bytes.Fields(data[:nl])
	if len(fields) != 5 || string(fields[0]) != bodyMagic {
		return "", fmt.Errorf("bad header %q", prefix(data[:nl]))
	}
	kv := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := bytes.Cut(f, []byte("="))
		if !ok {
			return "", fmt.Errorf("bad header field %q", f)
		}
		s, err := url.QueryUnescape(string(v))
		if err != nil {
			return "", fmt.Errorf("bad header field %q", f)
		}
		kv[string(k)] = s
	}
	write := kv["write"]
	if kv["key"] != key {
		return write, fmt.Errorf("MISPLACED: bytes of key %q (write %s) served for %q", kv["key"], write, key)
	}
	n, err := strconv.Atoi(kv["len"])
	if err != nil {
		return write, fmt.Errorf("bad length %q", kv["len"])
	}
	payload := data[nl+1:]
	if len(payload) != n {
		return write, fmt.Errorf("TORN: write %s has %d payload bytes, header says %d", write, len(payload), n)
	}
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != kv["sha256"] {
		return write, fmt.Errorf("DAMAGED: payload of write %s does not match its SHA-256", write)
	}
	return write, nil
}

func prefix(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// sizeFor picks a body size: mostly small (1-16 KiB), sometimes up to 256 KiB, rarely 1 MiB.
func sizeFor(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 80:
		return 1<<10 + r.IntN(15<<10)
	case x < 97:
		return 16<<10 + r.IntN(240<<10)
	default:
		return 1 << 20
	}
}
