package meta

// Errors of multipart uploads (the S3 API's CreateMultipartUpload, UploadPart and
// CompleteMultipartUpload).
var (
	ErrUploadNotFound   = newErr(KindNotExist, "the multipart upload does not exist; it may have been aborted or completed")
	ErrInvalidPart      = newErr(KindInvalid, "one or more of the specified parts could not be found, or its entity tag does not match")
	ErrInvalidPartOrder = newErr(KindInvalid, "the list of parts was not in ascending order")
	ErrEntityTooSmall   = newErr(KindInvalid, "a part is smaller than the minimum allowed size")
	ErrMetadataTooLarge = newErr(KindInvalid, "user metadata exceeds the allowed size")
)
