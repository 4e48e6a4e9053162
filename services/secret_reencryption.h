// Online re-encryption of stored secrets under the key ring's primary key (key rotation, the
// `registry-authd keys reencrypt` command).
//
// Also the migration of rows written before issue 17 to the current associated data (which
// binds the secret to its endpoint): those rows are listed too, whatever their key.
//
// Works in small batches through the store's rotation interface: read up to `batch_size` rows
// whose secret is under another key or an older associated-data version
// (ListSecretsNotUnderKey), decrypt each with the ring and the associated data the row records
// (RegistryService::SecretAssociatedData, the same the service uses), encrypt it under the
// primary and the current associated data, and swap it in with a compare-and-set on the old
// ciphertext (ReplaceSecretCiphertext, which marks the row current). Nothing locks more than one
// row, and only for one UPDATE, so the service keeps serving. Version, etag and update_time do not
// change.
//
//   - A lost compare-and-set ("raced") means the row changed meanwhile: a new secret was
//     written (already under the writer's primary), the row was deleted, or another run
//     re-encrypted it. If it is still under an old key it comes back in a later batch.
//   - A row that does not decrypt (its key is not in the ring, or the ciphertext does not
//     authenticate) is skipped, counted and reported by resource name with the reason, never
//     with content. It stays in every later batch, so the loop asks for batch_size rows beyond
//     the skipped ones and stops when a batch brings nothing new: it always terminates.
//   - Safe to interrupt at any point and run again: every swap is a complete, independent
//     row update, and a finished row drops out of the next run's batches.
//
// Thread-compatible (one run at a time per object; concurrent runs are safe for the data, they
// only race each other).
//
//   ReencryptionReport r = ReencryptSecrets(store, *ring, {.batch_size = 100}, on_batch);
//   if (!r.status.ok()) ...;   // counts are valid even then
#ifndef REGISTRY_AUTH_SERVICES_SECRET_REENCRYPTION_H_
#define REGISTRY_AUTH_SERVICES_SECRET_REENCRYPTION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "crypto/keyring.h"
#include "storage/registry_store.h"

namespace registryauth::services {

struct ReencryptionOptions {
  // Rows per batch (1..1000).
  int batch_size = 100;
  // Stop after handling this many rows (rewritten + raced + skipped); <= 0: no limit. A run
  // stopped this way is incomplete; run again to continue.
  int64_t max_rows = 0;
};

struct ReencryptionReport {
  int64_t rewritten = 0;  // now under the primary
  int64_t raced = 0;      // changed by someone else between read and swap
  int64_t skipped = 0;    // do not decrypt; listed in skipped_rows
  // "workspaces/acme/registries/gh: key 1 is not in the key ring" and the like.
  std::vector<std::string> skipped_rows;
  int batches = 0;
  // True when no row outside the primary is left except the skipped ones (the run was not cut
  // short by max_rows or an error).
  bool finished = false;
  // OK, or why the run stopped early (a store error, or rows the loop cannot page past).
  absl::Status status;
};

// Called after every batch with the totals so far (progress output).
using ReencryptionProgress = std::function<void(const ReencryptionReport&)>;

ReencryptionReport ReencryptSecrets(storage::RegistryStore& store, const crypto::KeyRing& ring,
                                    const ReencryptionOptions& options,
                                    const ReencryptionProgress& on_batch = nullptr);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_SECRET_REENCRYPTION_H_
