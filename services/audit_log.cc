#include "services/audit_log.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "model/model.h"
#include "services/page_token.h"

namespace registryauth::services {
namespace {

constexpr size_t kMaxAuditDetail = 512;
constexpr size_t kMaxAuditResource = 1024;

bool IsDecimalId(std::string_view key) {
  int64_t v;
  return !key.empty() && key.size() <= 19 && absl::SimpleAtoi(ToAbsl(key), &v) && v > 0;
}

}  // namespace

absl::Status AuditLog::Record(const RequestContext& ctx, std::string_view action,
                              std::string_view resource, const absl::Status& outcome,
                              std::string_view detail) const {
  return store_.AppendAuditEvent(MakeEvent(ctx, action, resource, outcome, detail)).status();
}

absl::Status AuditLog::RecordCommitted(const RequestContext& ctx, std::string_view action,
                                       std::string_view resource, const absl::Status& outcome,
                                       std::string_view detail, absl::Time deadline) const {
  return group_->Append(MakeEvent(ctx, action, resource, outcome, detail), deadline);
}

AuditEvent AuditLog::MakeEvent(const RequestContext& ctx, std::string_view action,
                               std::string_view resource, const absl::Status& outcome,
                               std::string_view detail) const {
  AuditEvent e;
  e.time = clock_.Now();
  e.caller = ctx.caller.identity;
  e.on_behalf_of = ctx.on_behalf_of;
  e.action = std::string(action);
  e.resource = std::string(resource.substr(0, kMaxAuditResource));
  e.outcome = outcome.ok() ? "OK" : absl::StatusCodeToString(outcome.code());
  e.detail = std::string((detail.empty()
                              ? std::string_view(outcome.message().data(), outcome.message().size())
                              : detail)
                             .substr(0, kMaxAuditDetail));
  e.request_id = ctx.request_id;
  e.peer = ctx.peer;
  return e;
}

void AuditLog::RecordChange(const RequestContext& ctx, std::string_view action,
                            std::string_view resource, const absl::Status& outcome) const {
  absl::Status s = Record(ctx, action, resource, outcome);
  if (!s.ok()) {
    LOG_ERROR(absl::StrCat("audit record lost: action=", std::string(action),
                           " resource=", std::string(resource), " request_id=", ctx.request_id,
                           ": ", s.message()));
  }
}

absl::StatusOr<ListResult<AuditEvent>> AuditLog::List(const AuditFilter& filter, int page_size,
                                                      std::string_view page_token) const {
  if (filter.resource.size() > 1024) {
    return absl::InvalidArgumentError("resource: longer than 1024 characters");
  }
  if (filter.caller.size() > 1024) {
    return absl::InvalidArgumentError("caller: longer than 1024 characters");
  }
  if (filter.start_time != absl::InfinitePast() && filter.end_time != absl::InfiniteFuture() &&
      filter.end_time <= filter.start_time) {
    return absl::InvalidArgumentError("end_time: must be after start_time");
  }
  // The token is bound to the filter.
  const std::string collection = absl::StrCat(
      "audit\n", filter.resource, "\n", filter.caller, "\n",
      absl::FormatTime(absl::RFC3339_full, filter.start_time, absl::UTCTimeZone()), "\n",
      absl::FormatTime(absl::RFC3339_full, filter.end_time, absl::UTCTimeZone()));
  ASSIGN_OR_RETURN(int size, ResolvePageSize(page_size));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token, collection, IsDecimalId));
  int64_t before_id = 0;
  if (!after.empty() && !absl::SimpleAtoi(after, &before_id)) {
    return absl::InvalidArgumentError("page_token: invalid");
  }
  ASSIGN_OR_RETURN(Page<AuditEvent> page, store_.ListAuditEvents(filter, size, before_id));
  return ToListResult(std::move(page), collection,
                      [](const AuditEvent& e) { return absl::StrCat(e.id); });
}

}  // namespace registryauth::services
