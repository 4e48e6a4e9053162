#include "services/member_service.h"

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

}  // namespace

absl::StatusOr<bool> MemberService::HasOtherActiveOwner(std::string_view workspace_id,
                                                        std::string_view user_id) {
  ListOptions options{kMaxListPageSize, ""};
  while (true) {
    ASSIGN_OR_RETURN(Page<Member> page, store_.ListMembers(workspace_id, options));
    for (const Member& m : page.items) {
      if (m.user_id != user_id && IsActiveOwner(m.role, m.status)) return true;
    }
    if (!page.has_more || page.items.empty()) return false;
    options.start_after = page.items.back().user_id;
  }
}

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
                                             std::string_view etag, const Require& require) {
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
  Member next = *current;
  if (set_role) next.role = role;
  if (set_status) next.status = status;
  if (current->role == MemberRole::kOwner || next.role == MemberRole::kOwner) {
    RETURN_IF_ERROR(require(Operation::kManageOwners));
  }
  if (IsActiveOwner(current->role, current->status) && !IsActiveOwner(next.role, next.status)) {
    ASSIGN_OR_RETURN(bool other, HasOtherActiveOwner(n.workspace_id, n.user_id));
    if (!other) {
      return absl::FailedPreconditionError(
          Cat(FormatMemberName(n.workspace_id, n.user_id),
              ": the workspace's last active OWNER cannot be demoted or removed; make another "
              "member OWNER first"));
    }
  }
  next.update_time = clock_.Now();
  absl::StatusOr<Member> updated = store_.UpdateMember(next, expected);
  if (!updated.ok()) return MapMemberStoreError(updated.status(), n);
  return updated;
}

absl::Status MemberService::Delete(const MemberName& n, std::string_view etag,
                                   const Require& require) {
  ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "etag"));
  RETURN_IF_ERROR(require(Operation::kManage));
  absl::StatusOr<Member> current = store_.GetMember(n.workspace_id, n.user_id);
  if (!current.ok()) return MapMemberStoreError(current.status(), n);
  if (current->role == MemberRole::kOwner) RETURN_IF_ERROR(require(Operation::kManageOwners));
  if (IsActiveOwner(current->role, current->status)) {
    ASSIGN_OR_RETURN(bool other, HasOtherActiveOwner(n.workspace_id, n.user_id));
    if (!other) {
      return absl::FailedPreconditionError(
          Cat(FormatMemberName(n.workspace_id, n.user_id),
              ": the workspace's last active OWNER cannot be deleted; make another member "
              "OWNER first"));
    }
  }
  return MapMemberStoreError(store_.DeleteMember(n.workspace_id, n.user_id, expected), n);
}

}  // namespace registryauth::services
