#include "tools/sloop/object_store_setup.h"

#include "objstore/shard_keys.h"

namespace sloop {

Result<ObjectStoreSetup> MakeObjectStoreSetup(const SloopConfig& c,
                                              const std::string& default_cluster,
                                              const objstore::EnvLookup& env) {
  auto bad = [](const std::string& flag, const std::string& what) {
    return std::unexpected(Error{ErrorCode::kInvalidArgument, flag + ": " + what});
  };
  auto url = objstore::ParseS3Url(c.object_store);
  if (!url) return bad("-object-store", url.error().message);
  ObjectStoreSetup out;
  objstore::S3Options& s3 = out.s3;
  s3.bucket = url->bucket;
  s3.endpoint = c.object_store_endpoint;
  s3.region = c.object_store_region;
  s3.access_key = c.object_store_access_key_id;
  s3.secret_key = c.object_store_secret_access_key;
  s3.credentials_file = c.object_store_credentials_file;
  s3.profile = c.object_store_profile;
  s3.addressing = c.object_store_addressing;
  s3.ca_file = c.object_store_ca_file;
  s3.part_size = static_cast<uint64_t>(c.object_store_part_size_mb) << 20;
  s3.multipart_threshold = s3.part_size * 4;
  if (auto r = objstore::ResolveCredentials(&s3, env); !r) return std::unexpected(r.error());
  const std::string cluster = c.cluster.empty() ? default_cluster : c.cluster;
  if (auto r = objstore::ValidateClusterName(cluster); !r) {
    return bad("-cluster", r.error().message +
                               (c.cluster.empty() ? " (it is the context's name: give -cluster)"
                                                  : ""));
  }
  out.uploader.prefix = url->prefix;
  out.uploader.cluster = cluster;
  out.uploader.retention = c.object_store_retention;
  out.url = "s3://" + s3.bucket + "/" + objstore::ClusterShardsPrefix(url->prefix, cluster) +
            " at " + (s3.endpoint.empty() ? "AWS S3 (" + s3.region + ")" : s3.endpoint);
  return out;
}

}  // namespace sloop
