// Constants of the segment file format shared by SegmentWriter and SegmentReader.
// docs/format/segment.md is the reference; keep the two in step.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sloop::segment_format {

// File header (16 bytes): magic (8) | format version (u32) | flags (u32, zero), little-endian.
// The format version is the newest block format the file may hold: 1 for files of format 1
// blocks only, 2 once a file may hold format 2 blocks (so that a build that reads only format 1
// refuses the file as a whole, instead of taking its blocks for damage).
inline constexpr char kFileMagic[8] = {'S', 'L', 'O', 'O', 'P', 'S', 'E', 'G'};
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr size_t kFileHeaderSize = 16;

// Block frame, little-endian:
//   0  magic              u32  "SLBK"
//   4  block format       u16  1 = FlatBuffers records, 2 = columnar
//   6  codec              u8   1 = zstd, 2 = zstd against the segment's dictionary
//   7  flags              u8   0, or kFlagDictionary for the dictionary block
//   8  compressed bytes   u32  payload length in the file
//  12  uncompressed bytes u32
//  16  record count       u32
//  20  reserved           u32  zero
//  24  min observed ns    i64
//  32  max observed ns    i64
//  40  payload            compressed bytes
//  40+compressed: xxh64   u64  of bytes [0, 40 + compressed), seed 0
inline constexpr uint32_t kBlockMagic = 0x4b424c53;
inline constexpr uint16_t kBlockRecords = 1;   // block format 1: one FlatBuffer per record
inline constexpr uint16_t kBlockColumnar = 2;  // block format 2: columns, then the payloads
inline constexpr uint8_t kCodecZstd = 1;
inline constexpr uint8_t kCodecZstdDictionary = 2;
// A segment may start (at kFileHeaderSize) with a dictionary block: flags kFlagDictionary, block
// format kBlockColumnar, codec kCodecZstd, no records, time range zero; its payload is raw zstd
// dictionary content (examples of the records' JSON) against which the blocks of codec
// kCodecZstdDictionary are compressed. It is not a block of records: listings skip it.
inline constexpr uint8_t kFlagDictionary = 0x01;
inline constexpr uint32_t kMaxDictionaryBytes = 256u << 10;
inline constexpr size_t kBlockHeaderSize = 40;
inline constexpr size_t kBlockTrailerSize = 8;
// Sanity bounds a reader enforces before allocating: a larger length is corruption.
inline constexpr uint32_t kMaxBlockBytes = 256u << 20;
inline constexpr uint32_t kMaxRecordsPerBlock = 16u << 20;
// Format 2 blocks are decoded into one view per record up front: fewer records, so that a
// damaged count cannot ask for gigabytes (writers start a new block at this count).
inline constexpr uint32_t kMaxColumnarRecordsPerBlock = 1u << 20;

// Block format 1: inside the uncompressed payload, each record is: length (u32) | reserved (u32,
// zero) | FlatBuffer (length bytes, a sloop.fb.Record with identifier "SLRC") | zero padding to the
// next multiple of 8, so that every FlatBuffer starts 8-byte aligned.
inline constexpr size_t kRecordAlign = 8;
inline constexpr size_t kRecordPrefixSize = 8;

// Block format 2: the records by column, then their payloads back to back; see
// segments/columnar_block.h and docs/format/segment.md.

}  // namespace sloop::segment_format
