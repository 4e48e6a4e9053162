#include "services/member_service.h"

#include <optional>
#include <string>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"
#include "services/page_token.h"
#include "services/registry_service.h"

namespace registryauth::services {
namespace {

bool IsActiveOwner(MemberRole role, MemberStatus status) {
  return role == MemberRole::kOwner && status == MemberStatus::kActive;
}

absl::Status MapMemberStoreError(absl::Status status, const MemberName& n) {
  return AnnotateStoreError(std::move(status), FormatMemberName(n.workspace_id, n.user_id));
}

// The rules that depend on the other members, decided on what the store read with the
// workspace locked (RegistryStore::ChangeMemberLocked): the acting user (if any) still has the
// role the change needs, and the workspace keeps an ACTIVE OWNER. `next` is the member after
// the change (nullopt: removed).
absl::Status CheckLockedChange(const MemberName& n, std::string_view acting_user,
                               const storage::MemberChangeView& view,
                               const std::optional<Member>& next) {
  const Member& current = view.target;
  const bool owner_level =
      current.role == MemberRole::kOwner || (next.has_value() && next->role == MemberRole::kOwner);
  if (!acting_user.empty()) {
    RETURN_IF_ERROR(CheckMemberRole(
        view.acting, owner_level ? Operation::kManageOwners : Operation::kManage, n.workspace_id));
  }
  const bool loses_owner = IsActiveOwner(current.role, current.status) &&
                           !(next.has_value() && IsActiveOwner(next->role, next->status));
  if (loses_owner && view.active_owners <= 1) {
    return absl::FailedPreconditionError(
        next.has_value()
            ? Cat(FormatMemberName(n.workspace_id, n.user_id),
                  ": the workspace's last active OWNER cannot be demoted or removed; make another "
                  "member OWNER first")
            : Cat(FormatMemberName(n.workspace_id, n.user_id),
                  ": the workspace's last active OWNER cannot be deleted; make another member "
                  "OWNER first"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Member> MemberService::Create(std::string_view ws, std::string_view member_id,
                                             MemberRole role, MemberStatus status,
                                             const Require& require) {
  if (!IsValidUserId(member_id)) {
    return absl::InvalidArgumentError(
        Cat("member_id: must be 1..256 printable ASCII characters without space or '/', got ",
            QuoteInput(member_id)));
  }
  if (role == MemberRole::kUnspecified) return absl::InvalidArgumentError("member.role: required");
  if (status == MemberStatus::kUnspecified) status = MemberStatus::kActive;
  RETURN_IF_ERROR(
      require(role == MemberRole::kOwner ? Operation::kManageOwners : Operation::kManage));
  Member m;
  m.workspace_id = std::string(ws);
  m.user_id = std::string(member_id);
  m.role = role;
  m.status = status;
  m.create_time = m.update_time = clock_.Now();
  absl::StatusOr<Member> created = store_.CreateMember(m);
  if (!created.ok()) {
    if (absl::IsNotFound(created.status())) {
      return AnnotateStoreError(created.status(), FormatWorkspaceName(ws));
    }
    return MapMemberStoreError(created.status(), MemberName{m.workspace_id, m.user_id});
  }
  return created;
}

absl::StatusOr<Member> MemberService::Get(const MemberName& n) {
  absl::StatusOr<Member> m = store_.GetMember(n.workspace_id, n.user_id);
  if (!m.ok()) return MapMemberStoreError(m.status(), n);
  return m;
}

absl::StatusOr<ListResult<Member>> MemberService::List(std::string_view ws, int page_size,
                                                       std::string_view page_token) {
  return ListPage<Member>(
      Cat(FormatWorkspaceName(ws), "/members"), page_size, page_token,
      [&](ListOptions o) -> absl::StatusOr<Page<Member>> {
        absl::StatusOr<Page<Member>> page = store_.ListMembers(ws, o);
        if (absl::IsNotFound(page.status())) {
          return AnnotateStoreError(page.status(), FormatWorkspaceName(ws));
        }
        return page;
      },
      [](const Member& m) { return m.user_id; }, &IsValidUserId);
}

absl::StatusOr<Member> MemberService::Update(const MemberName& n, MemberRole role,
                                             MemberStatus status, const FieldMask& mask,
                                             std::string_view etag, std::string_view acting_user,
                                             const Require& require) {
  ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "member.etag"));
  bool set_role = mask.empty() && role != MemberRole::kUnspecified;
  bool set_status = mask.empty() && status != MemberStatus::kUnspecified;
  for (const std::string& path : mask) {
    if (path == "*") {
      set_role = set_status = true;
    } else if (path == "role") {
      set_role = true;
    } else if (path == "status") {
      set_status = true;
    } else {
      return absl::InvalidArgumentError(Cat("update_mask: unknown path ", QuoteInput(path)));
    }
  }
  if (!set_role && !set_status) return absl::InvalidArgumentError("update_mask: nothing to update");
  if (set_role && role == MemberRole::kUnspecified) {
    return absl::InvalidArgumentError("member.role: required");
  }
  if (set_status && status == MemberStatus::kUnspecified) {
    return absl::InvalidArgumentError("member.status: required");
  }
  // Membership of the caller's user is checked first, so a non-member learns nothing.
  RETURN_IF_ERROR(require(Operation::kManage));
  absl::StatusOr<Member> current = store_.GetMember(n.workspace_id, n.user_id);
  if (!current.ok()) return MapMemberStoreError(current.status(), n);
  // First on the row as read now, for the caller's permission (and its audit record); then
  // again, with the last-owner rule, on the rows read under the workspace lock, so that two
  // concurrent changes cannot both pass on what the other one is about to change.
  if (current->role == MemberRole::kOwner || (set_role && role == MemberRole::kOwner)) {
    RETURN_IF_ERROR(require(Operation::kManageOwners));
  }
  const absl::Time now = clock_.Now();
  absl::StatusOr<Member> updated = store_.ChangeMemberLocked(
      n.workspace_id, n.user_id, acting_user, expected,
      [&](const storage::MemberChangeView& view) -> absl::StatusOr<storage::MemberChange> {
        storage::MemberChange change;
        change.updated = view.target;
        if (set_role) change.updated.role = role;
        if (set_status) change.updated.status = status;
        change.updated.update_time = now;
        RETURN_IF_ERROR(CheckLockedChange(n, acting_user, view, change.updated));
        return change;
      });
  if (!updated.ok()) return MapMemberStoreError(updated.status(), n);
  return updated;
}

absl::Status MemberService::Delete(const MemberName& n, std::string_view etag,
                                   std::string_view acting_user, const Require& require) {
  ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "etag"));
  RETURN_IF_ERROR(require(Operation::kManage));
  absl::StatusOr<Member> current = store_.GetMember(n.workspace_id, n.user_id);
  if (!current.ok()) return MapMemberStoreError(current.status(), n);
  if (current->role == MemberRole::kOwner) RETURN_IF_ERROR(require(Operation::kManageOwners));
  // Checked again under the workspace lock, as in Update.
  absl::StatusOr<Member> removed = store_.ChangeMemberLocked(
      n.workspace_id, n.user_id, acting_user, expected,
      [&](const storage::MemberChangeView& view) -> absl::StatusOr<storage::MemberChange> {
        RETURN_IF_ERROR(CheckLockedChange(n, acting_user, view, std::nullopt));
        storage::MemberChange change;
        change.remove = true;
        return change;
      });
  return MapMemberStoreError(removed.status(), n);
}

}  // namespace registryauth::services
