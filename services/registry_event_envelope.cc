#include "services/registry_event_envelope.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/names.h"
#include "services/principal.h"

namespace registryauth::services {
namespace {

using Json = nlohmann::json;

constexpr char kPrefix[] = "registry events: ";

absl::Status Invalid(const char* what) {
  return absl::InvalidArgumentError(absl::StrCat(kPrefix, what));
}

// "event 3: target.digest must be a string": the position and the member name are the
// parser's own words, never input.
absl::Status InvalidMember(size_t index, const char* member, const char* rule) {
  return absl::InvalidArgumentError(
      absl::StrCat(kPrefix, "event ", index, ": ", member, " ", rule));
}

// No C0 control character and no DEL: these strings end up in log lines, CLI tables and
// PostgreSQL text (which holds no NUL).
bool HasControlCharacter(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Reads the optional string member `name` of `object` into `out` ("" when absent). `label` is
// how an error names it (e.g. "target.tag").
absl::Status ReadString(const Json& object, const char* name, size_t index, const char* label,
                        size_t max_bytes, bool required, std::string& out) {
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    if (required) return InvalidMember(index, label, "is required");
    out.clear();
    return absl::OkStatus();
  }
  if (!it->is_string()) return InvalidMember(index, label, "must be a string");
  const std::string& value = it->get_ref<const std::string&>();
  if (required && value.empty()) return InvalidMember(index, label, "must not be empty");
  if (value.size() > max_bytes) return InvalidMember(index, label, "is too long");
  if (HasControlCharacter(value)) {
    return InvalidMember(index, label, "must not contain control characters");
  }
  out = value;
  return absl::OkStatus();
}

// Reads the optional string member `name` of `object` that the registry copies from its own
// client's request (its User-Agent, ...), so anyone who pulls or pushes may choose it:
// kept, but cleaned rather than refused (a refused envelope is retried by the registry forever,
// holding back every later event): each control character becomes '?', and the text is cut to
// `max_bytes` at a character boundary (nlohmann's parser admits only well-formed UTF-8).
absl::Status ReadClientText(const Json& object, const char* name, size_t index, const char* label,
                            size_t max_bytes, std::string& out) {
  out.clear();
  const auto it = object.find(name);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return InvalidMember(index, label, "must be a string");
  const std::string& value = it->get_ref<const std::string&>();
  size_t end = std::min(value.size(), max_bytes);
  if (end < value.size()) {
    // Back to the first byte of the character that does not fit whole.
    while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) --end;
  }
  out.assign(value, 0, end);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return absl::OkStatus();
}

// The optional object member `name` of `event`: nullptr when absent or null.
absl::StatusOr<const Json*> ReadObject(const Json& event, const char* name, size_t index,
                                       bool required) {
  const auto it = event.find(name);
  if (it == event.end() || it->is_null()) {
    if (required) return InvalidMember(index, name, "is required");
    return nullptr;
  }
  if (!it->is_object()) return InvalidMember(index, name, "must be an object");
  return &*it;
}

// target.size (or, from older registries, target.length): a non-negative integer; 0 when absent.
absl::StatusOr<int64_t> ReadSize(const Json& target, size_t index) {
  for (const char* name : {"size", "length"}) {
    const auto it = target.find(name);
    if (it == target.end() || it->is_null()) continue;
    const char* label = name[0] == 's' ? "target.size" : "target.length";
    if (it->is_number_unsigned()) {
      const auto v = it->get<uint64_t>();
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return InvalidMember(index, label, "is out of range");
      }
      return static_cast<int64_t>(v);
    }
    if (it->is_number_integer()) return InvalidMember(index, label, "must not be negative");
    return InvalidMember(index, label, "must be a non-negative integer");
  }
  return 0;
}

// RFC 3339 with a zone, as Distribution writes it (Go's time.Time JSON: nanoseconds, "Z").
absl::StatusOr<absl::Time> ReadTimestamp(const Json& event, size_t index) {
  std::string text;
  absl::Status s = ReadString(event, "timestamp", index, "timestamp", 64, true, text);
  if (!s.ok()) return s;
  absl::Time t;
  std::string ignored_error;  // absl's message quotes the input
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &ignored_error)) {
    return InvalidMember(index, "timestamp", "must be an RFC 3339 time");
  }
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) {
    return InvalidMember(index, "timestamp", "must be an RFC 3339 time");
  }
  return t;
}

