// RegistryEventNotifier: the adapter of `POST /v1/registryEvents:notify` (api/in_process.h's
// InProcessRegistryEvents) over services::RegistryEventReceiver: the gateway's call in, the
// receiver's absl::Status out as a grpc::Status (status_conversion.h), with the request id the
// call used.
//
//   RegistryEventNotifier notifier(receiver);
//   HttpGatewayOptions http; http.registry_events = &notifier;
//
// Thread-safe if the receiver is.
#ifndef REGISTRY_AUTH_API_REGISTRY_EVENT_NOTIFIER_H_
#define REGISTRY_AUTH_API_REGISTRY_EVENT_NOTIFIER_H_

#include <string_view>

#include "api/in_process.h"
#include "services/registry_event_receiver.h"

namespace registryauth::api {

class RegistryEventNotifier final : public InProcessRegistryEvents {
 public:
  // `receiver` must outlive this object.
  explicit RegistryEventNotifier(const services::RegistryEventReceiver& receiver)
      : receiver_(receiver) {}

  grpc::Status Notify(const InProcessCall& call, std::string_view authorization,
                      std::string_view body, Counts* counts) override;

 private:
  const services::RegistryEventReceiver& receiver_;
};

}  // namespace registryauth::api

#endif  // REGISTRY_AUTH_API_REGISTRY_EVENT_NOTIFIER_H_
