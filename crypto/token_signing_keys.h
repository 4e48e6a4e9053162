// The keys that sign registry tokens: a small set-file format, the immutable key set a server
// loads from it once (at start-up and on SIGHUP, never per request), a holder that swaps sets
// at run time, and the files a registry needs to trust them (Distribution's
// `auth.token.rootcertbundle` and `auth.token.jwks`).
//
// Set file (text; one directive per line; blank lines and text after '#' are ignored; fields
// are separated by spaces or tabs, so paths cannot contain whitespace or '#'):
//
//   # registry-auth token signing keys
//   key k20260301 next     private_key=k20260301.key.pem cert=k20260301.crt.pem
//   key k20250301 active   private_key=k20250301.key.pem cert=k20250301.crt.pem
//   key k20240301 retiring cert=k20240301.crt.pem since=2025-03-01T10:00:00Z
//
// Each `key` line: an id (1 to 32 characters of [A-Za-z0-9._-], starting with a letter or
// digit; unique), a state, then attributes in any order, each at most once:
//   private_key=PATH  PEM private key (P-256 = ES256, RSA = RS256: the algorithm comes from the
//                     key). Required for active and next keys, optional for retiring ones.
//                     The file must be a regular file not accessible by group or others.
//   cert=PATH         PEM certificate whose first certificate holds exactly that key's public
//                     key; further certificates (a chain) may follow. Required.
//   since=TIME        RFC 3339 (e.g. 2026-01-31T12:00:00Z), whole seconds: when the key
//                     stopped signing. Required for retiring keys, refused on the others.
// Relative paths resolve against the set file's directory. States:
//   active    signs every new token. Exactly one (the file parser allows none, so that a
//             key set can be built up by `registry-authd signing-keys generate`; loading a
//             key set for a server requires one).
//   next      published in the exports (so registries trust it before it signs), not signing.
//   retiring  published only, until every token it signed has expired (RetiringKeyRemovableAt).
// Parse errors are INVALID_ARGUMENT and name the line number only, never any text of the file.
//
// Loading (TokenSigningKeys::Load / Create) reads every key and certificate and refuses the
// set, naming the key id, when: a private key file is readable by group or others or does not
// parse; a certificate does not parse or does not hold exactly the public key of its private
// key; two keys hold the same public key; there is no active key; or the active key's
// certificate has expired (or only becomes valid more than a minute from now). Nothing ever
// quotes key material.
//
// Signing uses the active key; the header carries "kid" in the configured KeyIdStyle
// (libtrust for Distribution 2.x, the RFC 7638 thumbprint for 3.x) and, in x5c mode, also
// "x5c" = the active key's certificate chain (Distribution 2.x verifies that chain against its
// rootcertbundle). Verifying accepts tokens signed by any published key (active, next and
// retiring ones with a private key or not), found by "kid" in either style or, when there is
// no "kid", by an "x5c" leaf certificate byte-identical to one of ours; a token carrying both
// must name the same key in each.
//
// Thread-safety: TokenSigningKeys is immutable after construction; every method is safe to
// call concurrently. TokenSigningKeysHolder is thread-safe. SigningKeySetFile is
// thread-compatible (an editing aid for the CLI).
//
//   ASSIGN_OR_RETURN(auto keys, TokenSigningKeys::Load(path, options, clock.Now()));
//   TokenSigningKeysHolder signer(std::move(keys));   // hand it to the realm as JwtSigner
#ifndef REGISTRY_AUTH_CRYPTO_TOKEN_SIGNING_KEYS_H_
#define REGISTRY_AUTH_CRYPTO_TOKEN_SIGNING_KEYS_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/jwt_signer.h"

namespace registryauth::crypto {

enum class SigningKeyState { kActive, kNext, kRetiring };

// "active" / "next" / "retiring".
std::string_view SigningKeyStateName(SigningKeyState state);

// How long a retiring key stays published by default before `signing-keys remove` allows its
// removal. Far above the realm's registry-token lifetime (minutes); pull tokens and refresh
// tokens are checked by their stored hash, not by a signature, so they do not count.
inline constexpr absl::Duration kDefaultMaxTokenTtl = absl::Hours(24);

// When a key that stopped signing at `since` may be removed: since + max_token_ttl + the 60 s
// clock-skew leeway registries allow (crypto/jwt.h kDefaultLeeway). `max_token_ttl` must be
// at least the longest registry-token lifetime the server issues.
absl::Time RetiringKeyRemovableAt(absl::Time since, absl::Duration max_token_ttl);

// ---- The set file ---------------------------------------------------------------------------

struct SigningKeyEntry {
  std::string id;
  SigningKeyState state = SigningKeyState::kNext;
  std::string private_key_path;     // as written in the file; empty = none (retiring only)
  std::string cert_path;            // as written in the file
  std::optional<absl::Time> since;  // retiring keys only (and always there), whole seconds
};

bool operator==(const SigningKeyEntry& a, const SigningKeyEntry& b);

// True if `id` is a valid key id (format above).
bool IsValidSigningKeyId(std::string_view id);

class SigningKeySetFile {
 public:
  SigningKeySetFile() = default;

