#include "api/in_process_tokens.h"

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/catch_all.h"
#include "common/log.h"

namespace registryauth::api {

grpc::Status InProcessTokens::IssueRegistryToken(const InProcessCall& call,
                                                 v1::IssueRegistryTokenRequest& request,
                                                 v1::IssueRegistryTokenResponse* response,
                                                 std::string* request_id) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status;
  // The barrier of the in-process call (issue 15): whatever the service method throws becomes
  // INTERNAL here, as the gRPC server would make it UNKNOWN, and never reaches the gateway's
  // thread.
  if (std::optional<std::string> what = CatchAll([&] {
        status = service_.IssueRegistryTokenInProcess(call, request, response, request_id);
      })) {
    LOG_ERROR(absl::StrCat("IssueRegistryToken threw: ", *what));
    status = grpc::Status(grpc::StatusCode::INTERNAL, "internal error");
  }
  telemetry_.RecordInProcessCall("/registryauth.v1.RegistryAuthService/IssueRegistryToken",
                                 status.error_code(), std::chrono::steady_clock::now() - start);
  return status;
}

}  // namespace registryauth::api
