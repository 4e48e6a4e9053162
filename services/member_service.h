// MemberService: the members of a workspace, the end users who act through a caller with
// act_as_user (services/authorizer.h), and their rules:
//   - a workspace keeps at least one ACTIVE OWNER: demoting, suspending or deleting the last one
//     is FAILED_PRECONDITION (make another member OWNER first);
//   - a member needs a role; a new member is ACTIVE unless a status is given;
//   - member ids are end-user ids (IsValidUserId, services/names.h).
// CreateWorkspace on behalf of a user makes the user OWNER in the same transaction
// (RegistryService::CreateWorkspace).
//
// Domain logic only, beside RegistryService: the guarded entry point is services::RegistryAuth.
// Which permission a change needs is only known midway (granting, changing or removing an OWNER
// is an owner-level change, known once the member is read), so the changing calls take
// `require`, which the guard answers with Guard::Check; the service asks for Operation::kManage
// before it reads and Operation::kManageOwners when an OWNER is involved. Updates and deletes
// then decide again on rows read with the workspace row locked, in the transaction that
// writes (the acting user's role and the last-owner rule), so two concurrent demotions of a
// workspace's two owners cannot both pass.
//
//   MemberService members(store, clock);
//   ASSIGN_OR_RETURN(Member m, members.Create("acme", "alice", MemberRole::kAdmin,
//                                             MemberStatus::kUnspecified, require));
//
// Thread-safe if the store and the clock are.
#ifndef REGISTRY_AUTH_SERVICES_MEMBER_SERVICE_H_
#define REGISTRY_AUTH_SERVICES_MEMBER_SERVICE_H_

#include <functional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "model/model.h"
#include "services/authorizer.h"
#include "services/names.h"
#include "services/types.h"
#include "storage/registry_store.h"

namespace registryauth::services {

class MemberService {
 public:
  // OK if the caller may do `op` in the member's workspace, else the denial.
  using Require = std::function<absl::Status(Operation op)>;

  // Both must outlive this object.
  MemberService(storage::RegistryStore& store, const Clock& clock) : store_(store), clock_(clock) {}

  absl::StatusOr<Member> Create(std::string_view workspace_id, std::string_view member_id,
                                MemberRole role, MemberStatus status, const Require& require);
  absl::StatusOr<Member> Get(const MemberName& name);
  absl::StatusOr<ListResult<Member>> List(std::string_view workspace_id, int page_size,
                                          std::string_view page_token);
  // Mask paths: `role`, `status`, `*`; empty mask = the non-UNSPECIFIED ones. `acting_user`:
  // the end user the caller acts for ("" = none), whose role is checked again, with the
  // last-owner rule, in the transaction that writes (RegistryStore::ChangeMemberLocked).
  absl::StatusOr<Member> Update(const MemberName& name, MemberRole role, MemberStatus status,
                                const FieldMask& mask, std::string_view etag,
                                std::string_view acting_user, const Require& require);
  absl::Status Delete(const MemberName& name, std::string_view etag, std::string_view acting_user,
                      const Require& require);

 private:
  storage::RegistryStore& store_;
  const Clock& clock_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_MEMBER_SERVICE_H_
