package workload

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// s3ListPage is the page size of the S3 clients' listings: small enough that a listing of
// the register keys takes several pages.
const s3ListPage = 40

// s3ListResult is the part of a ListObjectsV2 answer a listing needs.
type s3ListResult struct {
	Contents []struct {
		Key string `xml:"Key"`
	} `xml:"Contents"`
	IsTruncated bool   `xml:"IsTruncated"`
	NextToken   string `xml:"NextContinuationToken"`
}

// list names every object under prefix with ListObjectsV2, page by page (max-keys, then
// continuation-token).
func (s *s3proto) list(ctx context.Context, bucket, prefix string, page int) ([]string, error) {
	keys := []string{}
	token := ""
	for {
		q := url.Values{"list-type": {"2"}, "prefix": {prefix}, "max-keys": {strconv.Itoa(page)}}
		if token != "" {
			q.Set("continuation-token", token)
		}
		resp, err := s.send(ctx, http.MethodGet, bucket, "", q, nil, nil)
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read ListObjectsV2 answer: %w", err)
		}
		var res s3ListResult
		if err := xml.Unmarshal(raw, &res); err != nil {
			return nil, fmt.Errorf("ListObjectsV2 answer: %w", err)
		}
		for _, c := range res.Contents {
			keys = append(keys, c.Key)
		}
		if !res.IsTruncated {
			return keys, nil
		}
		if res.NextToken == "" || res.NextToken == token {
			return nil, fmt.Errorf("ListObjectsV2: truncated without a new continuation token")
		}
		token = res.NextToken
	}
}
