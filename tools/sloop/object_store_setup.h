// From sloop's configuration to the object-store tier's settings (docs/format/object-store.md):
// the bucket and prefix of -object-store, the S3 client's endpoint, region, addressing, TLS and
// credentials (flags and file settings first, then the AWS_* environment variables, then the
// credentials file), and the uploader's cluster name, prefix and bucket retention.
#pragma once

#include <string>

#include "base/status.h"
#include "objstore/s3_options.h"
#include "objstore/uploader.h"
#include "tools/sloop/config.h"

namespace sloop {

struct ObjectStoreSetup {
  objstore::S3Options s3;
  objstore::UploaderOptions uploader;
  std::string url;  // for the log: s3://BUCKET/PREFIX/CLUSTER/shards/ at ENDPOINT
};

// default_cluster: the name used when -cluster is empty (the store's directory name for its
// context, which is already limited to the characters a cluster name may hold). Errors name the
// flag and say what to give.
Result<ObjectStoreSetup> MakeObjectStoreSetup(const SloopConfig& c,
                                              const std::string& default_cluster,
                                              const objstore::EnvLookup& env);

}  // namespace sloop
