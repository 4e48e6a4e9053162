#include "upstream/github.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

namespace registryauth::upstream {
namespace {

// Payload key and encoding: "reason;CATEGORY;retryable;retry_after_ms" (all ASCII), the shape
// of services' ErrorDetail payload.
constexpr char kPayloadUrl[] = "type.registryauth/upstream.UpstreamFailure";

constexpr ProbeCategory kAllCategories[] = {
    ProbeCategory::kNone,       ProbeCategory::kAuthentication, ProbeCategory::kRegistry,
    ProbeCategory::kPermission, ProbeCategory::kNetwork,
};

}  // namespace

absl::Status WithUpstreamFailure(absl::Status status, const UpstreamFailure& failure) {
  if (status.ok()) return status;
  const std::string_view category = ProbeCategoryName(failure.category);
  status.SetPayload(
      kPayloadUrl,
      absl::Cord(absl::StrCat(
          failure.reason, ";", absl::string_view(category.data(), category.size()), ";",
          failure.retryable ? 1 : 0, ";", absl::ToInt64Milliseconds(failure.retry_after))));
  return status;
}

std::optional<UpstreamFailure> GetUpstreamFailure(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  const std::vector<std::string> parts = absl::StrSplit(std::string(*payload), ';');
  int retryable = 0;
  int64_t retry_ms = 0;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[2], &retryable) ||
      !absl::SimpleAtoi(parts[3], &retry_ms) || retry_ms < 0) {
    return std::nullopt;
  }
  UpstreamFailure failure;
  bool known = false;
  for (ProbeCategory c : kAllCategories) {
    if (ProbeCategoryName(c) == parts[1]) {
      failure.category = c;
      known = true;
    }
  }
  if (!known) return std::nullopt;
  failure.reason = parts[0];
  failure.retryable = retryable != 0;
  failure.retry_after = absl::Milliseconds(retry_ms);
  return failure;
}

}  // namespace registryauth::upstream
