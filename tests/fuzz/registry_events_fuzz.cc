// Fuzz target for Docker Distribution's notification envelope as `/v1/registryEvents:notify`
// receives it (services::ParseRegistryEnvelope, services/registry_event_envelope.h).
//
// Besides "never crash", it aborts when an invariant breaks:
//   - a parsed envelope has at most kMaxRegistryEnvelopeEvents events; each has a non-empty id
//     of at most kMaxRegistryEventIdBytes, a non-empty repository, every other string at most
//     kMaxRegistryEventFieldBytes and free of control characters, a size >= 0 and a finite
//     time; its workspace is "" or a valid id that starts the repository; its actor kind is the
//     one its user name says;
//   - the events, written back as an envelope, parse to the same events;
//   - every error is INVALID_ARGUMENT with one of the parser's fixed messages (the event's
//     position is the only variable part), so no error ever quotes the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/names.h"
#include "services/registry_event_envelope.h"

namespace {

namespace sv = ::registryauth::services;
using ::registryauth::RegistryEvent;

void Check(bool condition) {
  if (!condition) std::abort();
}

bool CleanString(const std::string& s, std::size_t max_bytes) {
  if (s.size() > max_bytes) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// The parser's messages, written out independently of it.
bool IsKnownMessage(std::string_view message) {
  static const std::set<std::string, std::less<>> kWhole = {
      "registry events: body is too large",         "registry events: body is not valid JSON",
      "registry events: body is nested too deeply", "registry events: body must be a JSON object",
      "registry events: events must be an array",   "registry events: too many events",
  };
  if (kWhole.count(message) > 0) return true;
  constexpr std::string_view kEvent = "registry events: event ";
  if (message.substr(0, kEvent.size()) != kEvent) return false;
  std::string_view rest = message.substr(kEvent.size());
  std::size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
  if (digits == 0 || digits > 4 || rest.substr(digits, 2) != ": ") return false;
  rest.remove_prefix(digits + 2);
  static const char* const kMembers[] = {"event",
                                         "id",
                                         "timestamp",
                                         "action",
                                         "target",
                                         "target.repository",
                                         "target.digest",
                                         "target.tag",
                                         "target.mediaType",
                                         "target.size",
                                         "target.length",
                                         "request",
                                         "request.addr",
                                         "request.method",
                                         "request.useragent",
                                         "actor",
                                         "actor.name"};
  static const std::set<std::string, std::less<>> kRules = {"is required",
                                                            "must be a string",
                                                            "must not be empty",
                                                            "is too long",
                                                            "must not contain control characters",
                                                            "must be an RFC 3339 time",
                                                            "must be an object",
                                                            "is out of range",
                                                            "must not be negative",
                                                            "must be a non-negative integer"};
  for (const char* member : kMembers) {
    const std::string prefix = std::string(member) + " ";
    if (rest.substr(0, prefix.size()) == prefix && kRules.count(rest.substr(prefix.size())) > 0) {
      return true;
    }
  }
  return false;
}

std::string Envelope(const std::vector<RegistryEvent>& events) {
  nlohmann::json list = nlohmann::json::array();
  for (const RegistryEvent& e : events) {
    nlohmann::json target = {{"repository", e.repository}, {"size", e.size}};
    if (!e.digest.empty()) target["digest"] = e.digest;
    if (!e.tag.empty()) target["tag"] = e.tag;
    if (!e.media_type.empty()) target["mediaType"] = e.media_type;
    list.push_back(
        {{"id", e.event_id},
         {"timestamp", absl::FormatTime(absl::RFC3339_full, e.event_time, absl::UTCTimeZone())},
         {"action", e.action},
         {"target", target},
         {"request",
          {{"addr", e.request_addr}, {"method", e.request_method}, {"useragent", e.user_agent}}},
         {"actor", {{"name", e.actor}}}});
  }
  return nlohmann::json{{"events", list}}.dump();
}

bool Same(const RegistryEvent& a, const RegistryEvent& b) {
  return a.event_id == b.event_id && a.workspace_id == b.workspace_id &&
         a.repository == b.repository && a.action == b.action && a.digest == b.digest &&
         a.tag == b.tag && a.media_type == b.media_type && a.size == b.size && a.actor == b.actor &&
         a.actor_kind == b.actor_kind && a.request_addr == b.request_addr &&
         a.request_method == b.request_method && a.user_agent == b.user_agent &&
         a.event_time == b.event_time;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::vector<RegistryEvent>> events = sv::ParseRegistryEnvelope(body);
  if (!events.ok()) {
    Check(events.status().code() == absl::StatusCode::kInvalidArgument);
    Check(IsKnownMessage(std::string(events.status().message())));
    return 0;
  }
  Check(events->size() <= sv::kMaxRegistryEnvelopeEvents);
  for (const RegistryEvent& e : *events) {
    Check(!e.event_id.empty() && CleanString(e.event_id, sv::kMaxRegistryEventIdBytes));
    Check(!e.repository.empty());
    for (const std::string* s : {&e.repository, &e.action, &e.digest, &e.tag, &e.media_type,
                                 &e.actor, &e.request_addr, &e.request_method, &e.user_agent}) {
      Check(CleanString(*s, sv::kMaxRegistryEventFieldBytes));
    }
    Check(!e.action.empty());
    Check(e.size >= 0);
    Check(e.event_time != absl::InfinitePast() && e.event_time != absl::InfiniteFuture());
    Check(e.receive_time == absl::InfinitePast());
    if (!e.workspace_id.empty()) {
      Check(sv::IsValidId(e.workspace_id));
      Check(e.repository.size() > e.workspace_id.size() + 1 &&
            e.repository.compare(0, e.workspace_id.size() + 1, e.workspace_id + "/") == 0);
    }
    Check(e.workspace_id == sv::WorkspaceOfRepository(e.repository));
    Check(e.actor_kind == sv::ActorKindOfUsername(e.actor));
  }
  const std::string again = Envelope(*events);
  if (again.size() <= sv::kMaxRegistryEnvelopeBytes) {
    const absl::StatusOr<std::vector<RegistryEvent>> reparsed = sv::ParseRegistryEnvelope(again);
    Check(reparsed.ok() && reparsed->size() == events->size());
    for (std::size_t i = 0; i < events->size(); ++i) Check(Same((*events)[i], (*reparsed)[i]));
  }
  return 0;
}
