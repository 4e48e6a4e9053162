// Which data-encryption keys the stored data still needs, and the one rule built on it: a key
// id may leave the key ring only when no stored secret is encrypted under it and no token hash
// is keyed by it (crypto/keyring.h: hashes cannot be re-encrypted), and an id never comes back
// with other key bytes. The server's key-ring reload (SIGHUP) and `registry-authd keys`
// (usage, retire) both ask here.
//
//   absl::StatusOr<KeyUsage> usage = KeyUsage::Read(store, token_store);
//   std::vector<std::string> warnings;
//   RETURN_IF_ERROR(KeyUsage::CheckReplacement(current_ring, next_ring, usage, &warnings));
//
//   ASSIGN_OR_RETURN(KeyUsage usage, KeyUsage::Read(store, token_store));
//   RETURN_IF_ERROR(usage.CheckUnused(key_id));  // before `keys retire`
//
// A KeyUsage is an immutable snapshot of the counts: thread-compatible. Messages name key ids
// and counts only, never key bytes.
#ifndef REGISTRY_AUTH_SERVICES_KEY_USAGE_H_
#define REGISTRY_AUTH_SERVICES_KEY_USAGE_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "crypto/keyring.h"
#include "storage/registry_store.h"
#include "storage/token_store.h"

namespace registryauth::services {

// What one key id protects.
struct KeyUseCount {
  int64_t secrets = 0;  // registry-config secrets encrypted under the key
  int64_t hashes = 0;   // token hashes (service accounts, pull and refresh tokens) keyed by it
  int64_t total() const { return secrets + hashes; }
};

class KeyUsage {
 public:
  // Counts both stores; the first store error is returned as it is.
  static absl::StatusOr<KeyUsage> Read(storage::RegistryStore& store, storage::TokenStore& tokens);

  explicit KeyUsage(std::map<uint32_t, KeyUseCount> counts) : counts_(std::move(counts)) {}

  // Per key id, ascending; ids nothing uses are absent.
  const std::map<uint32_t, KeyUseCount>& counts() const { return counts_; }

  // OK when nothing stored uses key `id`, so it may leave the key file. FAILED_PRECONDITION
  // saying what still uses it and what to do first (re-encrypt; regenerate or let tokens expire).
  absl::Status CheckUnused(uint32_t id) const;

  // May `next` replace `current` as the running key ring? `usage` is the counts, or why they
  // could not be read. FAILED_PRECONDITION when an id in both rings has other key bytes or `next`
  // drops an id still in use; UNAVAILABLE when `next` drops ids and the counts are unreadable.
  // On OK, `warnings` (if not null) receives lines worth logging: counts that could not be read
  // (harmless when nothing is dropped), data under ids in neither ring (not this change's doing).
  static absl::Status CheckReplacement(const crypto::KeyRing& current, const crypto::KeyRing& next,
                                       const absl::StatusOr<KeyUsage>& usage,
                                       std::vector<std::string>* warnings);

  // The part of CheckReplacement that needs no counts: FAILED_PRECONDITION when an id in both
  // rings has other key bytes. Callers check it before reading the counts, so a refused file
  // costs no database round trip (and no wait for an unreachable database).
  static absl::Status CheckKeyBytes(const crypto::KeyRing& current, const crypto::KeyRing& next);

 private:
  std::map<uint32_t, KeyUseCount> counts_;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_KEY_USAGE_H_
