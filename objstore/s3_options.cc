#include "objstore/s3_options.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace sloop::objstore {
namespace {

Result<void> Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

bool IsIPv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find('.', i);
    if (j == std::string_view::npos) j = s.size();
    std::string_view p = s.substr(i, j - i);
    if (p.empty() || p.size() > 3) return false;
    for (char c : p) {
      if (c < '0' || c > '9') return false;
    }
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string_view::npos) return "";
  return std::string(s.substr(a, s.find_last_not_of(ws) - a + 1));
}

struct Profile {
  bool found = false;
  std::string access_key, secret_key, session_token, region;
};

// The [profile] section of an AWS shared credentials file ("[name]"; "[profile name]" as the
// config file writes it is accepted too). Lines are "key = value"; '#' and ';' start comments.
Result<Profile> ReadProfile(const std::string& path, const std::string& profile) {
  std::ifstream in(path);
  if (!in) return MakeError(ErrorCode::kNotFound, "cannot open " + path);
  Profile p;
  bool inside = false;
  std::string line;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      std::string name = Trim(std::string_view(t).substr(
          1, t.find(']') == std::string::npos ? std::string::npos : t.find(']') - 1));
      if (name.starts_with("profile ")) name = Trim(std::string_view(name).substr(8));
      inside = name == profile;
      if (inside) p.found = true;
      continue;
    }
    if (!inside) continue;
    const size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = Trim(std::string_view(t).substr(0, eq));
    const std::string value = Trim(std::string_view(t).substr(eq + 1));
    if (key == "aws_access_key_id")
      p.access_key = value;
    else if (key == "aws_secret_access_key")
      p.secret_key = value;
    else if (key == "aws_session_token")
      p.session_token = value;
    else if (key == "region")
      p.region = value;
  }
  return p;
}

}  // namespace

Result<void> ValidateBucketName(std::string_view b) {
  const std::string q = "bucket name \"" + std::string(b) + "\"";
  if (b.empty()) return Invalid("empty bucket name");
  if (b.size() < 3 || b.size() > 63) return Invalid(q + ": must be 3 to 63 characters");
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) {
      return Invalid(q + ": only lower-case letters, digits, '.' and '-' are allowed");
    }
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(b.front()) || !alnum(b.back())) {
    return Invalid(q + ": must start and end with a letter or digit");
  }
  if (b.find("..") != std::string_view::npos) return Invalid(q + ": must not contain \"..\"");
  if (IsIPv4(b)) return Invalid(q + ": must not be an IP address");
  return {};
}

Result<S3Url> ParseS3Url(std::string_view url) {
  const std::string q = "object store URL \"" + std::string(url) + "\"";
  constexpr std::string_view kScheme = "s3://";
  if (!url.starts_with(kScheme)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     q + ": must start with s3:// (s3://BUCKET/PREFIX)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return MakeError(ErrorCode::kInvalidArgument, q + ": must not have a query or fragment");
  }
  const size_t slash = rest.find('/');
  S3Url out;
  out.bucket = std::string(rest.substr(0, slash));
  if (out.bucket.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, q + ": no bucket name (s3://BUCKET/PREFIX)");
  }
  if (auto v = ValidateBucketName(out.bucket); !v) {
    return MakeError(ErrorCode::kInvalidArgument, q + ": " + v.error().message);
  }
  if (slash != std::string_view::npos) {
    std::string_view p = rest.substr(slash + 1);
    while (!p.empty() && p.back() == '/') p.remove_suffix(1);
    // Keys are PREFIX/CLUSTER/...: an empty segment would make keys with "//", which S3 keeps
    // but path-style tools and listings by "/" treat as a different prefix.
    if (p.starts_with('/') || p.find("//") != std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument, q + ": the prefix has an empty path segment");
    }
    // curl removes dot segments from a URL's path: keys would be put where listings never look.
    for (size_t at = 0; at <= p.size();) {
      const size_t end = std::min(p.find('/', at), p.size());
      const std::string_view seg = p.substr(at, end - at);
      if (seg == "." || seg == "..") {
        return MakeError(ErrorCode::kInvalidArgument,
                         q + ": the prefix has a '" + std::string(seg) + "' path segment");
      }
      at = end + 1;
    }
    out.prefix = std::string(p);
  }
  return out;
}

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

Result<void> ResolveCredentials(S3Options* o, const EnvLookup& env) {
  auto get = [&](const char* name) -> std::string {
    auto v = env(name);
    return v ? *v : std::string();
  };
  if (o->access_key.empty() != o->secret_key.empty()) {
    return Invalid(std::string("object store: ") +
                   (o->access_key.empty() ? "a secret key without an access key"
                                          : "an access key without a secret key") +
                   " was given; set both (or neither, to take them from AWS_ACCESS_KEY_ID and "
                   "AWS_SECRET_ACCESS_KEY or the credentials file)");
  }
  if (o->region.empty()) o->region = get("AWS_REGION");
  if (o->region.empty()) o->region = get("AWS_DEFAULT_REGION");
  if (o->access_key.empty()) {
    const std::string id = get("AWS_ACCESS_KEY_ID"), secret = get("AWS_SECRET_ACCESS_KEY");
    if (!id.empty() && !secret.empty()) {
      o->access_key = id;
      o->secret_key = secret;
      o->session_token = get("AWS_SESSION_TOKEN");
    }
  }
  // The file is read when it still has something to give: keys, or a region.
  if (o->access_key.empty() || o->region.empty()) {
    const bool file_named = !o->credentials_file.empty() || env("AWS_SHARED_CREDENTIALS_FILE");
    std::string file = o->credentials_file;
    if (file.empty()) file = get("AWS_SHARED_CREDENTIALS_FILE");
    if (file.empty()) {
      const std::string home = get("HOME");
      if (!home.empty()) file = home + "/.aws/credentials";
    }
    const bool profile_named = !o->profile.empty() || env("AWS_PROFILE");
    std::string profile = o->profile;
    if (profile.empty()) profile = get("AWS_PROFILE");
    if (profile.empty()) profile = "default";
    if (!file.empty()) {
      auto p = ReadProfile(file, profile);
      if (!p) {
        // A file the user named must be there; the default one is optional.
        if (file_named && o->access_key.empty()) {
          return Invalid("object store: credentials file " + file + ": " + p.error().message);
        }
      } else if (!p->found) {
        if (profile_named && o->access_key.empty()) {
          return Invalid("object store: credentials file " + file + " has no profile [" + profile +
                         "]");
        }
      } else {
        if (o->access_key.empty() && !p->access_key.empty() && !p->secret_key.empty()) {
          o->access_key = p->access_key;
          o->secret_key = p->secret_key;
          o->session_token = p->session_token;
        }
        if (o->region.empty()) o->region = p->region;
      }
    }
  }
  if (o->region.empty()) o->region = "us-east-1";
  if (o->access_key.empty()) {
    return Invalid(
        "object store: no S3 credentials: give the access and secret keys (flags or config), "
        "or set the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment "
        "variables, or aws_access_key_id and aws_secret_access_key in the credentials file "
        "(AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or \"default\")");
  }
  return {};
}

}  // namespace sloop::objstore
