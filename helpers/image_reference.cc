#include "helpers/image_reference.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace registryauth::helpers {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(Cat("invalid image reference: ", what));
}

// host[:port]: DNS labels of letters, digits and '-', or an IPv6 literal in brackets; the port
// 1..65535.
bool IsValidRegistryHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  std::string_view name = host;
  std::string_view port;
  if (host.front() == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!IsHex(static_cast<char>(absl::ascii_tolower(static_cast<unsigned char>(c)))) &&
          c != ':' && c != '.') {
        return false;
      }
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    name = {};
  } else {
    std::size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      name = host.substr(0, colon);
      if (port.empty()) return false;
    }
    if (name.empty()) return false;
    for (absl::string_view label : absl::StrSplit(ToAbsl(name), '.')) {
      if (label.empty() || label.size() > 63) return false;
      if (label.front() == '-' || label.back() == '-') return false;
      for (char c : label) {
        if (!IsAlnum(c) && c != '-') return false;
      }
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) return false;
    int value = 0;
    for (char c : port) {
      if (!IsDigit(c)) return false;
      value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 65535) return false;
  }
  return true;
}

// One path component of the distribution grammar: [a-z0-9]+ joined by '.', '_', '__' or '-'s.
bool IsValidPathComponent(std::string_view c) {
  if (c.empty() || c.size() > 255) return false;
  if (!IsLower(c.front()) && !IsDigit(c.front())) return false;
  if (!IsLower(c.back()) && !IsDigit(c.back())) return false;
  for (char ch : c) {
    if (!IsLower(ch) && !IsDigit(ch) && ch != '.' && ch != '_' && ch != '-') return false;
  }
  return true;
}

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  if (tag.front() == '.' || tag.front() == '-') return false;
  for (char c : tag) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// <algorithm>:<hex of at least 32 characters>; algorithm [a-z0-9]+ joined by '+', '.', '_', '-'.
bool IsValidDigest(std::string_view digest) {
  std::size_t colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view algorithm = digest.substr(0, colon);
  std::string_view hex = digest.substr(colon + 1);
  for (char c : algorithm) {
    if (!IsLower(c) && !IsDigit(c) && c != '+' && c != '.' && c != '_' && c != '-') return false;
  }
  if (hex.size() < 32 || hex.size() > 128) return false;
  for (char c : hex) {
    if (!IsHex(c)) return false;
  }
  return true;
}

bool LooksLikeRegistryHost(std::string_view component) {
  return component.find('.') != std::string_view::npos ||
         component.find(':') != std::string_view::npos || component == "localhost" ||
         (!component.empty() && component.front() == '[');
}

// Fills path, workspace and app from the repository path (already split off the registry).
absl::Status SetPath(std::string_view path, ImageReference& out) {
  if (path.empty()) return Invalid("empty repository");
  std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(path), '/');
  for (absl::string_view part : parts) {
    if (!IsValidPathComponent(ToStd(part))) return Invalid("bad repository path component");
  }
  out.path = std::string(path);
  if (parts.size() == 2 && IsValidResourceId(ToStd(parts[0])) &&
      IsValidResourceId(ToStd(parts[1]))) {
    out.workspace = std::string(parts[0]);
    out.app = std::string(parts[1]);
  }
  return absl::OkStatus();
}

bool HasControlOrSpace(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return true;
  }
  return false;
}

}  // namespace

bool IsValidResourceId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  if (!IsLower(id.front()) || id.back() == '-') return false;
  for (char c : id) {
    if (!IsLower(c) && !IsDigit(c) && c != '-') return false;
  }
  return true;
}

absl::StatusOr<ImageReference> ParseImageReference(std::string_view reference) {
  if (reference.empty()) return Invalid("empty");
  if (reference.size() > kMaxReferenceLength) return Invalid("too long");
  if (HasControlOrSpace(reference)) return Invalid("control characters or spaces");
  ImageReference out;
  std::string_view rest = reference;
  std::size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (!IsValidDigest(digest)) return Invalid("bad digest");
    out.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  std::size_t slash = rest.find('/');
  std::string_view first = slash == std::string_view::npos ? rest : rest.substr(0, slash);
  if (slash != std::string_view::npos && LooksLikeRegistryHost(first)) {
    if (!IsValidRegistryHost(first)) return Invalid("bad registry host");
    out.registry = absl::AsciiStrToLower(ToAbsl(first));
    rest = rest.substr(slash + 1);
  } else {
    out.registry = "docker.io";
  }
  // A tag is after the last ':' that follows the last '/' (a port is before the first '/').
  std::size_t last_slash = rest.rfind('/');
  std::size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!IsValidTag(tag)) return Invalid("bad tag");
    out.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  absl::Status status = SetPath(rest, out);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<ImageReference> ParseServerUrl(std::string_view server_url) {
  if (server_url.empty()) return Invalid("empty server URL");
  if (server_url.size() > kMaxReferenceLength) return Invalid("server URL too long");
  if (HasControlOrSpace(server_url)) return Invalid("control characters or spaces");
  std::string_view rest = server_url;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (rest.size() >= scheme.size() &&
        absl::AsciiStrToLower(ToAbsl(rest.substr(0, scheme.size()))) == scheme) {
      rest = rest.substr(scheme.size());
      break;
    }
  }
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return Invalid("server URL with a query, fragment or user info");
  }
  std::size_t slash = rest.find('/');
  std::string_view host = slash == std::string_view::npos ? rest : rest.substr(0, slash);
  if (!IsValidRegistryHost(host)) return Invalid("bad registry host");
  ImageReference out;
  out.registry = absl::AsciiStrToLower(ToAbsl(host));
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path == "v1" || path == "v2") path = {};
  if (path.size() > 3 && (path.substr(0, 3) == "v1/" || path.substr(0, 3) == "v2/")) {
    path = path.substr(3);
  }
  if (path.empty()) return out;
  absl::Status status = SetPath(path, out);
  if (!status.ok()) return status;
  return out;
}

}  // namespace registryauth::helpers
