package gateway

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
)

// maxXMLBody bounds the XML documents of bucket operations, DeleteObjects and
// CompleteMultipartUpload (10,000 parts take about 1 MiB).
const maxXMLBody = 2 << 20

// readXMLBody reads a small request body whole and checks it against the payload's signature
// (x-amz-content-sha256) and Content-MD5.
func (g *Gateway) readXMLBody(sr *s3Req) ([]byte, error) {
	body, err := newS3Body(sr.r, sr.sig, g.cfg.S3.MaxChunk)
	if err != nil {
		return nil, err
	}
	if body.size > maxXMLBody {
		return nil, fmt.Errorf("%w: the document is limited to %d bytes", api.ErrEntityTooLarge, maxXMLBody)
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxXMLBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxXMLBody {
		return nil, fmt.Errorf("%w: the document is limited to %d bytes", api.ErrEntityTooLarge, maxXMLBody)
	}
	if err := checkContentMD5(sr.r.Header, raw); err != nil {
		return nil, err
	}
	if err := checkChecksums(sr.r.Header, raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// writeXML answers 200 with an XML document.
func writeXML(sr *s3Req, status int, doc any) error {
	body, err := xml.Marshal(doc)
	if err != nil {
		return fmt.Errorf("gateway: encode answer: %w", err)
	}
	body = append([]byte(xml.Header), body...)
	h := sr.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	sr.w.WriteHeader(status)
	_, _ = sr.w.Write(body)
	return nil
}

func noContent(sr *s3Req, status int) error {
	sr.w.WriteHeader(status)
	return nil
}

func ownerOf(name string) s3Owner {
	if name == "" {
		name = "ais"
	}
	return s3Owner{ID: name, DisplayName: name}
}

// s3ListBuckets is ListBuckets: the buckets of the user, and those created through the
// native API (which belong to nobody).
func (g *Gateway) s3ListBuckets(sr *s3Req) error {
	if err := needUser(sr); err != nil {
		return err
	}
	s, err := g.mc.LatestSnapshot(sr.r.Context())
	if err != nil {
		return fmt.Errorf("gateway: list buckets: %w", err)
	}
	g.follower.Store(s)
	out := listAllMyBucketsResult{NS: s3NS, Owner: ownerOf(sr.user), Buckets: []s3BucketEntry{}}
	for _, b := range s.SortedBuckets() {
		if b.Provider != meta.ProviderAIS || (b.Owner != "" && b.Owner != sr.user) {
			continue
		}
		out.Buckets = append(out.Buckets, s3BucketEntry{Name: b.Name, CreationDate: s3Time(b.Created), BucketRegion: g.cfg.S3.Region})
	}
	return writeXML(sr, http.StatusOK, out)
}

// s3CreateBucket is CreateBucket. x-amz-acl: public-read makes the bucket public for reads.
func (g *Gateway) s3CreateBucket(sr *s3Req) error {
	if err := needUser(sr); err != nil {
		return err
	}
	raw, err := g.readXMLBody(sr)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		var cfg createBucketConfiguration
		if err := xml.Unmarshal(raw, &cfg); err != nil {
			return fmt.Errorf("%w: CreateBucketConfiguration: %v", errS3MalformedXML, err)
		}
		if lc := cfg.LocationConstraint; lc != "" && lc != g.cfg.S3.Region && !(lc == "US" && g.cfg.S3.Region == "us-east-1") {
			return fmt.Errorf("%w: %q; this endpoint is %s", errS3InvalidLocation, lc, g.cfg.S3.Region)
		}
	}
	var props []byte
	switch acl := sr.r.Header.Get("X-Amz-Acl"); acl {
	case "", "private", "bucket-owner-full-control":
	case "public-read":
		props = []byte(`{"access":{"public_read":true}}`)
	default:
		return fmt.Errorf("%w: x-amz-acl %q (private and public-read are supported)", errS3NotImplemented, acl)
	}
	ctx := sr.r.Context()
	_, epoch, err := g.mc.CreateBucketAs(ctx, sr.bucket, sr.user, props)
	if errors.Is(err, meta.ErrBucketExists) {
		if _, b, lerr := g.lookupBucket(ctx, sr.bucket); lerr == nil && b.Owner == sr.user {
			return fmt.Errorf("%w: %s", errS3OwnedByYou, sr.bucket)
		}
		return err
	}
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch)
	sr.w.Header().Set("Location", "/"+sr.bucket)
	return noContent(sr, http.StatusOK)
}

// s3HeadBucket is HeadBucket.
func (g *Gateway) s3HeadBucket(sr *s3Req) error {
	if _, _, err := g.s3Bucket(sr, accRead); err != nil {
		return err
	}
	sr.w.Header().Set("x-amz-bucket-region", g.cfg.S3.Region)
	return noContent(sr, http.StatusOK)
}

// s3DeleteBucket is DeleteBucket: only an empty bucket goes (BucketNotEmpty).
func (g *Gateway) s3DeleteBucket(sr *s3Req) error {
	v, b, err := g.s3Bucket(sr, accOwner)
	if err != nil {
		return err
	}
	ctx := sr.r.Context()
	entries, _, err := g.s3ListPage(ctx, v, b, "", "", 1)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%w: %s holds %s and maybe more", meta.ErrBucketNotEmpty, sr.bucket, entries[0].Name)
	}
	epoch, err := g.mc.DestroyBucket(ctx, sr.bucket)
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch)
	return noContent(sr, http.StatusNoContent)
}

