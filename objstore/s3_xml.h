// The XML that S3 answers with, and the one body the client sends (CompleteMultipartUpload), read
// with expat. Only the elements the client uses are kept; anything else is ignored, and the S3
// namespace attribute is not needed to find them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "objstore/object_store.h"

namespace sloop::objstore {

// <Error><Code/><Message/><RequestId/></Error>
struct S3ErrorBody {
  std::string code;
  std::string message;
  std::string request_id;
};

// An <Error> document; nullopt when xml is not one (empty, HTML from a proxy, other XML).
std::optional<S3ErrorBody> ParseS3Error(std::string_view xml);

// ListObjectsV2's <ListBucketResult>: Contents (Key, Size, ETag without its quotes),
// CommonPrefixes/Prefix, and NextContinuationToken when IsTruncated is true. kCorruption when the
// document is not well-formed or is another one; kCorruption as well when it says it is truncated
// without a token (following it would list the first page again for ever).
Result<ListPage> ParseListBucketResult(std::string_view xml);

// <InitiateMultipartUploadResult><UploadId>: the upload id (kCorruption when absent).
Result<std::string> ParseInitiateMultipartUpload(std::string_view xml);

// <ListAllMyBucketsResult><Buckets><Bucket><Name>: the names, in the server's order.
Result<std::vector<std::string>> ParseListAllMyBuckets(std::string_view xml);

// The body of CompleteMultipartUpload: parts numbered 1..n with their ETags (as the server gave
// them, quotes added when missing).
std::string CompleteMultipartXml(const std::vector<std::string>& etags);

// &, <, >, " and ' as entities.
std::string XmlEscape(std::string_view s);

}  // namespace sloop::objstore