  // Parses set-file text (format above). Errors: INVALID_ARGUMENT "signing key set: line N: ...".
  static absl::StatusOr<SigningKeySetFile> Parse(std::string_view text);
  // Reads and parses a set file (a regular file of at most 1 MiB). NOT_FOUND if it does not
  // exist; errors name the path.
  static absl::StatusOr<SigningKeySetFile> Read(const std::string& path);

  // In file order.
  const std::vector<SigningKeyEntry>& entries() const { return entries_; }
  // nullptr if absent.
  const SigningKeyEntry* Find(std::string_view id) const;
  const SigningKeyEntry* Active() const;

  // Appends an entry after checking it as Parse would (id syntax, unique id, paths, since only
  // and always for retiring, private key for active/next, at most one active). INVALID_ARGUMENT
  // or ALREADY_EXISTS (duplicate id) otherwise.
  absl::Status Add(SigningKeyEntry entry);
  // Makes `next` key `id` the active key; the previous active key (if any) becomes retiring
  // since `now` (truncated to whole seconds). NOT_FOUND if there is no such key,
  // FAILED_PRECONDITION unless it is `next`.
  absl::Status Promote(std::string_view id, absl::Time now);
  // Removes retiring key `id`. NOT_FOUND if absent, FAILED_PRECONDITION unless it is retiring.
  // Whether its tokens have expired is the caller's question (RetiringKeyRemovableAt).
  absl::Status Remove(std::string_view id);

  // Text that Parse accepts and that parses back to the same entries. Comments of a parsed
  // file are not kept.
  std::string Format() const;

 private:
  std::vector<SigningKeyEntry> entries_;
};

// ---- The loaded key set ---------------------------------------------------------------------

// What the token header names: only "kid", or "x5c" (plus "kid").
enum class TokenHeaderMode { kKid, kX5c };

struct TokenSigningOptions {
  TokenHeaderMode header_mode = TokenHeaderMode::kKid;
  // The "kid" style of the header (in both modes). libtrust for Distribution 2.x,
  // kJwkThumbprint for 3.x.
  KeyIdStyle kid_style = KeyIdStyle::kLibtrust;
};

// "kid" / "x5c"; INVALID_ARGUMENT for anything else.
absl::StatusOr<TokenHeaderMode> ParseTokenHeaderMode(std::string_view text);
std::string_view TokenHeaderModeName(TokenHeaderMode mode);
// "libtrust" / "jwk-thumbprint"; INVALID_ARGUMENT for anything else.
absl::StatusOr<KeyIdStyle> ParseKeyIdStyle(std::string_view text);
std::string_view KeyIdStyleName(KeyIdStyle style);

// One key of a loaded set; no secrets.
struct SigningKeyInfo {
  std::string id;
  SigningKeyState state = SigningKeyState::kNext;
  std::optional<absl::Time> retiring_since;
  JwsAlgorithm algorithm = JwsAlgorithm::kEs256;
  std::string libtrust_key_id;
  std::string jwk_thumbprint;
  absl::Time cert_not_before;
  absl::Time cert_not_after;
  bool has_private_key = false;
  std::string private_key_path;  // resolved; empty when none
  std::string cert_path;         // resolved
};

class TokenSigningKeys final : public JwtSigner, public JwtVerifier {
 public:
  // Reads the set file at `set_file_path` and every file it names (rules above); `now` decides
  // whether the active certificate is still valid. Errors name paths and key ids.
  static absl::StatusOr<std::unique_ptr<TokenSigningKeys>> Load(const std::string& set_file_path,
                                                                const TokenSigningOptions& options,
                                                                absl::Time now);
  // The same for parsed entries; relative paths resolve against `base_dir` ("" = the current
  // directory).
  static absl::StatusOr<std::unique_ptr<TokenSigningKeys>> Create(
      const SigningKeySetFile& file, const std::string& base_dir,
      const TokenSigningOptions& options, absl::Time now);

  ~TokenSigningKeys() override;
  TokenSigningKeys(const TokenSigningKeys&) = delete;
  TokenSigningKeys& operator=(const TokenSigningKeys&) = delete;

