// Rules both TokenStore implementations share. Internal to storage/.
//
// - Text: PostgreSQL keeps only valid UTF-8 without NUL (libpq would cut a parameter at a NUL),
//   so both stores refuse other text on writes (INVALID_ARGUMENT, checked in C++ before any
//   database work) and treat it as "no such row" on reads.
// - The constraints of storage/migrations/0003_tokens.sql as C++ checks, in the order
//   PostgreSQL tests them (alphabetical by constraint name): InMemoryTokenStore enforces them
//   here, PostgresTokenStore leaves them to the database. Errors name the constraint.
#ifndef REGISTRY_AUTH_STORAGE_TOKEN_STORE_INTERNAL_H_
#define REGISTRY_AUTH_STORAGE_TOKEN_STORE_INTERNAL_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "model/tokens.h"

namespace registryauth::storage::internal {

// ListPullTokens / ListRefreshTokens: limit <= 0 means 100, larger than 1000 is clamped.
inline constexpr int kDefaultTokenListLimit = 100;
inline constexpr int kMaxTokenListLimit = 1000;
inline int EffectiveTokenListLimit(int limit) {
  if (limit <= 0) return kDefaultTokenListLimit;
  return limit > kMaxTokenListLimit ? kMaxTokenListLimit : limit;
}

// Schema limits (0003_tokens.sql).
inline constexpr size_t kSecretHashBytes = 32;
inline constexpr size_t kMaxGrants = 100;
inline constexpr size_t kMaxGrantPatternBytes = 255;
inline constexpr size_t kMaxGrantActions = 16;
inline constexpr size_t kMaxGrantActionBytes = 32;
inline constexpr size_t kMaxThrottleKeyBytes = 512;

// Valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF) without NUL.
bool IsStorableText(std::string_view s);

// 22 base64url characters (the *_id_format of the token tables).
bool IsTokenId(std::string_view id);

// INVALID_ARGUMENT unless every text field is storable.
absl::Status CheckText(const ServiceAccount& account, std::string_view op);
absl::Status CheckText(const PullToken& token, std::string_view op);
absl::Status CheckText(const RefreshToken& token, std::string_view op);
// Text, then login_throttle_key_length.
absl::Status CheckThrottleKey(std::string_view key, std::string_view op);

// The schema's CHECK constraints of each table (text assumed storable).
absl::Status CheckConstraints(const ServiceAccount& account, std::string_view op);
absl::Status CheckConstraints(const PullToken& token, std::string_view op);
absl::Status CheckConstraints(const RefreshToken& token, std::string_view op);

}  // namespace registryauth::storage::internal

#endif  // REGISTRY_AUTH_STORAGE_TOKEN_STORE_INTERNAL_H_
