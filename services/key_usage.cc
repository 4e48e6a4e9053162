#include "services/key_usage.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace registryauth::services {
namespace {

bool Contains(const std::vector<uint32_t>& ids, uint32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

absl::StatusOr<KeyUsage> KeyUsage::Read(storage::RegistryStore& store,
                                        storage::TokenStore& tokens) {
  absl::StatusOr<std::map<uint32_t, int64_t>> secrets = store.CountSecretsByKeyId();
  if (!secrets.ok()) return secrets.status();
  absl::StatusOr<std::map<uint32_t, int64_t>> hashes = tokens.CountSecretHashesByKeyId();
  if (!hashes.ok()) return hashes.status();
  std::map<uint32_t, KeyUseCount> counts;
  for (const auto& [id, n] : *secrets) counts[id].secrets = n;
  for (const auto& [id, n] : *hashes) counts[id].hashes = n;
  return KeyUsage(std::move(counts));
}

absl::Status KeyUsage::CheckUnused(uint32_t id) const {
  auto it = counts_.find(id);
  if (it == counts_.end()) return absl::OkStatus();
  if (it->second.secrets > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", id, " still encrypts ", it->second.secrets,
                     " stored secrets; run `registry-authd keys reencrypt` first"));
  }
  if (it->second.hashes > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key ", id, " still verifies ", it->second.hashes,
        " token hashes (service accounts, pull or refresh tokens); regenerate those "
        "service-account secrets, or wait until the tokens expire and are cleaned up"));
  }
  return absl::OkStatus();
}

absl::Status KeyUsage::CheckKeyBytes(const crypto::KeyRing& current, const crypto::KeyRing& next) {
  // An id that comes back with other bytes would make every secret under it unreadable.
  const std::vector<uint32_t> changed = current.ChangedKeyIds(next);
  if (!changed.empty()) {
    std::string ids;
    for (uint32_t id : changed) absl::StrAppend(&ids, ids.empty() ? "" : ", ", id);
    return absl::FailedPreconditionError(
        absl::StrCat("key id(s) ", ids,
                     " have different key bytes than the loaded ones; a key "
                     "id is never reused (add new keys with `registry-authd keys generate`)"));
  }
  return absl::OkStatus();
}

absl::Status KeyUsage::CheckReplacement(const crypto::KeyRing& current, const crypto::KeyRing& next,
                                        const absl::StatusOr<KeyUsage>& usage,
                                        std::vector<std::string>* warnings) {
  auto warn = [&](std::string line) {
    if (warnings != nullptr) warnings->push_back(std::move(line));
  };
  RETURN_IF_ERROR(CheckKeyBytes(current, next));

  // Which ids would the new ring drop? Those need the database's word that nothing uses them.
  // The counts also reveal data that no ring can read (worth a warning either way).
  const std::vector<uint32_t> next_ids = next.key_ids();
  std::vector<uint32_t> dropped;
  for (uint32_t id : current.key_ids()) {
    if (!Contains(next_ids, id)) dropped.push_back(id);
  }
  if (!usage.ok()) {
    if (!dropped.empty()) {
      return absl::UnavailableError(absl::StrCat(
          "the new key file drops key(s) and the database cannot confirm they are unused: ",
          usage.status().message()));
    }
    warn(absl::StrCat("key ring reload: cannot count secrets per key (", usage.status().message(),
                      "); the new file drops no key"));
    return absl::OkStatus();
  }
  std::string in_use;      // dropped by the new ring, still used
  std::string unreadable;  // in neither ring: not this change's doing
  for (const auto& [id, count] : usage->counts()) {
    if (Contains(next_ids, id)) continue;
    std::string& list = Contains(dropped, id) ? in_use : unreadable;
    absl::StrAppend(&list, list.empty() ? "" : ", ", id, " (", count.total(), " secrets)");
  }
  if (!in_use.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the new key file drops key(s) still in use: ", in_use,
                     "; run `registry-authd keys reencrypt` first"));
  }
  if (!unreadable.empty()) {
    warn(absl::StrCat("secrets under key(s) missing from the key file cannot be decrypted: ",
                      unreadable));
  }
  return absl::OkStatus();
}

}  // namespace registryauth::services
