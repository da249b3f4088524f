// Constants of the shard index file format shared by IndexWriter and IndexReader (the file is a
// FlatBuffers ShardIndex, schema/index.fbs; the entry blocks of version 3 are index/entry_block.h's
// own encoding). docs/format/index.md is the reference; keep them in step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sloop::index_format {

// The FlatBuffers file identifier at bytes 4..8.
inline constexpr char kFileIdentifier[5] = "SLIX";
// Written by this build: entry blocks in the compact columnar encoding (EntryBlockBuilder).
// Versions 1 (one uncompressed FlatBuffers entry vector) and 2 (FlatBuffers entry blocks) are
// still read; nothing else is. Version 4 is version 3 whose blocks may also hold entries whose
// times are in the segment (an Event's, in an index rewritten against its base): a file is
// written as 4 when it has one, as 3 otherwise, and both read alike.
inline constexpr uint32_t kFormatVersion = 3;
inline constexpr uint32_t kFormatVersionOne = 1;
inline constexpr uint32_t kFormatVersionTwo = 2;
inline constexpr uint32_t kFormatVersionFour = 4;

// Versions 3 and 4: columnar entry blocks, record ordinals, bases.
inline constexpr bool Columnar(uint32_t version) {
  return version == kFormatVersion || version == kFormatVersionFour;
}

// Entries are cut into blocks of this many (the last may hold fewer), each compressed as one
// zstd frame with its content checksum. Version 2 wrote 128 a block.
inline constexpr uint32_t kEntriesPerBlock = 128;
// Level for entry blocks and the recorded-names list: an index is written once per shard and
// read many times.
inline constexpr int kBlockCompressionLevel = 6;

// Sanity bounds a reader enforces before allocating: a larger size is damage.
// No block of kEntriesPerBlock entries comes near this.
inline constexpr uint32_t kMaxBlockRawBytes = 64u << 20;
// Every writer (format versions 2 to 4) cut blocks of kEntriesPerBlock. Larger blocks would let a
// small file claim billions of entries (each block costs at least its 20 bytes of directory, so
// a file holds at most 6.4 entries a byte of it) and have verification decode them all.
inline constexpr uint32_t kMaxEntriesPerBlock = kEntriesPerBlock;
// Owners an entry keeps (an object's ownerReferences beyond these are left to its payload; a
// controller among them is kept in place of the last). A decoded owner takes 56 bytes for its 4
// stored at least: without this bound, one block of kMaxBlockRawBytes could ask for 0.9 GB.
inline constexpr uint32_t kMaxOwnersPerEntry = 128;
// The recorded-names list grows with the resources of a shard (~50 bytes each): this allows some
// twenty million.
inline constexpr uint32_t kMaxNamesRawBytes = 1u << 30;

// EntryRow::ref of an entry that holds its own key.
inline constexpr uint32_t kNoRef = 0xffffffffu;

// EventLink.involved of an Event about no entry of the shard (version 2).
inline constexpr uint32_t kNoEntry = 0xffffffffu;

// One item of the recorded-names list: u32 entry index, u16 name length, then the name bytes,
// little-endian; names longer than 65,535 bytes are cut.
inline constexpr size_t kNameItemHeaderSize = 6;
inline constexpr size_t kMaxNameBytes = 0xffff;

// Version 3: the streams of an entry block, in the order they follow the block's header.
enum BlockStream : size_t {
  kKeyRuns,    // runs of (kind, namespace, API group, API version) string refs
  kNames,      // each name: bytes shared with the name before, then the rest
  kUids,       // each uid: 16 bytes when canonical, else the string
  kFlags,      // one byte an entry: ResourceFlags
  kMasks,      // a varint an entry: which optional parts follow (EntryMask)
  kCounts,     // record, change and no-change counts
  kTimes,      // first and last record times, creation time
  kTicks,      // change and no-change seconds
  kHeat,       // heat cells
  kOwners,     // the block's owner lists, then each entry's list number
  kVersions,   // last_resource_version
  kEvents,     // the fields of Event entries
  kPositions,  // each entry with records: its first record's ordinal against the running one
  kAbout,      // for the entries with Events about them: which Event entries
  kRefs,       // each entry named through the base index: its entry index there
  kBlockStreams
};

}  // namespace sloop::index_format
