package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/aisfoundry/ais/meta"
)

// Error is the JSON body of every native API error:
//
//	{"code": "BucketNotFound", "message": "bucket \"ais://x\" does not exist", "status": 404}
//
// On the client side it unwraps to the meta sentinel of its code, so
// errors.Is(err, meta.ErrBucketNotFound) holds across the wire.
type Error struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Status    int    `json:"status"`
	RequestID string `json:"request_id,omitempty"`
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Message
}

// Unwrap returns the domain sentinel for the code, if there is one.
func (e *Error) Unwrap() error {
	if r, ok := byCode[e.Code]; ok {
		return r.err
	}
	return nil
}

// Errors that exist only at the HTTP edge.
var (
	ErrRouteNotFound    = &meta.Error{Kind: meta.KindNotExist, Msg: "no such API endpoint"}
	ErrMethodNotAllowed = &meta.Error{Kind: meta.KindInvalid, Msg: "method not allowed on this endpoint"}
	ErrEntityTooLarge   = &meta.Error{Kind: meta.KindInvalid, Msg: "request body too large"}
)

type row struct {
	err    *meta.Error
	code   string
	status int
}

// table is the one mapping from domain errors to native wire codes. Codes are stable: clients
// and scripts match on them. Add rows; never rename a code.
var table = []row{
	{meta.ErrBucketNotFound, "BucketNotFound", http.StatusNotFound},
	{meta.ErrBucketExists, "BucketAlreadyExists", http.StatusConflict},
	{meta.ErrBucketNotEmpty, "BucketNotEmpty", http.StatusConflict},
	{meta.ErrInvalidBucketName, "InvalidBucketName", http.StatusBadRequest},
	{meta.ErrInvalidBucketProps, "InvalidBucketProps", http.StatusBadRequest},
	{meta.ErrObjectNotFound, "ObjectNotFound", http.StatusNotFound},
	{meta.ErrInvalidObjectName, "InvalidObjectName", http.StatusBadRequest},
	{meta.ErrNodeNotFound, "NodeNotFound", http.StatusNotFound},
	{meta.ErrInvalidNode, "InvalidNode", http.StatusBadRequest},
	{meta.ErrInvalidConfig, "InvalidConfig", http.StatusBadRequest},
	{meta.ErrInvalidRequest, "InvalidRequest", http.StatusBadRequest},
	{meta.ErrBadDigest, "BadDigest", http.StatusBadRequest},
	{meta.ErrIncompleteBody, "IncompleteBody", http.StatusBadRequest},
	{meta.ErrRangeNotSatisfiable, "InvalidRange", http.StatusRequestedRangeNotSatisfiable},
	{meta.ErrCorrupt, "Corrupt", http.StatusInternalServerError},
	{meta.ErrPermission, "AccessDenied", http.StatusForbidden},
	{meta.ErrNotLeader, "NotLeader", http.StatusServiceUnavailable},
	{meta.ErrStaleEpoch, "StaleEpoch", http.StatusMisdirectedRequest},
	{meta.ErrUnavailable, "Unavailable", http.StatusServiceUnavailable},
	{meta.ErrNoTargets, "NoTargets", http.StatusServiceUnavailable},
	{meta.ErrStaleView, "StaleView", http.StatusServiceUnavailable},
	{meta.ErrLeaseHeld, "LeaseHeld", http.StatusConflict},
	{meta.ErrLeaseNotFound, "LeaseNotFound", http.StatusNotFound},
	{meta.ErrStaleToken, "StaleToken", http.StatusConflict},
	{meta.ErrPrecondition, "PreconditionFailed", http.StatusPreconditionFailed},
	{meta.ErrTooFewSlices, "TooFewSlices", http.StatusInternalServerError},
	{meta.ErrJobNotFound, "JobNotFound", http.StatusNotFound},
	{meta.ErrJobKind, "InvalidJobKind", http.StatusBadRequest},
	{meta.ErrJobRunning, "JobRunning", http.StatusConflict},
	{meta.ErrMountpathExists, "MountpathExists", http.StatusConflict},
	{meta.ErrNoMountpath, "MountpathNotFound", http.StatusNotFound},
	{meta.ErrMountpathFault, "MountpathFault", http.StatusServiceUnavailable},
	{meta.ErrUserNotFound, "UserNotFound", http.StatusNotFound},
	{meta.ErrUserExists, "UserAlreadyExists", http.StatusConflict},
	{meta.ErrAccessKeyNotFound, "AccessKeyNotFound", http.StatusNotFound},
	{meta.ErrAccessKeyExists, "AccessKeyAlreadyExists", http.StatusConflict},
	{meta.ErrUploadNotFound, "NoSuchUpload", http.StatusNotFound},
	{meta.ErrInvalidPart, "InvalidPart", http.StatusBadRequest},
	{meta.ErrInvalidPartOrder, "InvalidPartOrder", http.StatusBadRequest},
	{meta.ErrEntityTooSmall, "EntityTooSmall", http.StatusBadRequest},
	{meta.ErrMetadataTooLarge, "MetadataTooLarge", http.StatusBadRequest},
	{ErrRouteNotFound, "NotFound", http.StatusNotFound},
	{ErrMethodNotAllowed, "MethodNotAllowed", http.StatusMethodNotAllowed},
	{ErrEntityTooLarge, "EntityTooLarge", http.StatusRequestEntityTooLarge},
}