absl::StatusOr<RegistryEvent> ReadEvent(const Json& event, size_t index) {
  if (!event.is_object()) return InvalidMember(index, "event", "must be an object");
  RegistryEvent e;
  absl::Status s = ReadString(event, "id", index, "id", kMaxRegistryEventIdBytes, true, e.event_id);
  if (!s.ok()) return s;
  absl::StatusOr<absl::Time> time = ReadTimestamp(event, index);
  if (!time.ok()) return time.status();
  e.event_time = *time;
  s = ReadString(event, "action", index, "action", kMaxRegistryEventFieldBytes, true, e.action);
  if (!s.ok()) return s;

  absl::StatusOr<const Json*> target = ReadObject(event, "target", index, /*required=*/true);
  if (!target.ok()) return target.status();
  const Json& t = **target;
  const size_t max = kMaxRegistryEventFieldBytes;
  for (auto [name, label, required, out] :
       {std::make_tuple("repository", "target.repository", true, &e.repository),
        std::make_tuple("digest", "target.digest", false, &e.digest),
        std::make_tuple("tag", "target.tag", false, &e.tag)}) {
    s = ReadString(t, name, index, label, max, required, *out);
    if (!s.ok()) return s;
  }
  s = ReadClientText(t, "mediaType", index, "target.mediaType", max, e.media_type);
  if (!s.ok()) return s;
  absl::StatusOr<int64_t> size = ReadSize(t, index);
  if (!size.ok()) return size.status();
  e.size = *size;

  absl::StatusOr<const Json*> request = ReadObject(event, "request", index, /*required=*/false);
  if (!request.ok()) return request.status();
  if (*request != nullptr) {
    for (auto [name, label, out] :
         {std::make_tuple("addr", "request.addr", &e.request_addr),
          std::make_tuple("method", "request.method", &e.request_method),
          std::make_tuple("useragent", "request.useragent", &e.user_agent)}) {
      s = ReadClientText(**request, name, index, label, max, *out);
      if (!s.ok()) return s;
    }
  }
  absl::StatusOr<const Json*> actor = ReadObject(event, "actor", index, /*required=*/false);
  if (!actor.ok()) return actor.status();
  if (*actor != nullptr) {
    s = ReadString(**actor, "name", index, "actor.name", max, false, e.actor);
    if (!s.ok()) return s;
  }
  e.actor_kind = ActorKindOfUsername(e.actor);
  e.workspace_id = WorkspaceOfRepository(e.repository);
  return e;
}

// Parses the body with the depth limit applied while parsing: a container deeper than the
// limit is discarded as soon as it opens (so nothing deep is ever built or destroyed
// recursively) and flags the error.
absl::StatusOr<Json> ParseBounded(std::string_view body) {
  bool too_deep = false;
  const Json::parser_callback_t callback = [&too_deep](int depth, Json::parse_event_t event,
                                                       Json& /*parsed*/) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= kMaxRegistryEnvelopeDepth) {
      too_deep = true;
      return false;
    }
    return true;
  };
  Json value;
  try {
    value = Json::parse(body.data(), body.data() + body.size(), callback,
                        /*allow_exceptions=*/false);
  } catch (const std::exception&) {
    return Invalid("body is not valid JSON");
  }
  if (too_deep) return Invalid("body is nested too deeply");
  if (value.is_discarded()) return Invalid("body is not valid JSON");
  return value;
}

}  // namespace

absl::StatusOr<std::vector<RegistryEvent>> ParseRegistryEnvelope(std::string_view body) {
  if (body.size() > kMaxRegistryEnvelopeBytes) return Invalid("body is too large");
  absl::StatusOr<Json> parsed = ParseBounded(body);
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return Invalid("body must be a JSON object");
  const auto events = parsed->find("events");
  if (events == parsed->end() || !events->is_array()) {
    return Invalid("events must be an array");
  }
  if (events->size() > kMaxRegistryEnvelopeEvents) return Invalid("too many events");
  std::vector<RegistryEvent> out;
  out.reserve(events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    absl::StatusOr<RegistryEvent> e = ReadEvent((*events)[i], i);
    if (!e.ok()) return e.status();
    out.push_back(*std::move(e));
  }
  return out;
}

std::string WorkspaceOfRepository(std::string_view repository) {
  const size_t slash = repository.find('/');
  if (slash == std::string_view::npos || slash + 1 >= repository.size()) return "";
  const std::string_view first = repository.substr(0, slash);
  return IsValidId(first) ? std::string(first) : std::string();
}

RegistryEventActorKind ActorKindOfUsername(std::string_view username) {
  switch (KindOfUsername(username)) {
    case PrincipalKind::kAnonymous:
      return RegistryEventActorKind::kAnonymous;
    case PrincipalKind::kServiceAccount:
      return RegistryEventActorKind::kServiceAccount;
    case PrincipalKind::kPullToken:
      return RegistryEventActorKind::kPullToken;
    case PrincipalKind::kWorkspaceCredential:
      return RegistryEventActorKind::kWorkspaceCredential;
    case PrincipalKind::kUnknown:
      break;
  }
  return RegistryEventActorKind::kUnknown;
}

}  // namespace registryauth::services
