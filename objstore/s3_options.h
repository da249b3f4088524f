// What the S3 client needs to know (docs/format/object-store.md, "Speaking S3"): the bucket from
// `-object-store=s3://BUCKET/PREFIX`, the endpoint and region, the credentials and how to
// address and time out requests. ResolveCredentials fills what the flags left out from the
// standard AWS environment variables and the shared credentials file, as the AWS tools do.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace sloop::objstore {

struct S3Url {
  std::string bucket;
  std::string prefix;  // without leading or trailing '/' ("" for none)
};

// "s3://bucket", "s3://bucket/a/b/". kInvalidArgument naming the URL and the rule it breaks: the
// scheme, an empty or invalid bucket name (S3's rules: 3 to 63 bytes of [a-z0-9.-], starting and
// ending with a letter or digit, no "..", not an IPv4 address), a query or fragment, an empty
// path segment in the prefix.
Result<S3Url> ParseS3Url(std::string_view url);

// The S3 bucket naming rules alone (ParseS3Url's check); kInvalidArgument saying which.
Result<void> ValidateBucketName(std::string_view bucket);

// An environment to read variables from: the process's (ProcessEnv) or a test's.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup ProcessEnv();  // getenv; an empty variable counts as unset

struct S3Options {
  std::string bucket;
  // "http://127.0.0.1:7480" or "https://..."; empty: https://s3.<region>.amazonaws.com
  std::string endpoint;
  std::string region;  // empty → resolved: AWS_REGION, AWS_DEFAULT_REGION, else "us-east-1"
  std::string access_key, secret_key, session_token;
  // "path" | "virtual" | "auto" (auto: path when an endpoint is given, virtual for AWS)
  std::string addressing = "auto";
  std::string ca_file;            // PEM bundle for TLS (empty: the system's)
  std::string credentials_file;   // empty: AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials
  std::string profile;            // empty: AWS_PROFILE or "default"
  uint64_t part_size = 16 << 20;  // multipart part size
  uint64_t multipart_threshold = 64 << 20;  // files above this go multipart
  std::chrono::seconds connect_timeout{10}, request_timeout{300};
  int retries = 3;  // per request, on 5xx / connection errors / 429 / RequestTimeout, with backoff
};

// Fills region and credentials not given. Explicit values win; then the environment
// (AWS_ACCESS_KEY_ID with AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; AWS_REGION,
// AWS_DEFAULT_REGION); then the profile of the credentials file (aws_access_key_id,
// aws_secret_access_key, aws_session_token, region); the region falls back to "us-east-1".
// A key pair is taken whole from one source, never half from each. kInvalidArgument naming what
// to set when there are no credentials at all, or when the profile asked for is not in the file,
// or an explicit key lacks its other half.
Result<void> ResolveCredentials(S3Options* o, const EnvLookup& env);

}  // namespace sloop::objstore
