// Fuzzes kubeconfig parsing (ParseKubeconfig: YAML → merged clusters, users, contexts → the
// connection): any bytes are a connection or an error naming what is wrong. It reads no file
// (files a kubeconfig names are refused when parsing from memory), runs no exec plugin and
// touches no network.
#include <cstdint>
#include <string_view>

#include "ingest/ingest_options.h"
#include "ingest/kubeconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  sloop::ingest::IngestOptions options;
  auto config = sloop::ingest::ParseKubeconfig(text, options);
  if (config) {
    size_t sum = config->server.size() + config->ca_pem.size() + config->token.size() +
                 config->Describe().size();
    (void)sum;
  } else if (config.error().message.empty()) {
    __builtin_trap();  // every refusal says why
  }
  options.context = "other";
  options.apiserver_host = "https://10.0.0.1:6443";
  (void)sloop::ingest::ParseKubeconfig(text, options);
  (void)sloop::ingest::DecodeBase64(text);
  return 0;
}
