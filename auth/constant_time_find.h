// Constant-time lookup of a SHA-256 digest in a table, for API-key checks.
//
// Every entry is compared, whether and wherever the needle matches, with a comparison that does
// not stop at the first differing byte (CRYPTO_memcmp), and the matching index is selected with
// masks rather than a branch. The time taken depends only on the table size, so it reveals
// neither which entry matched nor how long a prefix of some stored digest a guess shares.
//
//   std::optional<size_t> i = ConstantTimeFind(digests, Sha256(presented));
//
// Pure functions; thread-safe. Internal to auth/ (CallerPolicy::FindByApiKey); the comparison is
// a parameter so tests can check that no entry is skipped.
#ifndef REGISTRY_AUTH_AUTH_CONSTANT_TIME_FIND_H_
#define REGISTRY_AUTH_AUTH_CONSTANT_TIME_FIND_H_

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <optional>
#include <vector>

namespace registryauth::auth::internal {

using Sha256Digest = std::array<unsigned char, 32>;

// The index of the entry equal to `needle`, or nullopt. `compare(a, b, n)` returns 0 iff the n
// bytes at a and b are equal, like CRYPTO_memcmp, and must itself run in constant time. Entries
// must be unique (CallerPolicy refuses duplicate key hashes); with duplicates the last one wins.
template <typename Compare>
std::optional<std::size_t> ConstantTimeFind(const std::vector<Sha256Digest>& table,
                                            const Sha256Digest& needle, Compare&& compare) {
  std::size_t found = 0;  // 1 + index of the match; 0 = none
  for (std::size_t i = 0; i < table.size(); ++i) {
    const int diff = compare(table[i].data(), needle.data(), needle.size());
    // All bits set if diff == 0, else 0; no branch on the comparison result.
    const std::size_t mask = std::size_t{0} - static_cast<std::size_t>(diff == 0);
    found = (found & ~mask) | ((i + 1) & mask);
  }
  if (found == 0) return std::nullopt;
  return found - 1;
}

inline std::optional<std::size_t> ConstantTimeFind(const std::vector<Sha256Digest>& table,
                                                   const Sha256Digest& needle) {
  return ConstantTimeFind(table, needle, [](const void* a, const void* b, std::size_t n) {
    return CRYPTO_memcmp(a, b, n);
  });
}

}  // namespace registryauth::auth::internal

#endif  // REGISTRY_AUTH_AUTH_CONSTANT_TIME_FIND_H_
