// RegistryEventLog: the read side of the platform registry's events (ListRegistryEvents of the
// v1 API), one workspace at a time, newest first. The write side is RegistryEventReceiver
// (services/registry_event_receiver.h). Not guarded itself: services::RegistryAuth checks the
// caller (registries.read in the workspace, and the caller's workspace confinement) first.
//
// Filters are checked before the store is asked (INVALID_ARGUMENT naming the field):
// `repository` must lie inside the listed workspace (`<workspace>/...`), `action` is one of
// push, pull, mount, delete, `digest` is `<algorithm>:<hex>`, `tag` follows Docker's tag
// grammar, `actor` is at most 1024 visible characters, and end_time must follow start_time.
// Page tokens are bound to the workspace and the filters and carry the last event's
// (event_time, event_id). An existing workspace lists only the events received since its create
// time, so a workspace re-created under a freed id (by another tenant) never lists its
// predecessor's (security row 45).
//
//   RegistryEventLog log(store);
//   ASSIGN_OR_RETURN(ListResult<RegistryEvent> page, log.List("acme", filter, 50, ""));
//
// Thread-safe if the store is.
#ifndef REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_LOG_H_
#define REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_LOG_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/model.h"
#include "services/types.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class RegistryEventLog {
 public:
  // `store` must outlive this object.
  explicit RegistryEventLog(storage::RegistryStore& store) : store_(store) {}

  absl::StatusOr<ListResult<RegistryEvent>> List(std::string_view workspace_id,
                                                 const RegistryEventFilter& filter, int page_size,
                                                 std::string_view page_token) const;

 private:
  storage::RegistryStore& store_;
};

// The resource name of the principal an event's actor names, read from the user name alone
// (KindOfUsername; nothing is looked up, so a principal deleted since is still named):
//   `<w>+<a>` (service account)        workspaces/<w>/serviceAccounts/<a>
//   `pull+<id>` (pull token)           workspaces/<workspace>/pullTokens/<id>
//   `build+<id>` (workspace credential) workspaces/<workspace>
// where <workspace> is the event's workspace (pull tokens and workspace credentials act in
// their own workspace only, except for public pulls, where the token's own workspace is not
// in its user name). "" for anonymous and unknown actors, and for malformed names.
std::string PrincipalOfActor(std::string_view actor, std::string_view workspace_id);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_LOG_H_