// s3BucketLocation is GetBucketLocation: empty for us-east-1, as S3.
func (g *Gateway) s3BucketLocation(sr *s3Req) error {
	if _, _, err := g.s3Bucket(sr, accRead); err != nil {
		return err
	}
	region := g.cfg.S3.Region
	if region == "us-east-1" {
		region = ""
	}
	return writeXML(sr, http.StatusOK, locationConstraint{NS: s3NS, Region: region})
}

// s3GetVersioning is GetBucketVersioning: the status only (no object versions are kept).
func (g *Gateway) s3GetVersioning(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accRead)
	if err != nil {
		return err
	}
	return writeXML(sr, http.StatusOK, versioningConfiguration{NS: s3NS, Status: b.Props.S3Versioning})
}

// s3PutVersioning is PutBucketVersioning: Enabled or Suspended, kept as the status.
func (g *Gateway) s3PutVersioning(sr *s3Req) error {
	if _, _, err := g.s3Bucket(sr, accOwner); err != nil {
		return err
	}
	raw, err := g.readXMLBody(sr)
	if err != nil {
		return err
	}
	var vc versioningConfiguration
	if err := xml.Unmarshal(raw, &vc); err != nil {
		return fmt.Errorf("%w: VersioningConfiguration: %v", errS3MalformedXML, err)
	}
	if vc.Status != "Enabled" && vc.Status != "Suspended" {
		return fmt.Errorf("%w: Status must be Enabled or Suspended", errS3MalformedXML)
	}
	if vc.MfaDelete == "Enabled" {
		return fmt.Errorf("%w: MFA delete", errS3NotImplemented)
	}
	ctx := sr.r.Context()
	_, epoch, err := g.mc.PatchBucketProps(ctx, sr.bucket, []byte(`{"s3_versioning":"`+vc.Status+`"}`))
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch)
	return noContent(sr, http.StatusOK)
}

// s3GetBucketACL is GetBucketAcl: the owner's full control, and READ for everyone when the
// bucket is public for reads.
func (g *Gateway) s3GetBucketACL(sr *s3Req) error {
	_, b, err := g.s3Bucket(sr, accRead)
	if err != nil {
		return err
	}
	const xsi = "http://www.w3.org/2001/XMLSchema-instance"
	o := ownerOf(b.Owner)
	doc := accessControlPolicy{NS: s3NS, Owner: o, Grants: []s3Grant{{
		Grantee:    s3Grantee{XMLNS: xsi, Type: "CanonicalUser", ID: o.ID, DisplayName: o.DisplayName},
		Permission: "FULL_CONTROL"}}}
	if b.Props.Access.PublicRead {
		doc.Grants = append(doc.Grants, s3Grant{Grantee: s3Grantee{XMLNS: xsi, Type: "Group",
			URI: "http://acs.amazonaws.com/groups/global/AllUsers"}, Permission: "READ"})
	}
	return writeXML(sr, http.StatusOK, doc)
}

// s3PutBucketACL is PutBucketAcl with a canned ACL (x-amz-acl: private or public-read).
func (g *Gateway) s3PutBucketACL(sr *s3Req) error {
	if _, _, err := g.s3Bucket(sr, accOwner); err != nil {
		return err
	}
	var public bool
	switch acl := sr.r.Header.Get("X-Amz-Acl"); acl {
	case "private":
	case "public-read":
		public = true
	case "":
		return fmt.Errorf("%w: an ACL document (use x-amz-acl: private or public-read)", errS3NotImplemented)
	default:
		return fmt.Errorf("%w: x-amz-acl %q (private and public-read are supported)", errS3NotImplemented, acl)
	}
	ctx := sr.r.Context()
	_, epoch, err := g.mc.PatchBucketProps(ctx, sr.bucket, []byte(`{"access":{"public_read":`+strconv.FormatBool(public)+`}}`))
	if err != nil {
		return err
	}
	g.awaitEpoch(ctx, epoch)
	return noContent(sr, http.StatusOK)
}