  // JwtSigner: signs with the active key (SignJwt), header per options().
  absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const override;
  absl::StatusOr<std::string> SignClaims(const JwtClaims& claims) const override;
  JwsAlgorithm algorithm() const override;
  // The active key's id in options().kid_style.
  std::string KeyId() const override;

  // JwtVerifier: any published key (see the file comment); VerifyJwtSignature + ValidateClaims.
  absl::StatusOr<nlohmann::json> Verify(std::string_view token,
                                        const ClaimRequirements& requirements,
                                        absl::Time now) const override;

  const TokenSigningOptions& options() const { return options_; }
  // Every key, in set-file order.
  const std::vector<SigningKeyInfo>& keys() const { return infos_; }
  const SigningKeyInfo& active() const { return infos_[active_index_]; }
  const std::string& ActiveKeyId(KeyIdStyle style) const;

  // The PEM certificates of every published key (each certificate of each cert file, leaf
  // first, duplicates once): Distribution's `auth.token.rootcertbundle`.
  std::string RootCertBundlePem() const;
  // {"keys":[...]} with the public JWK of every published key, "kid" in `style`:
  // Distribution 3.x's `auth.token.jwks`.
  nlohmann::json Jwks(KeyIdStyle style) const;

  // One line for the log: ids, states, the active kid; no secrets.
  std::string Summary() const;
  // Ids of retiring keys that may be removed at `now` (RetiringKeyRemovableAt).
  std::vector<std::string> RemovableRetiringKeys(absl::Duration max_token_ttl,
                                                 absl::Time now) const;

 private:
  struct Key;
  TokenSigningKeys(TokenSigningOptions options, std::vector<Key> keys,
                   std::vector<SigningKeyInfo> infos, std::size_t active_index);
  // The published key an "x5c" header value (array of base64 DER) names by its leaf, or null.
  std::shared_ptr<const VerifyingKey> FindByX5c(const nlohmann::json& x5c) const;

  const TokenSigningOptions options_;
  const std::vector<Key> keys_;
  const std::vector<SigningKeyInfo> infos_;
  const std::size_t active_index_;
  const VerifyingKeySet kid_keys_;
  const PreparedJwtSigner signer_;  // the active key with its header, encoded once
};

// The key set a running server signs and verifies with, replaceable on SIGHUP. Each call takes
// a snapshot of the current set and works on it alone, so a call in flight while Set() swaps
// the set finishes with the set it started with. (Like crypto/keyring_holder.h.)
//
//   TokenSigningKeysHolder keys(std::move(initial));
//   keys.Set(*TokenSigningKeys::Load(path, options, clock.Now()));  // on SIGHUP, if it loads
//
// Thread-safe.
class TokenSigningKeysHolder final : public JwtSigner, public JwtVerifier {
 public:
  // `initial` must not be null.
  explicit TokenSigningKeysHolder(std::shared_ptr<const TokenSigningKeys> initial);

  TokenSigningKeysHolder(const TokenSigningKeysHolder&) = delete;
  TokenSigningKeysHolder& operator=(const TokenSigningKeysHolder&) = delete;

  // The current set (never null).
  std::shared_ptr<const TokenSigningKeys> Get() const;
  // Replaces the current set; null is ignored (the holder is never empty).
  void Set(std::shared_ptr<const TokenSigningKeys> keys);
  // Load() with the current set's options; replaces the set only on success. The status says
  // why a set was refused (the previous one stays in force).
  absl::Status Reload(const std::string& set_file_path, absl::Time now);

  absl::StatusOr<std::string> Sign(const nlohmann::json& claims) const override;
  absl::StatusOr<std::string> SignClaims(const JwtClaims& claims) const override;
  JwsAlgorithm algorithm() const override;
  std::string KeyId() const override;
  absl::StatusOr<nlohmann::json> Verify(std::string_view token,
                                        const ClaimRequirements& requirements,
                                        absl::Time now) const override;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const TokenSigningKeys> keys_ ABSL_GUARDED_BY(mu_);
};

// ---- Files ----------------------------------------------------------------------------------

// Writes `keys.RootCertBundlePem()` to `rootcertbundle_path` and `keys.Jwks(jwks_kid_style)`
// to `jwks_path`, each atomically with mode 0644 (common/file_io.h WriteFileAtomicallyWithMode). An
// empty path skips that file. Registries read these files only when they start (see
// deploy/signing-keys.md).
absl::Status WriteTokenSigningExports(const TokenSigningKeys& keys,
                                      const std::string& rootcertbundle_path,
                                      const std::string& jwks_path, KeyIdStyle jwks_kid_style);

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_TOKEN_SIGNING_KEYS_H_
