// ObjectStore: the few operations the object-store tier needs from a bucket (issue 21), so that
// the uploader and the gateway work the same against S3 (objstore/s3_client.h, libcurl SigV4)
// and against an in-process bucket in tests (objstore/memory_bucket.h). Keys are full object
// keys inside the bucket ("PREFIX/CLUSTER/shards/..."); the prefix is the caller's business.
// Every call is synchronous and thread-safe; failures are Errors that name the key and what the
// server said (kUnavailable when retrying may help, kNotFound for a missing key).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace sloop::objstore {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // as the server gives it, quotes removed
};

struct ListPage {
  std::vector<ObjectInfo> objects;
  std::vector<std::string> common_prefixes;  // with a delimiter
  std::string next_token;                    // empty: the last page
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Uploads a whole local file under key (a multipart upload above the implementation's part
  // size). The object exists with the file's bytes when this returns success.
  virtual Result<void> PutFile(const std::string& key, const std::filesystem::path& file) = 0;
  virtual Result<void> PutBytes(const std::string& key, std::string_view bytes) = 0;
  // Size and ETag; kNotFound when missing.
  virtual Result<ObjectInfo> Head(const std::string& key) = 0;
  // The object's bytes [offset, offset + length); length nullopt: to the end.
  virtual Result<std::string> Get(const std::string& key, uint64_t offset = 0,
                                  std::optional<uint64_t> length = std::nullopt) = 0;
  // Deleting a key that does not exist succeeds.
  virtual Result<void> Delete(const std::string& key) = 0;
  // One page of the keys under prefix, in key order; delimiter "/" groups deeper keys into
  // common_prefixes. token: the previous page's next_token ("" for the first).
  virtual Result<ListPage> List(const std::string& prefix, const std::string& delimiter = "",
                                const std::string& token = "") = 0;
};

}  // namespace sloop::objstore
