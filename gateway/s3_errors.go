package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"

	"github.com/aisfoundry/ais/api"
	"github.com/aisfoundry/ais/meta"
	"github.com/aisfoundry/ais/telemetry"
)

// Errors that exist only in the S3 API. Each is a meta error with a kind, so code outside this
// file treats them like any other domain error; the table below gives them their S3 codes.
var (
	errS3SignatureMismatch    = &meta.Error{Kind: meta.KindPermission, Msg: "the request signature we calculated does not match the signature you provided; check your key and signing method"}
	errS3InvalidAccessKey     = &meta.Error{Kind: meta.KindPermission, Msg: "the access key ID you provided does not exist in our records"}
	errS3TimeSkewed           = &meta.Error{Kind: meta.KindPermission, Msg: "the difference between the request time and the current time is too large"}
	errS3Expired              = &meta.Error{Kind: meta.KindPermission, Msg: "request has expired"}
	errS3AnonymousDenied      = &meta.Error{Kind: meta.KindPermission, Msg: "access denied: anonymous access is refused unless the bucket is public for reads"}
	errS3SHA256Mismatch       = &meta.Error{Kind: meta.KindInvalid, Msg: "the provided 'x-amz-content-sha256' header does not match what was computed"}
	errS3MalformedXML         = &meta.Error{Kind: meta.KindInvalid, Msg: "the XML you provided was not well-formed or did not validate against our published schema"}
	errS3NotImplemented       = &meta.Error{Kind: meta.KindInvalid, Msg: "a header or query you provided implies functionality that is not implemented"}
	errS3AuthHeader           = &meta.Error{Kind: meta.KindInvalid, Msg: "the authorization header is malformed"}
	errS3AuthQuery            = &meta.Error{Kind: meta.KindInvalid, Msg: "error parsing the X-Amz-Credential parameter or another query authentication parameter"}
	errS3InvalidDigest        = &meta.Error{Kind: meta.KindInvalid, Msg: "the Content-MD5 or checksum value you specified is not valid"}
	errS3MissingLength        = &meta.Error{Kind: meta.KindInvalid, Msg: "you must provide the Content-Length HTTP header"}
	errS3KeyTooLong           = &meta.Error{Kind: meta.KindInvalid, Msg: "your key is too long"}
	errS3InvalidArgument      = &meta.Error{Kind: meta.KindInvalid, Msg: "invalid argument"}
	errS3OwnedByYou           = &meta.Error{Kind: meta.KindExist, Msg: "your previous request to create the named bucket succeeded and you already own it"}
	errS3InvalidPartNumber    = &meta.Error{Kind: meta.KindRange, Msg: "the requested partnumber is not satisfiable"}
	errS3InvalidLocation      = &meta.Error{Kind: meta.KindInvalid, Msg: "the specified location constraint is not valid for this endpoint"}
	errS3InvalidRequest       = &meta.Error{Kind: meta.KindInvalid, Msg: "invalid request"}
	errS3UnsupportedSignature = &meta.Error{Kind: meta.KindInvalid, Msg: "the authorization mechanism you have provided is not supported; please use AWS4-HMAC-SHA256"}
)

// s3Row is one line of the table: a domain error, its S3 code and status, and S3's message
// (empty: the error's own text).
type s3Row struct {
	err    *meta.Error
	code   string
	status int
	msg    string
}

