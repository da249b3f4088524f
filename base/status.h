// Errors as values for every layer: Result<T> is either a T or an Error that says what went
// wrong, where, and (where the user can act) what to do.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace sloop {

enum class ErrorCode {
  kInvalidArgument,  // the caller (or the user, through a flag or query) asked for something wrong
  kNotFound,
  kAlreadyExists,
  kCorruption,   // stored bytes fail a check: bad magic, checksum, length or decode
  kUnsupported,  // a format version or feature this build does not know
  kIOError,      // the operating system refused: open, read, write, fsync, rename, mmap
  kUnavailable,  // a remote peer or resource is not reachable now; retrying may help
  kAborted,      // stopped on purpose (shutdown)
};

const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;

  // "corruption: segment data/x.seg: block at offset 4096: checksum mismatch"
  std::string ToString() const { return std::string(ErrorCodeName(code)) + ": " + message; }
};

template <typename T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> MakeError(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

// errno-based I/O error: "<what>: <path>: <strerror(errnum)>".
std::unexpected<Error> IOError(const std::string& what, const std::string& path, int errnum);

}  // namespace sloop
