#include "api/status_conversion.h"

#include <string>

#include "google/protobuf/any.pb.h"
#include "google/protobuf/duration.pb.h"
#include "proto/registryauth/v1/registry_auth.pb.h"
#include "services/error_detail.h"

namespace registryauth::api {
namespace {

constexpr int kMaxCanonicalCode = 16;  // UNAUTHENTICATED

bool IsCanonical(int code) { return code >= 0 && code <= kMaxCanonicalCode; }

}  // namespace

void ToProto(const services::ErrorDetail& detail, v1::ErrorDetail* out) {
  out->set_reason(detail.reason);
  out->set_category(static_cast<v1::ErrorDetail::Category>(static_cast<int>(detail.category)));
  out->set_retryable(detail.retryable);
  if (detail.retryable) {
    const int64_t ms = absl::ToInt64Milliseconds(detail.retry_after);
    out->mutable_retry_after()->set_seconds(ms / 1000);
    out->mutable_retry_after()->set_nanos(static_cast<int32_t>((ms % 1000) * 1000000));
  }
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  int code = static_cast<int>(status.code());
  if (!IsCanonical(code)) code = static_cast<int>(grpc::StatusCode::UNKNOWN);
  std::string message(status.message());
  std::optional<services::ErrorDetail> detail = services::GetErrorDetail(status);
  if (!detail.has_value()) return grpc::Status(static_cast<grpc::StatusCode>(code), message);
  v1::ErrorDetail d;
  ToProto(*detail, &d);
  v1::RpcStatus rpc_status;
  rpc_status.set_code(code);
  rpc_status.set_message(message);
  rpc_status.add_details()->PackFrom(d);
  return grpc::Status(static_cast<grpc::StatusCode>(code), message, rpc_status.SerializeAsString());
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  int code = static_cast<int>(status.error_code());
  if (!IsCanonical(code)) code = static_cast<int>(absl::StatusCode::kUnknown);
  absl::Status result(static_cast<absl::StatusCode>(code), status.error_message());
  v1::RpcStatus rpc_status;
  v1::ErrorDetail d;
  if (!status.error_details().empty() && rpc_status.ParseFromString(status.error_details())) {
    for (const google::protobuf::Any& any : rpc_status.details()) {
      if (any.UnpackTo(&d)) {
        services::ErrorDetail detail;
        detail.reason = d.reason();
        detail.category = static_cast<services::ErrorCategory>(static_cast<int>(d.category()));
        detail.retryable = d.retryable();
        detail.retry_after =
            absl::Seconds(d.retry_after().seconds()) + absl::Nanoseconds(d.retry_after().nanos());
        return services::WithErrorDetail(result, detail);
      }
    }
  }
  return result;
}

}  // namespace registryauth::api
