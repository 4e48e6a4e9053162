// Domain types of the Docker token realm: service accounts, pull tokens, refresh tokens and
// the failed-login throttle. Plain values; secrets appear only as keyed hashes.
//
// Credential formats (what clients present at /token as Basic user:password):
//   service account  `<workspace>+<id>` : `ras_` + base64url(32 random bytes)
//   pull token       `pull+<token id>`  : `rpt_` + base64url(32 random bytes)
//   refresh token    (OAuth2 refresh_token) `rrt_<token id>.` + base64url(32 random bytes)
// Token ids are 22 base64url characters (128 random bits). The stored hash is
// HMAC-SHA256(hash key, secret) with the id of the hash key, so the hash keys can be rotated
// like the data keys; the secrets have 256 bits of entropy, so no slow password hash is needed.
#ifndef REGISTRY_AUTH_MODEL_TOKENS_H_
#define REGISTRY_AUTH_MODEL_TOKENS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace registryauth {

// Repository access a service account holds: a pattern inside its workspace's namespace
// (`<workspace>/*`, `<workspace>/api-*`, `<workspace>/web`) and actions (pull, push, delete,
// or *). See realm/grants.h.
struct RepositoryGrant {
  std::string repository_pattern;
  std::vector<std::string> actions;  // sorted, unique

  friend bool operator==(const RepositoryGrant& a, const RepositoryGrant& b) {
    return a.repository_pattern == b.repository_pattern && a.actions == b.actions;
  }
};

// A keyed hash of a high-entropy secret: HMAC-SHA256 under hash key `key_id`.
struct SecretHash {
  std::string digest;  // 32 bytes
  uint32_t key_id = 0;
};

// True for a canonical lower-case UUID, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex digits):
// the form of ServiceAccount::uid.
inline bool IsUid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

struct ServiceAccount {
  std::string workspace_id;
  std::string id;  // resource id grammar (services/names.h)
  // A random identifier given at creation and never reused (a canonical lower-case UUID,
  // model::IsUid): what a right granted to this one account by configuration names, so an
  // account deleted and re-created under the same names is a different account.
  std::string uid;
  std::string display_name;
  std::vector<RepositoryGrant> grants;
  bool enabled = true;
  absl::Time expire_time = absl::InfiniteFuture();  // InfiniteFuture = never
  SecretHash secret_hash;
  absl::Time secret_rotate_time = absl::InfinitePast();  // when the secret was last (re)generated
  absl::Time last_used_time = absl::InfinitePast();      // last successful /token login
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  int64_t version = 0;
};

// A MintPullToken credential: pull on one app's repository, until it expires or is revoked.
struct PullToken {
  std::string id;  // 22 base64url characters
  std::string workspace_id;
  std::string app_id;
  std::string repository;  // `<workspace>/<app>` at mint time
  SecretHash secret_hash;
  std::string created_by;  // caller identity that minted it
  absl::Time create_time = absl::InfinitePast();
  absl::Time expire_time = absl::InfinitePast();
  absl::Time revoke_time = absl::InfiniteFuture();  // InfiniteFuture = not revoked
};

// An OAuth2 refresh token of the token realm, bound to one subject and one service.
struct RefreshToken {
  std::string id;            // 22 base64url characters
  std::string subject;       // the Basic user name that logged in, e.g. `acme+builder`
  std::string service;       // the registry's `service` name
  std::string workspace_id;  // of the subject, for listing and cascade
  std::string client_id;
  SecretHash secret_hash;
  // The generation of the subject's secret it was issued for: the digest of the subject's
  // SecretHash at login (32 bytes; "" only on rows issued before schema v7, which are
  // refused). A refresh is refused unless the subject's current secret has the same digest,
  // so a regenerated secret or a deleted and re-created account (same id, new secret) ends
  // every refresh token of the old one, even one minted by a replica with a stale cache.
  std::string subject_generation;
  absl::Time create_time = absl::InfinitePast();
  absl::Time expire_time = absl::InfinitePast();
  absl::Time last_used_time = absl::InfinitePast();
  absl::Time revoke_time = absl::InfiniteFuture();
};

// Failed logins of one throttle key (`account:<user>` or `addr:<client ip>`).
struct ThrottleState {
  std::string key;
  int32_t failures = 0;  // within the current window
  absl::Time window_start = absl::InfinitePast();
  absl::Time blocked_until = absl::InfinitePast();
};

}  // namespace registryauth

#endif  // REGISTRY_AUTH_MODEL_TOKENS_H_
