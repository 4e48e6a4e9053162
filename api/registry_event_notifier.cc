#include "api/registry_event_notifier.h"

#include "absl/status/statusor.h"
#include "api/status_conversion.h"

namespace registryauth::api {

grpc::Status RegistryEventNotifier::Notify(const InProcessCall& call,
                                           std::string_view authorization, std::string_view body,
                                           Counts* counts) {
  services::RegistryEventReceiver::Notification n;
  n.authorization = authorization;
  n.body = body;
  n.request_id = call.request_id;
  n.peer = call.client_address;
  absl::StatusOr<services::RegistryEventReceiver::Result> r = receiver_.Notify(n);
  if (!r.ok()) return ToGrpcStatus(r.status());
  if (counts != nullptr) {
    counts->received = r->received;
    counts->stored = r->stored;
    counts->duplicates = r->duplicates;
    counts->dropped = r->unknown_workspace;
  }
  return grpc::Status::OK;
}

}  // namespace registryauth::api
