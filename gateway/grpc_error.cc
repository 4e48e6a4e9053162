#include "gateway/grpc_error.h"

#include <algorithm>

#include "google/protobuf/any.pb.h"

namespace registryauth::gateway {
namespace {

constexpr int64_t kMaxRetryAfterSeconds = 24 * 60 * 60;

}  // namespace

std::optional<v1::ErrorDetail> ErrorDetailOf(const grpc::Status& status) {
  if (status.ok() || status.error_details().empty()) return std::nullopt;
  v1::RpcStatus rpc_status;
  if (!rpc_status.ParseFromString(status.error_details())) return std::nullopt;
  for (const google::protobuf::Any& any : rpc_status.details()) {
    v1::ErrorDetail detail;
    if (any.Is<v1::ErrorDetail>() && any.UnpackTo(&detail)) return detail;
  }
  return std::nullopt;
}

std::optional<int64_t> RetryAfterSeconds(const grpc::Status& status) {
  std::optional<v1::ErrorDetail> detail = ErrorDetailOf(status);
  if (!detail.has_value() || !detail->has_retry_after()) return std::nullopt;
  const google::protobuf::Duration& d = detail->retry_after();
  if (d.seconds() < 0 || d.nanos() < 0) return 1;
  int64_t seconds = std::min<int64_t>(d.seconds(), kMaxRetryAfterSeconds);
  if (d.nanos() > 0) ++seconds;
  return std::clamp<int64_t>(seconds, 1, kMaxRetryAfterSeconds);
}

std::string EncodeErrorDetails(grpc::StatusCode code, const std::string& message,
                               const v1::ErrorDetail& detail) {
  v1::RpcStatus rpc_status;
  rpc_status.set_code(static_cast<int32_t>(code));
  rpc_status.set_message(message);
  rpc_status.add_details()->PackFrom(detail);
  return rpc_status.SerializeAsString();
}

}  // namespace registryauth::gateway
