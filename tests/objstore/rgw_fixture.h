// RgwCluster: a one-node Ceph cluster with a RADOS Gateway for one test process
// (tools/objectstore/rgw-cluster.sh): its own directory, its own free ports, stopped (only the
// processes it started) when it goes. Start fails, never skips, when Ceph is not installed.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "base/status.h"
#include "objstore/s3_options.h"

namespace sloop::objstore::testing {

class RgwCluster {
 public:
  // Starts mon, OSD and radosgw; returns when a signed ListBuckets answers. kUnavailable with
  // what to install, or with the daemons' last log lines.
  static Result<std::unique_ptr<RgwCluster>> Start();
  ~RgwCluster();  // stops everything it started and removes its directory

  // Options for a client of this gateway (path style, us-east-1, the test user's keys, short
  // timeouts and backoff-friendly retries).
  S3Options Options(const std::string& bucket) const;
  const std::string& endpoint() const { return endpoint_; }

  // An outage of the gateway alone (the cluster keeps its data), and its end.
  Result<void> StopGateway();
  Result<void> StartGateway();

  RgwCluster(const RgwCluster&) = delete;
  RgwCluster& operator=(const RgwCluster&) = delete;

 private:
  RgwCluster() = default;
  Result<std::string> Script(const std::string& args) const;  // its output, or its failure

  std::filesystem::path dir_;
  std::string endpoint_, access_key_, secret_key_;
};

}  // namespace sloop::objstore::testing
