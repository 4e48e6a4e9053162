#include "services/error_detail.h"

#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/optional.h"

namespace registryauth::services {
namespace {

// Payload key and encoding: "reason;category;retryable;retry_after_ms" (all ASCII).
constexpr char kPayloadUrl[] = "type.googleapis.com/registryauth.v1.ErrorDetail";

}  // namespace

absl::Status WithErrorDetail(absl::Status status, const ErrorDetail& detail) {
  if (status.ok()) return status;
  status.SetPayload(kPayloadUrl,
                    absl::Cord(absl::StrCat(detail.reason, ";", static_cast<int>(detail.category),
                                            ";", detail.retryable ? 1 : 0, ";",
                                            absl::ToInt64Milliseconds(detail.retry_after))));
  return status;
}

std::optional<ErrorDetail> GetErrorDetail(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kPayloadUrl);
  if (!payload.has_value()) return std::nullopt;
  std::vector<std::string> parts = absl::StrSplit(std::string(*payload), ';');
  int category = 0, retryable = 0;
  int64_t retry_ms = 0;
  if (parts.size() != 4 || !absl::SimpleAtoi(parts[1], &category) ||
      !absl::SimpleAtoi(parts[2], &retryable) || !absl::SimpleAtoi(parts[3], &retry_ms) ||
      category < 0 || category > 4) {
    return std::nullopt;
  }
  ErrorDetail d;
  d.reason = parts[0];
  d.category = static_cast<ErrorCategory>(category);
  d.retryable = retryable != 0;
  d.retry_after = absl::Milliseconds(retry_ms);
  return d;
}

}  // namespace registryauth::services
