// One zstd decompression context per thread, for every reader of compressed blocks (segments,
// shard indexes): readers run on many query threads at once.
#pragma once

struct ZSTD_DCtx_s;

namespace sloop {

ZSTD_DCtx_s* ThreadZstdDCtx();

}  // namespace sloop
