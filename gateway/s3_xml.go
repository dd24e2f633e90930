package gateway

import (
	"encoding/xml"
	"time"
)

// XML documents of the S3 API (namespace http://s3.amazonaws.com/doc/2006-03-01/).

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Time formats a time as S3's listings do: 2006-01-02T15:04:05.000Z.
func s3Time(unixNano int64) string {
	return time.Unix(0, unixNano).UTC().Format("2006-01-02T15:04:05.000Z")
}

type s3Owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

type s3BucketEntry struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion,omitempty"`
}

type listAllMyBucketsResult struct {
	XMLName xml.Name        `xml:"ListAllMyBucketsResult"`
	NS      string          `xml:"xmlns,attr"`
	Owner   s3Owner         `xml:"Owner"`
	Buckets []s3BucketEntry `xml:"Buckets>Bucket"`
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	NS      string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

type versioningConfiguration struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	NS        string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

type s3Grantee struct {
	XMLNS       string `xml:"xmlns:xsi,attr"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
}

type s3Grant struct {
	Grantee    s3Grantee `xml:"Grantee"`
	Permission string    `xml:"Permission"`
}

type accessControlPolicy struct {
	XMLName xml.Name  `xml:"AccessControlPolicy"`
	NS      string    `xml:"xmlns,attr"`
	Owner   s3Owner   `xml:"Owner"`
	Grants  []s3Grant `xml:"AccessControlList>Grant"`
}

type s3Object struct {
	Key          string   `xml:"Key"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	Size         int64    `xml:"Size"`
	StorageClass string   `xml:"StorageClass"`
	Owner        *s3Owner `xml:"Owner,omitempty"`
}

type s3Prefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName        xml.Name   `xml:"ListBucketResult"`
	NS             string     `xml:"xmlns,attr"`
	Name           string     `xml:"Name"`
	Prefix         string     `xml:"Prefix"`
	Marker         *string    `xml:"Marker,omitempty"`
	NextMarker     string     `xml:"NextMarker,omitempty"`
	StartAfter     string     `xml:"StartAfter,omitempty"`
	ContToken      string     `xml:"ContinuationToken,omitempty"`
	NextContToken  string     `xml:"NextContinuationToken,omitempty"`
	KeyCount       *int       `xml:"KeyCount,omitempty"`
	MaxKeys        int        `xml:"MaxKeys"`
	Delimiter      string     `xml:"Delimiter,omitempty"`
	EncodingType   string     `xml:"EncodingType,omitempty"`
	IsTruncated    bool       `xml:"IsTruncated"`
	Contents       []s3Object `xml:"Contents"`
	CommonPrefixes []s3Prefix `xml:"CommonPrefixes"`
}

type initiateMultipartUploadResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	NS       string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

type completePart struct {
	PartNumber        int    `xml:"PartNumber"`
	ETag              string `xml:"ETag"`
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

type completeMultipartUpload struct {
	XMLName xml.Name       `xml:"CompleteMultipartUpload"`
	Parts   []completePart `xml:"Part"`
}

type completeMultipartUploadResult struct {
	XMLName           xml.Name `xml:"CompleteMultipartUploadResult"`
	NS                string   `xml:"xmlns,attr"`
	Location          string   `xml:"Location"`
	Bucket            string   `xml:"Bucket"`
	Key               string   `xml:"Key"`
	ETag              string   `xml:"ETag"`
	ChecksumCRC32     string   `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string   `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string   `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string   `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string   `xml:"ChecksumSHA256,omitempty"`
	ChecksumType      string   `xml:"ChecksumType,omitempty"`
}

type s3Part struct {
	PartNumber        int    `xml:"PartNumber"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	Size              int64  `xml:"Size"`
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
}

type listPartsResult struct {
	XMLName              xml.Name `xml:"ListPartsResult"`
	NS                   string   `xml:"xmlns,attr"`
	Bucket               string   `xml:"Bucket"`
	Key                  string   `xml:"Key"`
	UploadID             string   `xml:"UploadId"`
	Initiator            s3Owner  `xml:"Initiator"`
	Owner                s3Owner  `xml:"Owner"`
	StorageClass         string   `xml:"StorageClass"`
	PartNumberMarker     int      `xml:"PartNumberMarker"`
	NextPartNumberMarker int      `xml:"NextPartNumberMarker"`
	MaxParts             int      `xml:"MaxParts"`
	IsTruncated          bool     `xml:"IsTruncated"`
	ChecksumAlgorithm    string   `xml:"ChecksumAlgorithm,omitempty"`
	Parts                []s3Part `xml:"Part"`
}

type s3Upload struct {
	Key               string  `xml:"Key"`
	UploadID          string  `xml:"UploadId"`
	Initiator         s3Owner `xml:"Initiator"`
	Owner             s3Owner `xml:"Owner"`
	StorageClass      string  `xml:"StorageClass"`
	Initiated         string  `xml:"Initiated"`
	ChecksumAlgorithm string  `xml:"ChecksumAlgorithm,omitempty"`
}

type listMultipartUploadsResult struct {
	XMLName            xml.Name   `xml:"ListMultipartUploadsResult"`
	NS                 string     `xml:"xmlns,attr"`
	Bucket             string     `xml:"Bucket"`
	KeyMarker          string     `xml:"KeyMarker"`
	UploadIDMarker     string     `xml:"UploadIdMarker"`
	NextKeyMarker      string     `xml:"NextKeyMarker"`
	NextUploadIDMarker string     `xml:"NextUploadIdMarker"`
	Prefix             string     `xml:"Prefix"`
	Delimiter          string     `xml:"Delimiter,omitempty"`
	MaxUploads         int        `xml:"MaxUploads"`
	EncodingType       string     `xml:"EncodingType,omitempty"`
	IsTruncated        bool       `xml:"IsTruncated"`
	Uploads            []s3Upload `xml:"Upload"`
	CommonPrefixes     []s3Prefix `xml:"CommonPrefixes"`
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"CopyPartResult"`
	NS           string   `xml:"xmlns,attr"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type deletedEntry struct {
	Key string `xml:"Key"`
}

type deleteErrorEntry struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type deleteResult struct {
	XMLName xml.Name           `xml:"DeleteResult"`
	NS      string             `xml:"xmlns,attr"`
	Deleted []deletedEntry     `xml:"Deleted"`
	Errors  []deleteErrorEntry `xml:"Error"`
}
