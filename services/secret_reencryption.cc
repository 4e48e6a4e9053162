#include "services/secret_reencryption.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/secret.h"
#include "common/strings.h"
#include "model/model.h"
#include "services/names.h"
#include "services/registry_service.h"

namespace registryauth::services {
namespace {

// ListSecretsNotUnderKey clamps larger limits to this.
constexpr int kStoreMaxLimit = 1000;
// Consecutive batches in which every row changed under us before it could be swapped. Normal
// traffic loses a race now and then; this many in a row means writers keep producing secrets
// under an old key (a replica still running with the old primary), and chasing them is futile.
constexpr int kMaxFruitlessBatches = 50;

std::string WhyNotDecrypted(const crypto::KeyRing& ring, const std::string& ciphertext) {
  const uint32_t id = crypto::KeyRing::KeyIdOf(ciphertext);
  if (id == 0) return "not a key-ring ciphertext";
  const std::vector<uint32_t> ids = ring.key_ids();
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
    return Cat("key ", id, " is not in the key ring");
  }
  return Cat("does not decrypt with key ", id);
}

struct Skipped {
  std::string ciphertext;  // as last seen; a changed row gets another try
  std::string reason;
};

void PublishSkipped(const std::map<std::string, Skipped>& skipped, ReencryptionReport& report) {
  report.skipped = static_cast<int64_t>(skipped.size());
  report.skipped_rows.clear();
  for (const auto& [name, s] : skipped) report.skipped_rows.push_back(name + ": " + s.reason);
}

}  // namespace

ReencryptionReport ReencryptSecrets(storage::RegistryStore& store, const crypto::KeyRing& ring,
                                    const ReencryptionOptions& options,
                                    const ReencryptionProgress& on_batch) {
  ReencryptionReport report;
  const uint32_t primary = ring.primary_key_id();
  const int batch_size = std::clamp(options.batch_size, 1, kStoreMaxLimit);
  std::map<std::string, Skipped> skipped;  // by resource name
  int64_t handled = 0;
  int fruitless = 0;
  auto limit_reached = [&] { return options.max_rows > 0 && handled >= options.max_rows; };
  auto stop = [&](absl::Status status) {
    PublishSkipped(skipped, report);
    report.status = std::move(status);
    return report;
  };

  while (true) {
    if (limit_reached()) return stop(absl::OkStatus());
    // Skipped rows come back in every batch (they are still under an old key): ask for
    // batch_size rows beyond them so that each batch can make progress.
    const int limit = static_cast<int>(
        std::min<size_t>(kStoreMaxLimit, static_cast<size_t>(batch_size) + skipped.size()));
    absl::StatusOr<std::vector<RegistryConfig>> batch =
        store.ListSecretsNotUnderKey(primary, limit);
    if (!batch.ok()) return stop(batch.status());
    ++report.batches;

    int fresh = 0;
    int rewritten_here = 0;
    int raced_here = 0;
    for (const RegistryConfig& row : *batch) {
      if (limit_reached()) break;
      const std::string name = FormatRegistryConfigName(row.workspace_id, row.id);
      auto known = skipped.find(name);
      if (known != skipped.end() && known->second.ciphertext == row.secret_ciphertext) continue;
      ++fresh;
      ++handled;
      // Decrypted under the associated data the row records; written under the current one
      // (rows of version 1 get their endpoint bound here, issue 17).
      absl::StatusOr<std::string> ad = RegistryService::SecretAssociatedData(row);
      absl::StatusOr<SecretString> plain = ad.ok() ? ring.Decrypt(row.secret_ciphertext, *ad)
                                                   : absl::StatusOr<SecretString>(ad.status());
      if (!plain.ok()) {
        skipped[name] =
            Skipped{row.secret_ciphertext, ad.ok() ? WhyNotDecrypted(ring, row.secret_ciphertext)
                                                   : std::string(ad.status().message())};
        continue;
      }
      RegistryConfig current = row;
      current.secret_ad_version = kSecretAdVersionCurrent;
      absl::StatusOr<std::string> new_ad = RegistryService::SecretAssociatedData(current);
      if (!new_ad.ok()) return stop(new_ad.status());
      absl::StatusOr<std::string> ciphertext = ring.Encrypt(plain->view(), *new_ad);
      if (!ciphertext.ok()) return stop(absl::InternalError("encryption failed"));
      absl::StatusOr<bool> swapped = store.ReplaceSecretCiphertext(
          row.workspace_id, row.id, row.secret_ciphertext, *ciphertext, primary);
      if (!swapped.ok()) return stop(swapped.status());
      if (known != skipped.end()) skipped.erase(known);  // it changed and now decrypts
      if (*swapped) {
        ++report.rewritten;
        ++rewritten_here;
      } else {
        ++report.raced;
        ++raced_here;
      }
    }
    PublishSkipped(skipped, report);
    if (on_batch) on_batch(report);

    if (fresh == 0) {
      if (static_cast<int>(batch->size()) < limit) {
        report.finished = true;
        return stop(absl::OkStatus());
      }
      // A whole batch of rows already known not to decrypt, and the store returns no more.
      return stop(absl::FailedPreconditionError(
          Cat("more than ", kStoreMaxLimit - batch_size,
              " secrets do not decrypt, too many to page past; fix or delete them (see the list), "
              "or use a smaller batch size")));
    }
    fruitless = (rewritten_here == 0 && raced_here == fresh) ? fruitless + 1 : 0;
    if (fruitless >= kMaxFruitlessBatches) {
      return stop(absl::AbortedError(
          Cat(kMaxFruitlessBatches,
              " batches in a row lost every swap: secrets keep being rewritten under an old key. "
              "Make sure every replica runs with the new primary (reload), then run again")));
    }
  }
}

}  // namespace registryauth::services
