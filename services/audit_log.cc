#include "services/audit_log.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "model/model.h"

namespace registryauth::services {
namespace {

constexpr size_t kMaxAuditDetail = 512;
constexpr size_t kMaxAuditResource = 1024;

}  // namespace

absl::Status AuditLog::Record(const RequestContext& ctx, std::string_view action,
                              std::string_view resource, const absl::Status& outcome) const {
  return store_.AppendAuditEvent(MakeEvent(ctx, action, resource, outcome)).status();
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
  e.detail = std::string((detail.empty() ? std::string_view(outcome.message().data(),
                                                            outcome.message().size())
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

}  // namespace registryauth::services
