// ParseRegistryEnvelope: Docker Distribution's notification envelope, the body the platform
// registry POSTs to `/v1/registryEvents:notify`, parsed into model RegistryEvents.
//
// The envelope (media type application/vnd.docker.distribution.events.v1+json):
//   {"events": [{"id": "...", "timestamp": "2026-12-07T20:21:01.123456789Z", "action": "push",
//                "target": {"mediaType": "...", "size": 525, "digest": "sha256:...",
//                           "repository": "acme/web", "tag": "v1", ...},
//                "request": {"addr": "10.0.0.7:51234", "method": "PUT", "useragent": "..."},
//                "actor": {"name": "acme+ci"}, "source": {...}}, ...]}
// Only these members are read; any other member is ignored (but counts towards the limits).
//
// The body is untrusted until the caller has checked the bearer secret, and is bounded even
// after: at most kMaxRegistryEnvelopeBytes, JSON nested at most kMaxRegistryEnvelopeDepth
// levels, at most kMaxRegistryEnvelopeEvents events, every string kept within the store's
// limits (storage/registry_store.h) and free of control characters. The strings the registry
// copies from its client's request (request.addr, request.method, request.useragent, and
// target.mediaType) are chosen by whoever pulls or pushes, so they are cleaned instead of
// refused: control characters become '?', and they are cut to kMaxRegistryEventFieldBytes at a
// character boundary (the registry retries a refused envelope forever, which would hold back
// every later event; security row 46). Every error is
// INVALID_ARGUMENT with a fixed message that may name the event's position and a member, and
// quotes nothing from the input.
//
// What the parser fills in: every RegistryEvent field but receive_time; `workspace_id` is the
// repository's first segment when it is a valid workspace id (WorkspaceOfRepository), else ""
// (the caller counts and drops those); `actor_kind` is read from the actor's user name
// (services::KindOfUsername). Nothing is looked up.
//
//   ASSIGN_OR_RETURN(std::vector<RegistryEvent> events, ParseRegistryEnvelope(body));
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_ENVELOPE_H_
#define REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_ENVELOPE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/model.h"

namespace registryauth::services {

// Largest body accepted, in bytes (Distribution batches events into one envelope).
inline constexpr size_t kMaxRegistryEnvelopeBytes = size_t{1} << 20;
// Most events in one envelope.
inline constexpr size_t kMaxRegistryEnvelopeEvents = 1000;
// Deepest JSON nesting accepted: the envelope, its array, an event, its target and one more
// level for the members the parser ignores (e.g. target.references[]) need 6.
inline constexpr int kMaxRegistryEnvelopeDepth = 8;
// Longest event id and longest other string kept, in bytes (within the store's character
// limits, storage/registry_store.h).
inline constexpr size_t kMaxRegistryEventIdBytes = 256;
inline constexpr size_t kMaxRegistryEventFieldBytes = 1024;

// The envelope's events, in the order sent. See the file comment for the rules.
absl::StatusOr<std::vector<RegistryEvent>> ParseRegistryEnvelope(std::string_view body);

// The workspace a repository belongs to: its first `/`-separated segment when that is a valid
// workspace id (the resource-id grammar, services/names.h) and more segments follow; "" when
// not (the event names nothing registry-auth serves).
std::string WorkspaceOfRepository(std::string_view repository);

// The stored kind of an actor's user name (services::KindOfUsername).
RegistryEventActorKind ActorKindOfUsername(std::string_view username);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_ENVELOPE_H_
