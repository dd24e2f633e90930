package api

// Wire types between the gateway's S3 API and targets for multipart uploads (docs/s3.md).
// Clients of the S3 API never see them: the gateway answers in S3's XML.

// UploadInfo describes one multipart upload in progress.
type UploadInfo struct {
	Key       string `json:"key"`
	UploadID  string `json:"upload_id"`
	Initiated int64  `json:"initiated"`          // Unix nanoseconds
	Checksum  string `json:"checksum,omitempty"` // S3 checksum algorithm (crc32, ...), if any
}

// UploadList is a target's answer to GET /v1/internal/uploads/{bucket}?prefix=P on its
// control listener: its uploads of the bucket, sorted by key, then initiation time.
type UploadList struct {
	Uploads []UploadInfo `json:"uploads"`
}

// PartInfo is one stored part of an upload.
type PartInfo struct {
	Number   int    `json:"number"`
	Size     int64  `json:"size"`
	ETag     string `json:"etag"`               // MD5 of the part in hex, unquoted
	Checksum string `json:"checksum,omitempty"` // the S3 checksum of the part, base64
	Mtime    int64  `json:"mtime"`              // Unix nanoseconds
}

// PartList answers a target's GET of an upload (ListParts): all stored parts, by number.
type PartList struct {
	Upload UploadInfo `json:"upload"`
	Parts  []PartInfo `json:"parts"`
}

// CompletePart names one part in a CompleteMultipartUpload request.
type CompletePart struct {
	Number int    `json:"number"`
	ETag   string `json:"etag"`
}

// CompleteRequest is the body the gateway sends a target to complete an upload.
type CompleteRequest struct {
	Parts []CompletePart `json:"parts"`
}

// CompleteResult answers a completed upload.
type CompleteResult struct {
	ETag     string `json:"etag"`               // unquoted, "<hex>-N"
	Checksum string `json:"checksum,omitempty"` // composite S3 checksum, "<base64>-N"
	Size     int64  `json:"size"`
}
