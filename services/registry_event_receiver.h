// RegistryEventReceiver: the domain side of `POST /v1/registryEvents:notify`, where the
// platform registry (Docker Distribution, `notifications.endpoints`) delivers its events.
//
// Notify checks, in order:
//   1. the Authorization header: `Bearer <secret>`, compared in constant time with every
//      configured secret (one, or two during a rotation). A missing or wrong secret is
//      UNAUTHENTICATED "invalid credentials"; the refusal is counted and recorded through
//      Guard::RecordRejected, whose limiter keeps a flood of them from flooding the audit table;
//   2. the body: ParseRegistryEnvelope (services/registry_event_envelope.h; INVALID_ARGUMENT
//      with a message that quotes nothing);
//   3. the workspace of each event (the repository's first segment): events naming no existing
//      workspace, or no valid workspace id, are counted and dropped;
//   4. storage: the rest is appended in one statement (RegistryStore::AppendRegistryEvents,
//      idempotent on the event id), with receive_time from the clock. Only then is the result
//      OK, so the transport answers 2xx only for stored events; a store error is returned as
//      it is (UNAVAILABLE, ...), the transport answers 5xx and the registry retries later.
// Every event is counted in RegistryEventMetrics by what became of it.
//
//   ASSIGN_OR_RETURN(std::vector<SecretString> secrets, ParseRegistryEventSecrets(file_text));
//   RegistryEventReceiver receiver(std::move(secrets), store, guard, clock, &metrics);
//   absl::StatusOr<RegistryEventReceiver::Result> r = receiver.Notify(notification);
//
// Thread-safe if the store, guard, clock and metrics are.
#ifndef REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RECEIVER_H_
#define REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RECEIVER_H_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/secret.h"
#include "services/guard.h"
#include "storage/registry_store.h"

namespace registryauth::services {

// Counts notified events for metrics (server/: registry_auth_registry_events_total{result}).
// Implementations must be thread-safe and cheap.
class RegistryEventMetrics {
 public:
  enum class Result {
    kStored,            // new, stored
    kDuplicate,         // already stored (a retried delivery)
    kUnknownWorkspace,  // dropped: the repository names no existing workspace
    kUnauthenticated,   // a refused delivery (counted once per request, not per event)
    kInvalid,           // a malformed envelope (once per request)
    kError,             // the store failed; the registry will retry (once per request)
  };
  virtual ~RegistryEventMetrics() = default;
  virtual void OnRegistryEvents(Result result, int64_t count) = 0;
  // Label values: "stored", "duplicate", "unknown_workspace", "unauthenticated", "invalid",
  // "error".
  static const char* Name(Result result);
};

// The secret file of --registry_events_secret_file: one or two secrets, one per line (a
// second line allows a rotation: add the new secret, move the registry to it, drop the old).
// Blank lines and surrounding whitespace are ignored; each secret must be 32..256 visible ASCII
// characters. Errors name the line number, never its text.
absl::StatusOr<std::vector<SecretString>> ParseRegistryEventSecrets(const SecretString& file);

class RegistryEventReceiver {
 public:
  struct Notification {
    std::string_view authorization;  // the Authorization header, "" if absent
    std::string_view body;
    std::string_view request_id;
    std::string_view peer;  // the client address, for the audit row of a refusal
  };
  struct Result {
    int64_t received = 0;           // events in the envelope
    int64_t stored = 0;             // new rows
    int64_t duplicates = 0;         // already stored
    int64_t unknown_workspace = 0;  // dropped
  };

  // `secrets` non-empty (ParseRegistryEventSecrets); `store`, `guard`, `clock` and `metrics`
  // (may be null) must outlive this object.
  RegistryEventReceiver(const std::vector<SecretString>& secrets, storage::RegistryStore& store,
                        const Guard& guard, const Clock& clock, RegistryEventMetrics* metrics);

  absl::StatusOr<Result> Notify(const Notification& notification) const;

  // The audit action and resource of a refused delivery.
  static constexpr char kAction[] = "NotifyRegistryEvents";
  static constexpr char kResource[] = "registryEvents";

 private:
  using Digest = std::array<unsigned char, 32>;

  // Whether `authorization` is `Bearer <one of the secrets>`; compares with every secret.
  bool Authorized(std::string_view authorization) const;
  void Count(RegistryEventMetrics::Result result, int64_t count) const;

  std::vector<Digest> secret_digests_;
  storage::RegistryStore& store_;
  const Guard& guard_;
  const Clock& clock_;
  RegistryEventMetrics* metrics_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_REGISTRY_EVENT_RECEIVER_H_