// s3Table is the one mapping from errors to the S3 API's wire codes (docs/s3.md lists it).
var s3Table = []s3Row{
	{meta.ErrBucketNotFound, "NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist"},
	{meta.ErrObjectNotFound, "NoSuchKey", http.StatusNotFound, "The specified key does not exist."},
	{meta.ErrUploadNotFound, "NoSuchUpload", http.StatusNotFound, "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed."},
	{meta.ErrBucketExists, "BucketAlreadyExists", http.StatusConflict, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."},
	{errS3OwnedByYou, "BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."},
	{meta.ErrBucketNotEmpty, "BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty"},
	{meta.ErrInvalidBucketName, "InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid."},
	{errS3KeyTooLong, "KeyTooLongError", http.StatusBadRequest, "Your key is too long"},
	{meta.ErrInvalidObjectName, "InvalidArgument", http.StatusBadRequest, ""},
	{errS3InvalidPartNumber, "InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable"},
	{meta.ErrRangeNotSatisfiable, "InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"},
	{meta.ErrPrecondition, "PreconditionFailed", http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"},
	{errS3SignatureMismatch, "SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	{errS3InvalidAccessKey, "InvalidAccessKeyId", http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."},
	{errS3TimeSkewed, "RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the current time is too large."},
	{errS3Expired, "AccessDenied", http.StatusForbidden, "Request has expired"},
	{errS3AnonymousDenied, "AccessDenied", http.StatusForbidden, "Access Denied"},
	{meta.ErrPermission, "AccessDenied", http.StatusForbidden, "Access Denied"},
	{errS3MalformedXML, "MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema"},
	{meta.ErrBadDigest, "BadDigest", http.StatusBadRequest, "The Content-MD5 or checksum value you specified did not match what we received."},
	{errS3InvalidDigest, "InvalidDigest", http.StatusBadRequest, "The Content-MD5 or checksum value you specified is not valid."},
	{errS3SHA256Mismatch, "XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
	{meta.ErrIncompleteBody, "IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header"},
	{errS3MissingLength, "MissingContentLength", http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	{api.ErrEntityTooLarge, "EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."},
	{meta.ErrEntityTooSmall, "EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."},
	{meta.ErrInvalidPart, "InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."},
	{meta.ErrInvalidPartOrder, "InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts list must be specified in order by part number."},
	{meta.ErrMetadataTooLarge, "MetadataTooLarge", http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size."},
	{api.ErrMethodNotAllowed, "MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	{errS3NotImplemented, "NotImplemented", http.StatusNotImplemented, "A header you provided implies functionality that is not implemented"},
	{errS3AuthHeader, "AuthorizationHeaderMalformed", http.StatusBadRequest, ""},
	{errS3AuthQuery, "AuthorizationQueryParametersError", http.StatusBadRequest, ""},
	{errS3UnsupportedSignature, "InvalidRequest", http.StatusBadRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."},
	{errS3InvalidLocation, "IllegalLocationConstraintException", http.StatusBadRequest, ""},
	{errS3InvalidArgument, "InvalidArgument", http.StatusBadRequest, ""},
	{errS3InvalidRequest, "InvalidRequest", http.StatusBadRequest, ""},
	{meta.ErrInvalidRequest, "InvalidRequest", http.StatusBadRequest, ""},
	{meta.ErrInvalidBucketProps, "InvalidArgument", http.StatusBadRequest, ""},
	{meta.ErrCorrupt, "InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	{api.ErrRouteNotFound, "NotImplemented", http.StatusNotImplemented, ""},
}

// s3KindRows are the fallback for a domain error without a row of its own.
var s3KindRows = map[meta.Kind]s3Row{
	meta.KindNotExist:     {nil, "NoSuchKey", http.StatusNotFound, ""},
	meta.KindExist:        {nil, "InvalidRequest", http.StatusConflict, ""},
	meta.KindInvalid:      {nil, "InvalidRequest", http.StatusBadRequest, ""},
	meta.KindPermission:   {nil, "AccessDenied", http.StatusForbidden, "Access Denied"},
	meta.KindBusy:         {nil, "OperationAborted", http.StatusConflict, ""},
	meta.KindTransient:    {nil, "ServiceUnavailable", http.StatusServiceUnavailable, "Please reduce your request rate."},
	meta.KindCorrupt:      {nil, "InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	meta.KindRange:        {nil, "InvalidRange", http.StatusRequestedRangeNotSatisfiable, ""},
	meta.KindPrecondition: {nil, "PreconditionFailed", http.StatusPreconditionFailed, ""},
}

// s3Wire returns the S3 code, status and message of an error. Rows are tried in order, so an
// error that wraps two sentinels (a gateway one around a target's) takes the first row.
func s3Wire(err error) (code string, status int, msg string) {
	var me *meta.Error
	for _, r := range s3Table {
		if errors.Is(err, r.err) {
			return r.code, r.status, s3Message(r.msg, err)
		}
	}
	if errors.As(err, &me) {
		if r, ok := s3KindRows[me.Kind]; ok {
			return r.code, r.status, s3Message(r.msg, err)
		}
	}
	return "InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."
}

func s3Message(msg string, err error) string {
	if msg != "" {
		return msg
	}
	return err.Error()
}

// s3ErrorDoc is the body of every S3 error answer.
type s3ErrorDoc struct {
	XMLName    xml.Name `xml:"Error"`
	Code       string   `xml:"Code"`
	Message    string   `xml:"Message"`
	BucketName string   `xml:"BucketName,omitempty"`
	Key        string   `xml:"Key,omitempty"`
	UploadID   string   `xml:"UploadId,omitempty"`
	Resource   string   `xml:"Resource"`
	RequestID  string   `xml:"RequestId"`
	HostID     string   `xml:"HostId"`
	// Details of a signature mismatch, as S3 gives them, to help fix a client.
	AWSAccessKeyID string `xml:"AWSAccessKeyId,omitempty"`
	StringToSign   string `xml:"StringToSign,omitempty"`
	CanonicalReq   string `xml:"CanonicalRequest,omitempty"`
	ExpectedSum    string `xml:"ExpectedContentSHA256,omitempty"`
	CalculatedSum  string `xml:"CalculatedContentSHA256,omitempty"`
}

// sigDetail carries the strings a signature was computed over, for SignatureDoesNotMatch.
type sigDetail struct {
	err          error
	accessKey    string
	stringToSign string
	canonical    string
}

func (d *sigDetail) Error() string { return d.err.Error() }
func (d *sigDetail) Unwrap() error { return d.err }

// writeS3Error answers an error in S3's form: the status, x-amz-request-id and, except for
// HEAD, the XML document.
func writeS3Error(w http.ResponseWriter, r *http.Request, sr *s3Req, err error) {
	code, status, msg := s3Wire(err)
	doc := s3ErrorDoc{Code: code, Message: msg, RequestID: sr.id, HostID: sr.hostID,
		BucketName: sr.bucket, Key: sr.key, Resource: r.URL.Path}
	if code == "NoSuchUpload" {
		doc.UploadID = sr.query.Get("uploadId")
	}
	var sd *sigDetail
	if errors.As(err, &sd) {
		doc.AWSAccessKeyID, doc.StringToSign, doc.CanonicalReq = sd.accessKey, sd.stringToSign, sd.canonical
	}
	h := w.Header()
	for _, k := range []string{"Content-Length", "ETag", "Last-Modified", "Content-Range", "Accept-Ranges"} {
		h.Del(k)
	}
	h.Set("x-amz-request-id", sr.id)
	h.Set("x-amz-id-2", sr.hostID)
	h.Set(telemetry.HeaderErrorCode, code) // the errors metric's code label
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, _ := xml.Marshal(doc)
	body = append([]byte(xml.Header), body...)
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
