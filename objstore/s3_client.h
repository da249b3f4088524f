// S3Client: the ObjectStore of an S3-compatible bucket (AWS S3, Ceph RGW, MinIO, ...), spoken to
// with libcurl, which signs each request itself (CURLOPT_AWS_SIGV4); no SDK. Path-style or
// virtual-host addressing, payloads always signed with their SHA-256, multipart uploads above
// S3Options::multipart_threshold, retries with backoff on what a retry may mend.
// docs/format/object-store.md, "Speaking S3", has the details. Thread-safe: any number of calls
// may run at once (each takes a curl handle of its own from a small pool).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "objstore/object_store.h"
#include "objstore/s3_options.h"

namespace sloop::objstore {

class S3Client : public ObjectStore {
 public:
  // Checks the options (bucket name, endpoint URL, addressing, sizes, that there are
  // credentials: call ResolveCredentials first) without touching the network.
  static Result<std::unique_ptr<S3Client>> Create(const S3Options& o);
  ~S3Client() override;

  Result<void> PutFile(const std::string& key, const std::filesystem::path& file) override;
  Result<void> PutBytes(const std::string& key, std::string_view bytes) override;
  Result<ObjectInfo> Head(const std::string& key) override;
  Result<std::string> Get(const std::string& key, uint64_t offset = 0,
                          std::optional<uint64_t> length = std::nullopt) override;
  Result<void> Delete(const std::string& key) override;
  Result<ListPage> List(const std::string& prefix, const std::string& delimiter = "",
                        const std::string& token = "") override;

  // Creates the bucket; one that exists and is ours already is success.
  Result<void> CreateBucket();
  // HEAD of the bucket: kInvalidArgument saying to check the credentials on 403, kNotFound on
  // 404, kUnavailable when the endpoint cannot be reached.
  Result<void> CheckBucket();
  // The names of the buckets the credentials own.
  Result<std::vector<std::string>> ListBuckets();

  struct Stats {
    uint64_t requests = 0;          // HTTP requests sent (every attempt)
    uint64_t request_errors = 0;    // attempts that failed (connection, 5xx, 429, any 4xx but 404)
    uint64_t retries = 0;           // attempts repeated after a retryable failure
    uint64_t bytes_uploaded = 0;    // request bodies sent
    uint64_t bytes_downloaded = 0;  // response bodies received
  };
  Stats stats() const;

  // Cancel(): every request in flight fails within about a second, and every request started
  // until Resume() fails at once (kUnavailable, "cancelled"), retries and backoff included. A
  // stopping recorder cancels the uploader's requests before it waits for its thread, so that an
  // endpoint that hangs cannot hold up sealing the store.
  void Cancel();
  void Resume();

  const S3Options& options() const { return options_; }
  // "http://127.0.0.1:7480/bucket" or "https://bucket.s3.eu-west-1.amazonaws.com": for messages.
  std::string BucketUrl() const;

  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  struct Request;  // s3_client.cc
  struct Response;

 private:
  explicit S3Client(S3Options o);
  Result<Response> Send(const Request& r);                  // with retries
  Result<Response> SendOnce(const Request& r, void* curl);  // one attempt
  std::string Url(const Request& r) const;
  void* AcquireHandle();
  void ReleaseHandle(void* curl);
  Result<void> PutMultipart(const std::string& key, int fd, uint64_t size,
                            const std::filesystem::path& file);

  const S3Options options_;
  std::string scheme_;     // "http" or "https"
  std::string authority_;  // "host[:port]" of the endpoint
  bool virtual_host_ = false;
  std::string sigv4_;  // "aws:amz:REGION:s3"

  std::mutex pool_mu_;
  std::vector<void*> pool_;  // idle CURL easy handles (their connections kept alive)

  std::atomic<bool> cancelled_{false};
  mutable std::atomic<uint64_t> requests_{0}, request_errors_{0}, retries_{0}, bytes_uploaded_{0},
      bytes_downloaded_{0};
};

}  // namespace sloop::objstore