var byCode = func() map[string]row {
	m := make(map[string]row, len(table))
	for _, r := range table {
		m[r.code] = r
	}
	return m
}()

// kindStatus is the fallback for a domain error that has no row of its own.
var kindStatus = map[meta.Kind]row{
	meta.KindNotExist:     {nil, "NotFound", http.StatusNotFound},
	meta.KindExist:        {nil, "AlreadyExists", http.StatusConflict},
	meta.KindInvalid:      {nil, "InvalidRequest", http.StatusBadRequest},
	meta.KindPermission:   {nil, "AccessDenied", http.StatusForbidden},
	meta.KindBusy:         {nil, "Busy", http.StatusConflict},
	meta.KindTransient:    {nil, "Unavailable", http.StatusServiceUnavailable},
	meta.KindCorrupt:      {nil, "Corrupt", http.StatusInternalServerError},
	meta.KindRange:        {nil, "InvalidRange", http.StatusRequestedRangeNotSatisfiable},
	meta.KindPrecondition: {nil, "PreconditionFailed", http.StatusPreconditionFailed},
}

// ToWire turns any error into its wire form. An *Error passes through (a forwarded answer);
// domain errors take their row; anything else is 500 Internal.
func ToWire(err error) *Error {
	var we *Error
	if errors.As(err, &we) {
		return &Error{Code: we.Code, Message: err.Error(), Status: we.Status}
	}
	var me *meta.Error
	if errors.As(err, &me) {
		for _, r := range table {
			if r.err == me {
				return &Error{Code: r.code, Message: err.Error(), Status: r.status}
			}
		}
		r := kindStatus[me.Kind]
		if r.code != "" {
			return &Error{Code: r.code, Message: err.Error(), Status: r.status}
		}
	}
	return &Error{Code: "Internal", Message: err.Error(), Status: http.StatusInternalServerError}
}

// StatusOf returns the HTTP status err maps to.
func StatusOf(err error) int { return ToWire(err).Status }

// WriteError writes err as a JSON error response. For HEAD requests only the status and the
// Ais-Error-Code header are sent.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	we := ToWire(err)
	if id := w.Header().Get(HeaderRequestID); id != "" {
		we.RequestID = id
	}
	h := w.Header()
	h.Set(HeaderErrorCode, we.Code)
	h.Del("Content-Length")
	h.Del(HeaderChecksumType)
	h.Del(HeaderChecksumValue)
	h.Del("ETag")
	if r != nil && r.Method == http.MethodHead {
		w.WriteHeader(we.Status)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(we.Status)
	_ = json.NewEncoder(w).Encode(we)
}

// decodeError reads an error response into an *Error.
func decodeError(resp *http.Response, body []byte) *Error {
	var e Error
	if len(body) > 0 && json.Unmarshal(body, &e) == nil && e.Code != "" {
		if e.Status == 0 {
			e.Status = resp.StatusCode
		}
		return &e
	}
	code := resp.Header.Get(HeaderErrorCode)
	if code == "" {
		code = statusCode(resp.StatusCode)
	}
	msg := fmt.Sprintf("%s %s: %s", resp.Request.Method, resp.Request.URL.Path, resp.Status)
	if r, ok := byCode[code]; ok {
		msg = r.err.Msg
	}
	return &Error{Code: code, Message: msg, Status: resp.StatusCode}
}

func statusCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return "NotFound"
	case http.StatusRequestedRangeNotSatisfiable:
		return "InvalidRange"
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return "Unavailable"
	case http.StatusForbidden:
		return "AccessDenied"
	}
	if status >= 500 {
		return "Internal"
	}
	return "InvalidRequest"
}
