#include "services/page_token.h"

#include "absl/strings/escaping.h"
#include "common/strings.h"

namespace registryauth::services {
namespace {

constexpr char kPageTokenFormat = '\x01';
constexpr std::size_t kMaxPageTokenChars = 1024;

}  // namespace

std::string EncodePageToken(std::string_view collection, std::string_view last_key) {
  std::string raw =
      Cat(std::string(1, kPageTokenFormat), collection, std::string_view("\0", 1), last_key);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> DecodePageToken(std::string_view token, std::string_view collection,
                                            bool (*valid_key)(std::string_view)) {
  if (token.empty()) return std::string();
  const absl::Status invalid = absl::InvalidArgumentError("page_token: invalid");
  if (token.size() > kMaxPageTokenChars) return invalid;
  std::string raw;
  if (!absl::WebSafeBase64Unescape(ToAbsl(token), &raw)) return invalid;
  if (raw.empty() || raw[0] != kPageTokenFormat) return invalid;
  std::size_t nul = raw.find('\0', 1);
  if (nul == std::string::npos) return invalid;
  if (std::string_view(raw).substr(1, nul - 1) != collection) {
    return absl::InvalidArgumentError("page_token: does not belong to this list");
  }
  std::string last_key = raw.substr(nul + 1);
  if (!valid_key(last_key)) return invalid;
  return last_key;
}

absl::StatusOr<int> ResolvePageSize(int page_size) {
  if (page_size < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  if (page_size == 0) return kDefaultListPageSize;
  return page_size > kMaxListPageSize ? kMaxListPageSize : page_size;
}

absl::StatusOr<int> ResolveTokenListLimit(int limit) {
  if (limit < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  if (limit == 0) return kDefaultTokenListLimit;
  return limit > kMaxListPageSize ? kMaxListPageSize : limit;
}

absl::Status StaleEtag(std::string_view resource) {
  return absl::AbortedError(
      Cat(resource, ": etag does not match the current version; read it again"));
}

absl::Status CheckEtag(int64_t expected, int64_t current_version, std::string_view resource) {
  if (expected != 0 && expected != current_version) return StaleEtag(resource);
  return absl::OkStatus();
}

absl::Status MapStoreError(const absl::Status& status, std::string_view resource) {
  if (absl::IsAborted(status)) return StaleEtag(resource);
  return AnnotateStoreError(status, resource);
}

}  // namespace registryauth::services
