// Constants of the shard index file format shared by IndexWriter and IndexReader (the file is a
// FlatBuffers ShardIndex, schema/index.fbs). docs/format/index.md is the reference; keep the
// three in step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sloop::index_format {

// The FlatBuffers file identifier at bytes 4..8.
inline constexpr char kFileIdentifier[5] = "SLIX";
// Written by this build. Version 1 (one uncompressed entry vector, every string spelled out in
// each entry) is still read; nothing else is.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kFormatVersionOne = 1;

// Entries are cut into blocks of this many (the last may hold fewer), each a FlatBuffers
// EntryBlock compressed as one zstd frame with its content checksum.
inline constexpr uint32_t kEntriesPerBlock = 128;
// Level for entry blocks and the recorded-names list: an index is written once per shard and
// read many times.
inline constexpr int kBlockCompressionLevel = 6;

// Sanity bounds a reader enforces before allocating: a larger size is damage.
// No block of kEntriesPerBlock entries comes near this.
inline constexpr uint32_t kMaxBlockRawBytes = 64u << 20;
// The recorded-names list grows with the resources of a shard (~50 bytes each): this allows some
// twenty million.
inline constexpr uint32_t kMaxNamesRawBytes = 1u << 30;

// EventLink.involved of an Event about no entry of the shard.
inline constexpr uint32_t kNoEntry = 0xffffffffu;

// One item of the recorded-names list: u32 entry index, u16 name length, then the name bytes,
// little-endian; names longer than 65,535 bytes are cut.
inline constexpr size_t kNameItemHeaderSize = 6;
inline constexpr size_t kMaxNameBytes = 0xffff;

}  // namespace sloop::index_format
