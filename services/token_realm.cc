#include "services/token_realm.h"

#include <openssl/rand.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ip_address.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "crypto/base64url.h"
#include "realm/basic_auth.h"
#include "realm/grants.h"
#include "realm/scope.h"
#include "services/error_detail.h"
#include "services/names.h"
#include "services/page_token.h"
#include "services/registry_service.h"

namespace registryauth::services {

struct TokenRealm::Principal {
  std::string subject;  // "" = anonymous
  std::string workspace_id;
  std::vector<realm::Grant> grants;
};

namespace {

constexpr char kServiceAccountSecretPrefix[] = "ras_";
constexpr char kPullTokenSecretPrefix[] = "rpt_";
constexpr char kRefreshTokenPrefix[] = "rrt_";
constexpr char kPullUserPrefix[] = "pull+";
constexpr char kWorkspaceUserPrefix[] = "build+";
constexpr char kWorkspaceSecretPrefix[] = "rbt_";
constexpr size_t kMaxWorkspaceSecret = 160;
constexpr size_t kTokenIdBytes = 16;   // 22 base64url characters
constexpr size_t kSecretBytes = 32;    // 43 base64url characters
constexpr size_t kTokenIdChars = 22;
constexpr size_t kMaxGrants = 64;
constexpr size_t kMaxDisplayName = 256;
constexpr size_t kMaxClientId = 256;
constexpr size_t kMaxServiceName = 256;
// Uncached public_pull lookups one /token request may cause (anonymous clients included).
// Docker asks for one repository per token, two for a cross-repository mount.
constexpr int kMaxPublicAppLookups = 4;
constexpr int kDefaultTokenListLimit = 100;
constexpr int kMaxTokenListLimit = 1000;

absl::Status InvalidCredentials() {
  return WithErrorDetail(absl::UnauthenticatedError("invalid credentials"),
                         {kReasonInvalidCredentials, ErrorCategory::kAuthentication, false,
                          absl::ZeroDuration()});
}

absl::Status RealmDisabled() {
  return WithErrorDetail(
      absl::FailedPreconditionError("the token realm is not configured on this server"),
      {kReasonTokenRealmDisabled, ErrorCategory::kRegistry, false, absl::ZeroDuration()});
}

absl::StatusOr<std::string> RandomBase64Url(size_t bytes) {
  SecretString raw;
  raw.resize(bytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.mutable_data()),
                 static_cast<int>(bytes)) != 1) {
    return absl::InternalError("random generator failed");
  }
  return crypto::Base64UrlEncode(raw.view());
}

// What the keyed hash of a workspace credential covers: its id, workspace and expiry.
std::string WorkspaceCredentialMessage(std::string_view id, std::string_view workspace_id,
                                       int64_t expire_unix) {
  return Cat("registry-auth workspace credential v1\n", id, "\n", workspace_id, "\n",
                       expire_unix);
}

// `rbt_<workspace>.<expiry unix seconds>.<hash key id>.<base64url keyed hash>`, parsed
// strictly; nullopt for anything else.
struct WorkspaceSecret {
  std::string workspace_id;
  int64_t expire_unix = 0;
  crypto::SecretDigest digest;
};
std::optional<WorkspaceSecret> ParseWorkspaceSecret(std::string_view secret) {
  if (secret.size() > kMaxWorkspaceSecret || !StartsWith(secret, kWorkspaceSecretPrefix)) {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(ToAbsl(secret.substr(sizeof(kWorkspaceSecretPrefix) - 1)), '.');
  if (parts.size() != 4) return std::nullopt;
  auto all_digits = [](absl::string_view v) {
    return !v.empty() && v.size() <= 18 &&
           v.find_first_not_of("0123456789") == absl::string_view::npos;
  };
  WorkspaceSecret out;
  out.workspace_id = std::string(parts[0]);
  if (!IsValidId(out.workspace_id) || !all_digits(parts[1]) || !all_digits(parts[2]) ||
      parts[2].size() > 10) {
    return std::nullopt;
  }
  uint64_t key_id = 0;
  if (!absl::SimpleAtoi(parts[1], &out.expire_unix) || !absl::SimpleAtoi(parts[2], &key_id) ||
      key_id > 0xffffffffu) {
    return std::nullopt;
  }
  out.digest.key_id = static_cast<uint32_t>(key_id);
  absl::StatusOr<std::string> digest =
      crypto::Base64UrlDecode(std::string_view(parts[3].data(), parts[3].size()));
  if (!digest.ok() || digest->size() != 32) return std::nullopt;
  out.digest.digest = *std::move(digest);
  return out;
}

// The id of `rrt_<id>.<secret>`, or "" when `text` is not of that shape. (Every offset is
// checked before it is used: this runs on anything an anonymous client sends.)
std::string_view RefreshTokenId(std::string_view text) {
  constexpr size_t kPrefixLen = sizeof(kRefreshTokenPrefix) - 1;
  if (!StartsWith(text, kRefreshTokenPrefix)) return {};
  const size_t dot = text.find('.', kPrefixLen);
  if (dot == std::string_view::npos) return {};
  return text.substr(kPrefixLen, dot - kPrefixLen);
}

bool IsTokenId(std::string_view id) {
  if (id.size() != kTokenIdChars) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// `workspaces/{w}/<collection>/{id}` with a token id.
absl::StatusOr<std::pair<std::string, std::string>> ParseTokenName(std::string_view name,
                                                                   std::string_view collection,
                                                                   std::string_view field) {
  const absl::Status bad = absl::InvalidArgumentError(Cat(
      field, ": must be workspaces/{workspace}/", collection, "/{token}, got ", QuoteInput(name)));
  constexpr std::string_view kPrefix = "workspaces/";
  if (name.substr(0, kPrefix.size()) != kPrefix) return bad;
  std::string_view rest = name.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad;
  std::string ws(rest.substr(0, slash));
  rest = rest.substr(slash + 1);
  if (rest.substr(0, collection.size()) != collection) return bad;
  rest = rest.substr(collection.size());
  if (rest.empty() || rest[0] != '/') return bad;
  std::string id(rest.substr(1));
  if (!IsValidId(ws) || !IsTokenId(id)) return bad;
  return std::make_pair(std::move(ws), std::move(id));
}

absl::StatusOr<std::pair<std::string, std::string>> ParseServiceAccountName(
    std::string_view name, std::string_view field) {
  const absl::Status bad = absl::InvalidArgumentError(
      Cat(field, ": must be workspaces/{workspace}/serviceAccounts/{service_account}, got ",
                    QuoteInput(name)));
  constexpr std::string_view kPrefix = "workspaces/";
  constexpr std::string_view kMiddle = "/serviceAccounts/";
  if (name.substr(0, kPrefix.size()) != kPrefix) return bad;
  std::string_view rest = name.substr(kPrefix.size());
  const size_t mid = rest.find(kMiddle);
  if (mid == std::string_view::npos) return bad;
  std::string ws(rest.substr(0, mid));
  std::string id(rest.substr(mid + kMiddle.size()));
  if (!IsValidId(ws) || !IsValidId(id)) return bad;
  return std::make_pair(std::move(ws), std::move(id));
}

absl::Status NotFound(std::string_view name) {
  return absl::NotFoundError(Cat(name, ": not found"));
}

// Store errors of one named resource in the API's words.
absl::Status MapStoreError(const absl::Status& status, std::string_view name) {
  if (absl::IsNotFound(status)) return NotFound(name);
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(Cat(name, ": already exists"));
  }
  if (absl::IsAborted(status)) {
    return absl::AbortedError(
        Cat(name, ": etag does not match the current version; read it again"));
  }
  return status;
}

absl::Status ValidateInput(std::string_view workspace_id, const ServiceAccountInput& input,
                           absl::Time now) {
  if (input.display_name.size() > kMaxDisplayName) {
    return absl::InvalidArgumentError("service_account.display_name: longer than 256 characters");
  }
  if (input.grants.size() > kMaxGrants) {
    return absl::InvalidArgumentError("service_account.grants: more than 64 grants");
  }
  for (size_t i = 0; i < input.grants.size(); ++i) {
    const RepositoryGrant& g = input.grants[i];
    const std::string field = absl::StrCat("service_account.grants[", i, "]");
    if (absl::Status s = realm::ValidateGrantPattern(workspace_id, g.repository_pattern);
        !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".repository: ", s.message()));
    }
    std::set<std::string> actions(g.actions.begin(), g.actions.end());
    if (actions.size() != g.actions.size()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".actions: duplicate action"));
    }
    if (absl::Status s = realm::ValidateGrantActions(actions); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".actions: ", s.message()));
    }
  }
  if (input.expire_time != absl::InfiniteFuture() && input.expire_time <= now) {
    return absl::InvalidArgumentError("service_account.expire_time: must be in the future");
  }
  return absl::OkStatus();
}

std::vector<RepositoryGrant> NormalizedGrants(const std::vector<RepositoryGrant>& grants) {
  std::vector<RepositoryGrant> out = grants;
  for (RepositoryGrant& g : out) {
    std::sort(g.actions.begin(), g.actions.end());
  }
  return out;
}

std::vector<realm::Grant> ToRealmGrants(const std::vector<RepositoryGrant>& grants) {
  std::vector<realm::Grant> out;
  out.reserve(grants.size());
  for (const RepositoryGrant& g : grants) {
    out.push_back({g.repository_pattern, {g.actions.begin(), g.actions.end()}});
  }
  return out;
}

// The throttle key of a client address: `addr:<ip>` for the IP of `ipv4:1.2.3.4:5678`,
// `ipv6:[::1]:5678` (`ipv6:%5B::1%5D:5678`, as gRPC 1.51 writes it) or the gateway's
// `http:1.2.3.4`. IPv6 clients are grouped by their /64
// (`addr:2001:db8:1:2::/64`): one host usually holds a whole /64, so counting single
// addresses would let it spread its failures over 2^64 keys. An IPv4-mapped IPv6 address
// counts as its IPv4 address. Anything that is not an IP literal is kept as it is (bounded).
std::string AddressKey(std::string_view peer) {
  std::string_view addr = peer;
  if (StartsWith(addr, "http:")) {
    addr = addr.substr(5);
  } else if (StartsWith(addr, "ipv4:")) {
    addr = addr.substr(5);
    if (size_t colon = addr.rfind(':'); colon != std::string_view::npos) {
      addr = addr.substr(0, colon);
    }
  } else if (StartsWith(addr, "ipv6:")) {
    addr = addr.substr(5);
    if (size_t close = addr.rfind(']'); StartsWith(addr, "[") && close != std::string_view::npos) {
      addr = addr.substr(1, close - 1);
    } else if (StartsWith(addr, "%5B") || StartsWith(addr, "%5b")) {
      // gRPC >= 1.47 writes its peer as a URI with the brackets percent-encoded
      // (`ipv6:%5B2001:db8::1%5D:5678`). Without this the key would keep the source port: one
      // key per TCP connection, and reconnecting would escape the block.
      size_t close = addr.rfind("%5D");
      if (const size_t lower = addr.rfind("%5d");
          lower != std::string_view::npos && (close == std::string_view::npos || lower > close)) {
        close = lower;
      }
      if (close != std::string_view::npos && close >= 3) addr = addr.substr(3, close - 3);
    }
  }
  if (addr.empty()) return "";
  addr = addr.substr(0, 128);
  if (addr.find(':') != std::string_view::npos) {
    if (std::optional<IpAddress> ip = ParseIpAddress(addr)) {
      if (ip->v4) return Cat("addr:", ip->ToString());  // was IPv4-mapped
      std::fill(ip->bytes.begin() + 8, ip->bytes.end(), 0);
      return Cat("addr:", ip->ToString(), "/64");
    }
  }
  return Cat("addr:", addr);
}

// The throttle key of one account as tried from one client address (`account:<user>@<ip>`):
// a login's failures count against the pair, so failures from elsewhere never touch a client
// that holds the right secret.
std::string AccountAddressKey(std::string_view username, std::string_view address_key) {
  std::string_view addr = address_key;
  if (StartsWith(addr, "addr:")) addr = addr.substr(5);
  return Cat("account:", username, "@", addr);
}

// An address may try several accounts (a build host with a few service accounts, a NAT in
// front of a team): its own block comes after kAddressFailureFactor times the failures that
// block one account from it.
constexpr int32_t kAddressFailureFactor = 4;

int64_t UnixSeconds(absl::Time t) { return absl::ToUnixSeconds(t); }

absl::Status ValidateListLimit(int limit, int* out) {
  if (limit < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  *out = limit == 0 ? kDefaultTokenListLimit : std::min(limit, kMaxTokenListLimit);
  return absl::OkStatus();
}

}  // namespace

TokenRealm::TokenRealm(storage::RegistryStore& registry_store, storage::TokenStore& token_store,
                       const crypto::SecretHasher& hasher, const crypto::JwtSigner* signer,
                       const Clock& clock, TokenRealmOptions options,
                       TokenRealmMetrics* metrics)
    : registry_store_(registry_store),
      tokens_(token_store),
      hasher_(hasher),
      signer_(signer),
      clock_(clock),
      options_(std::move(options)),
      metrics_(metrics),
      authz_(registry_store),
      audit_(registry_store, clock),
      account_cache_(clock, options_.cache_ttl, options_.cache_capacity),
      pull_cache_(clock, options_.cache_ttl, options_.cache_capacity),
      clean_throttle_cache_(clock, options_.cache_ttl, options_.cache_capacity),
      public_app_cache_(clock, options_.cache_ttl, options_.cache_capacity) {}

absl::Status TokenRealm::ValidateOptions(const TokenRealmOptions& o) {
  if (o.service.size() > kMaxServiceName) {
    return absl::InvalidArgumentError("token service: longer than 256 characters");
  }
  if (!o.service.empty() && o.issuer.empty()) {
    return absl::InvalidArgumentError("token issuer: required when the realm is enabled");
  }
  if (o.token_ttl < absl::Seconds(60) || o.token_ttl > absl::Hours(24)) {
    return absl::InvalidArgumentError("token ttl: must be between 60s and 24h");
  }
  if (o.pull_token_default_ttl <= absl::ZeroDuration() ||
      o.pull_token_max_ttl < o.pull_token_default_ttl) {
    return absl::InvalidArgumentError(
        "pull token ttl: the default must be positive and not above the maximum");
  }
  if (o.refresh_token_ttl < absl::Minutes(1)) {
    return absl::InvalidArgumentError("refresh token ttl: must be at least 1m");
  }
  if (o.throttle.free_failures < 0 || o.throttle.window <= absl::ZeroDuration() ||
      o.throttle.base_delay <= absl::ZeroDuration() ||
      o.throttle.max_delay < o.throttle.base_delay) {
    return absl::InvalidArgumentError("login throttle: invalid policy");
  }
  return absl::OkStatus();
}

std::string TokenRealm::FormatServiceAccountName(std::string_view workspace_id,
                                                 std::string_view id) {
  return Cat("workspaces/", workspace_id, "/serviceAccounts/", id);
}

std::string TokenRealm::FormatPullTokenName(std::string_view workspace_id, std::string_view id) {
  return Cat("workspaces/", workspace_id, "/pullTokens/", id);
}

std::string TokenRealm::FormatRefreshTokenName(std::string_view workspace_id,
                                               std::string_view id) {
  return Cat("workspaces/", workspace_id, "/refreshTokens/", id);
}

std::string TokenRealm::ServiceAccountUsername(std::string_view workspace_id,
                                               std::string_view id) {
  return Cat(workspace_id, "+", id);
}

// ---- The realm -----------------------------------------------------------------------------

absl::StatusOr<SecretString> TokenRealm::NewSecret(std::string_view prefix,
                                                   SecretHash* hash) const {
  ASSIGN_OR_RETURN(std::string random, RandomBase64Url(kSecretBytes));
  SecretString secret(Cat(prefix, random));
  WipeString(random);
  ASSIGN_OR_RETURN(crypto::SecretDigest digest, hasher_.Hash(secret.view()));
  *hash = {std::move(digest.digest), digest.key_id};
  return secret;
}

absl::StatusOr<ServiceAccount> TokenRealm::CachedServiceAccount(std::string_view username,
                                                                std::string_view workspace_id,
                                                                std::string_view id) {
  const std::string key(username);
  if (std::optional<ServiceAccount> hit = account_cache_.Get(key)) return *std::move(hit);
  absl::StatusOr<ServiceAccount> account = tokens_.GetServiceAccount(workspace_id, id);
  if (account.ok()) account_cache_.Put(key, *account);
  return account;
}

absl::StatusOr<PullToken> TokenRealm::CachedPullToken(std::string_view id) {
  const std::string key(id);
  if (std::optional<PullToken> hit = pull_cache_.Get(key)) return *std::move(hit);
  absl::StatusOr<PullToken> token = tokens_.GetPullToken(id);
  if (token.ok()) pull_cache_.Put(key, *token);
  return token;
}

namespace {
absl::Status TooManyFailedLogins(absl::Time blocked_until, absl::Time now) {
  const absl::Duration wait = absl::Ceil(blocked_until - now, absl::Seconds(1));
  return WithErrorDetail(
      absl::ResourceExhaustedError(absl::StrCat(
          "too many failed logins; retry after ", absl::ToInt64Seconds(wait), "s")),
      {kReasonTooManyFailedLogins, ErrorCategory::kAuthentication, true, wait});
}
}  // namespace

absl::Status TokenRealm::CheckThrottle(const std::string& key, absl::Time now,
                                       int32_t* failures) {
  if (failures != nullptr) *failures = 0;
  if (key.empty() || clean_throttle_cache_.Get(key).has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(ThrottleState state, tokens_.GetThrottleState(key));
  if (failures != nullptr) *failures = state.failures;
  if (state.failures == 0 && state.blocked_until <= now) clean_throttle_cache_.Put(key, true);
  if (state.blocked_until <= now) return absl::OkStatus();
  return TooManyFailedLogins(state.blocked_until, now);
}

storage::ThrottlePolicy TokenRealm::AddressPolicy() const {
  storage::ThrottlePolicy policy = options_.throttle;
  policy.free_failures = policy.free_failures > std::numeric_limits<int32_t>::max() /
                                                    kAddressFailureFactor
                             ? std::numeric_limits<int32_t>::max()
                             : policy.free_failures * kAddressFailureFactor;
  return policy;
}

absl::Status TokenRealm::RecordFailure(const std::string& account_key,
                                       const std::string& address_key, absl::Time now) {
  absl::Time blocked_until = absl::InfinitePast();
  for (const std::string* key : {&account_key, &address_key}) {
    if (key->empty()) continue;
    clean_throttle_cache_.Erase(*key);
    absl::StatusOr<ThrottleState> s = tokens_.RecordLoginFailure(
        *key, now, key == &address_key ? AddressPolicy() : options_.throttle);
    if (!s.ok()) {
      LOG_WARNING(absl::StrCat("cannot record a failed login: ", s.status().message()));
      continue;
    }
    blocked_until = std::max(blocked_until, s->blocked_until);
  }
  if (blocked_until > now) return TooManyFailedLogins(blocked_until, now);
  return InvalidCredentials();
}

absl::StatusOr<TokenRealm::Principal> TokenRealm::ResolvePrincipal(
    std::string_view username, const std::string_view* password, absl::Time now) {
  // With a password, its prefix must fit the kind of user name before anything is looked up.
  auto has_prefix = [&](std::string_view prefix) {
    return password == nullptr || StartsWith(*password, prefix);
  };
  auto secret_matches = [&](const SecretHash& hash) {
    return password == nullptr || hasher_.Verify(*password, {hash.key_id, hash.digest});
  };
  Principal p;
  p.subject = std::string(username);

  if (StartsWith(username, kPullUserPrefix)) {
    const std::string_view id = username.substr(sizeof(kPullUserPrefix) - 1);
    if (!IsTokenId(id) || !has_prefix(kPullTokenSecretPrefix)) return InvalidCredentials();
    absl::StatusOr<PullToken> token = CachedPullToken(id);
    if (absl::IsNotFound(token.status())) return InvalidCredentials();
    if (!token.ok()) return token.status();
    if (!secret_matches(token->secret_hash) || token->revoke_time <= now ||
        token->expire_time <= now) {
      return InvalidCredentials();
    }
    p.workspace_id = token->workspace_id;
    p.grants.push_back({token->repository, {"pull"}});
    return p;
  }

  if (StartsWith(username, kWorkspaceUserPrefix)) {
    // Stateless, so only a login with the password itself proves it: never a refresh subject.
    const std::string_view id = username.substr(sizeof(kWorkspaceUserPrefix) - 1);
    if (password == nullptr || !IsTokenId(id)) return InvalidCredentials();
    std::optional<WorkspaceSecret> secret = ParseWorkspaceSecret(*password);
    if (!secret.has_value()) return InvalidCredentials();
    const absl::Time expiry = absl::FromUnixSeconds(secret->expire_unix);
    // Verified first (constant time), so a forged expiry tells nothing.
    const bool genuine = hasher_.Verify(
        WorkspaceCredentialMessage(id, secret->workspace_id, secret->expire_unix), secret->digest);
    if (!genuine || expiry <= now || expiry > now + options_.pull_token_max_ttl) {
      return InvalidCredentials();
    }
    p.workspace_id = secret->workspace_id;
    p.grants.push_back({Cat(secret->workspace_id, "/*"), {"pull", "push"}});
    return p;
  }

  const size_t plus = username.find('+');
  if (plus == std::string_view::npos) return InvalidCredentials();
  const std::string_view ws = username.substr(0, plus);
  const std::string_view id = username.substr(plus + 1);
  if (!IsValidId(ws) || !IsValidId(id) || !has_prefix(kServiceAccountSecretPrefix)) {
    return InvalidCredentials();
  }
  absl::StatusOr<ServiceAccount> account = CachedServiceAccount(username, ws, id);
  if (absl::IsNotFound(account.status())) return InvalidCredentials();
  if (!account.ok()) return account.status();
  if (!secret_matches(account->secret_hash) || !account->enabled || account->expire_time <= now) {
    return InvalidCredentials();
  }
  // A login with the secret counts as a use (at most one write per touch_interval).
  if (password != nullptr && now - account->last_used_time >= options_.touch_interval) {
    if (absl::Status s = tokens_.TouchServiceAccount(ws, id, now); !s.ok()) {
      LOG_WARNING(absl::StrCat("cannot record the last use of a service account: ", s.message()));
    } else {
      account->last_used_time = now;
      // Not Put: that would restart the age of a row another replica may have changed since.
      account_cache_.Replace(std::string(username), *account);
    }
  }
  p.workspace_id = std::string(ws);
  p.grants = ToRealmGrants(account->grants);
  return p;
}

absl::StatusOr<TokenRealm::Principal> TokenRealm::Authenticate(const TokenRequest& request,
                                                               const std::string& address_key,
                                                               absl::Time now) {
  if (request.grant_type == TokenGrantType::kRefreshToken) {
    if (request.refresh_token.empty()) {
      return absl::InvalidArgumentError("refresh_token: required for grant_type refresh_token");
    }
    RETURN_IF_ERROR(CheckThrottle(address_key, now, nullptr));
    const std::string_view text = request.refresh_token.view();
    const std::string_view id = RefreshTokenId(text);
    absl::StatusOr<RefreshToken> stored = absl::NotFoundError("");
    if (IsTokenId(id)) {
      stored = tokens_.GetRefreshToken(id);
      if (!stored.ok() && !absl::IsNotFound(stored.status())) return stored.status();
    }
    if (!stored.ok() ||
        !hasher_.Verify(text, {stored->secret_hash.key_id, stored->secret_hash.digest}) ||
        stored->revoke_time <= now || stored->expire_time <= now ||
        stored->service != request.service) {
      return RecordFailure("", address_key, now);
    }
    absl::StatusOr<Principal> p = ResolvePrincipal(stored->subject, nullptr, now);
    if (!p.ok()) {
      if (absl::IsUnauthenticated(p.status())) return RecordFailure("", address_key, now);
      return p.status();
    }
    if (now - stored->last_used_time >= options_.touch_interval) {
      if (absl::Status s = tokens_.TouchRefreshToken(id, now); !s.ok()) {
        LOG_WARNING(absl::StrCat("cannot record the last use of a refresh token: ", s.message()));
      }
    }
    return p;
  }

  if (request.username.empty()) {
    if (request.grant_type == TokenGrantType::kPassword) {
      return absl::InvalidArgumentError("username: required for grant_type password");
    }
    if (!request.password.empty()) return absl::InvalidArgumentError("username: required");
    return Principal{};  // anonymous
  }
  if (request.password.empty()) return absl::InvalidArgumentError("password: required");
  if (!request.account.empty() && request.account != request.username) {
    return absl::InvalidArgumentError("account: does not match the user name");
  }
  if (request.username.size() > realm::kMaxUsernameBytes) return InvalidCredentials();

  // Throttling (README "Failed logins at /token"). Only the client's own address may be
  // refused before the secret is looked at: a flood of failures from one address (or IPv6
  // /64) stops costing lookups there. The secret is checked next, and the right one is never
  // refused for failures anybody else caused: an account's failures are counted per (account,
  // client address), and they only turn the next wrong answers into 429s.
  int32_t address_failures = 0;
  RETURN_IF_ERROR(CheckThrottle(address_key, now, &address_failures));
  const std::string account_key = AccountAddressKey(request.username, address_key);
  const std::string_view password = request.password.view();
  absl::StatusOr<Principal> p = ResolvePrincipal(request.username, &password, now);
  if (absl::IsUnauthenticated(p.status())) return RecordFailure(account_key, address_key, now);
  if (!p.ok()) return p.status();
  // A success forgets this pair's failures (not the address's: one good account must not
  // reset an address that is guessing others). Every failure of the pair also counted for the
  // address, so an address without failures has a clean pair: no write then. (A pair failure
  // made on another replica after this one cached the address clean may be left over; it only
  // turns that pair's next wrong answers into 429s sooner.)
  if (address_failures > 0 && !clean_throttle_cache_.Get(account_key).has_value()) {
    if (absl::Status s = tokens_.ClearLoginFailures(account_key); !s.ok()) {
      LOG_WARNING(absl::StrCat("cannot clear failed logins: ", s.message()));
    } else {
      clean_throttle_cache_.Put(account_key, true);
    }
  }
  return p;
}

absl::StatusOr<bool> TokenRealm::IsPublicApp(std::string_view workspace_id,
                                             std::string_view app_id, int* lookups_left) {
  const std::string key = Cat(workspace_id, "/", app_id);
  if (std::optional<bool> cached = public_app_cache_.Get(key)) return *cached;
  // Past the request's share of database lookups the answer is "not public": the token then
  // carries less, which is not an error (the registry refuses the rest).
  if (*lookups_left <= 0) return false;
  --*lookups_left;
  absl::StatusOr<App> app = registry_store_.GetApp(workspace_id, app_id);
  if (!app.ok() && !absl::IsNotFound(app.status())) return app.status();
  // Absent apps are cached too: anonymous clients may ask for any name, as often as they like.
  const bool public_pull = app.ok() && app->public_pull;
  public_app_cache_.Put(key, public_pull);
  return public_pull;
}

absl::StatusOr<std::vector<realm::Grant>> TokenRealm::WithPublicPulls(
    const std::vector<realm::ResourceScope>& requested, std::vector<realm::Grant> grants) {
  int lookups_left = kMaxPublicAppLookups;
  for (const realm::ResourceScope& scope : requested) {
    if (scope.type != "repository" || !scope.resource_class.empty()) continue;
    if (scope.actions.count("pull") == 0 && scope.actions.count("*") == 0) continue;
    // The full name as the registry sees it (no host is ever stripped): exactly
    // `<workspace>/<app>`, or nothing.
    const std::string& path = scope.name;
    const size_t slash = path.find('/');
    if (slash == std::string::npos || path.find('/', slash + 1) != std::string::npos) continue;
    const std::string_view workspace_id = std::string_view(path).substr(0, slash);
    const std::string_view app_id = std::string_view(path).substr(slash + 1);
    if (!IsValidId(workspace_id) || !IsValidId(app_id)) continue;
    // The principal's own grants already cover it: no lookup (and no dependency on the
    // database for a service account that may pull anyway).
    const realm::ResourceScope pull{"repository", "", path, {"pull"}};
    if (!realm::Authorize({pull}, grants, false).empty()) continue;
    absl::StatusOr<bool> is_public = IsPublicApp(workspace_id, app_id, &lookups_left);
    if (!is_public.ok()) {
      LOG_WARNING(absl::StrCat("cannot tell whether ", path, " is public: ",
                               is_public.status().message()));
      return absl::UnavailableError("cannot check repository visibility; try again");
    }
    if (*is_public) grants.push_back(realm::Grant{path, {"pull"}});
  }
  return grants;
}

absl::StatusOr<SecretString> TokenRealm::NewRefreshToken(const Principal& principal,
                                                         const TokenRequest& request,
                                                         absl::Time now) {
  ASSIGN_OR_RETURN(std::string id, RandomBase64Url(kTokenIdBytes));
  RefreshToken stored;
  ASSIGN_OR_RETURN(SecretString token,
                   NewSecret(Cat(kRefreshTokenPrefix, id, "."), &stored.secret_hash));
  stored.id = id;
  stored.subject = principal.subject;
  stored.service = request.service;
  stored.workspace_id = principal.workspace_id;
  stored.client_id = request.client_id;
  stored.create_time = now;
  stored.expire_time = now + options_.refresh_token_ttl;
  stored.last_used_time = now;
  RETURN_IF_ERROR(tokens_.CreateRefreshToken(stored));
  return token;
}

absl::StatusOr<IssuedToken> TokenRealm::IssueToken(const RequestContext& ctx,
                                                   const TokenRequest& request) {
  absl::StatusOr<IssuedToken> out = IssueTokenUnmetered(ctx, request);
  if (metrics_ != nullptr) {
    using M = TokenRealmMetrics;
    M::PrincipalKind kind = M::PrincipalKind::kUnknown;
    const std::string_view user = request.username;
    if (request.grant_type == TokenGrantType::kRefreshToken) {
      kind = M::PrincipalKind::kRefreshToken;
    } else if (user.empty()) {
      kind = M::PrincipalKind::kAnonymous;
    } else if (StartsWith(user, kPullUserPrefix)) {
      kind = M::PrincipalKind::kPullToken;
    } else if (StartsWith(user, kWorkspaceUserPrefix)) {
      kind = M::PrincipalKind::kWorkspaceCredential;
    } else if (user.find('+') != std::string_view::npos) {
      kind = M::PrincipalKind::kServiceAccount;
    }
    M::Outcome outcome = M::Outcome::kError;
    switch (out.status().code()) {
      case absl::StatusCode::kOk: outcome = M::Outcome::kIssued; break;
      case absl::StatusCode::kUnauthenticated: outcome = M::Outcome::kInvalidCredentials; break;
      case absl::StatusCode::kResourceExhausted: outcome = M::Outcome::kThrottled; break;
      case absl::StatusCode::kInvalidArgument: outcome = M::Outcome::kInvalidRequest; break;
      default: break;
    }
    metrics_->OnTokenRequest(kind, outcome);
  }
  return out;
}

absl::StatusOr<IssuedToken> TokenRealm::IssueTokenUnmetered(const RequestContext& ctx,
                                                            const TokenRequest& request) {
  if (options_.service.empty() || signer_ == nullptr) return RealmDisabled();
  if (request.service != options_.service) {
    return WithErrorDetail(
        absl::InvalidArgumentError(request.service.empty()
                                       ? "service: required"
                                       : "service: not served by this token realm"),
        {kReasonUnknownService, ErrorCategory::kRegistry, false, absl::ZeroDuration()});
  }
  if (request.client_id.size() > kMaxClientId) {
    return absl::InvalidArgumentError("client_id: longer than 256 characters");
  }
  ASSIGN_OR_RETURN(std::vector<realm::ResourceScope> requested,
                   realm::ParseScopes(request.scopes));
  const absl::Time now = clock_.Now();
  absl::StatusOr<Principal> principal = Authenticate(request, AddressKey(ctx.peer), now);
  if (!principal.ok()) {
    if (absl::IsUnauthenticated(principal.status())) {
      LOG_INFO(absl::StrCat("token refused: invalid credentials, request_id=", ctx.request_id,
                            " peer=", ctx.peer));
    }
    return principal.status();
  }

  // Pull-token subjects ("pull+<id>") cannot be configured there: the set names accounts.
  const bool may_list_catalog =
      !principal->subject.empty() &&
      !StartsWith(principal->subject, kPullUserPrefix) &&
      !StartsWith(principal->subject, kWorkspaceUserPrefix) &&
      options_.catalog_accounts.count(principal->subject) > 0;
  ASSIGN_OR_RETURN(std::vector<realm::Grant> grants,
                   WithPublicPulls(requested, std::move(principal->grants)));
  const std::vector<realm::ResourceScope> granted =
      realm::Authorize(requested, grants, may_list_catalog);
  nlohmann::json access = nlohmann::json::array();
  IssuedToken out;
  for (const realm::ResourceScope& s : granted) {
    access.push_back({{"type", s.type},
                      {"name", s.name},
                      {"actions", std::vector<std::string>(s.actions.begin(), s.actions.end())}});
    out.granted_scopes.push_back(realm::FormatScope(s));
  }
  ASSIGN_OR_RETURN(std::string jti, RandomBase64Url(kTokenIdBytes));
  const int64_t iat = UnixSeconds(now);
  nlohmann::json claims = {{"iss", options_.issuer},
                           {"sub", principal->subject},
                           {"aud", options_.service},
                           {"iat", iat},
                           {"nbf", iat},
                           {"exp", iat + absl::ToInt64Seconds(options_.token_ttl)},
                           {"jti", jti},
                           {"access", std::move(access)}};
  ASSIGN_OR_RETURN(out.token, signer_->Sign(claims));
  out.expires_in = options_.token_ttl;
  out.issued_at = absl::FromUnixSeconds(iat);
  out.subject = principal->subject;

  if (request.grant_type == TokenGrantType::kRefreshToken) {
    out.refresh_token = request.refresh_token;
  } else if (request.offline && !principal->subject.empty() &&
             !StartsWith(principal->subject, kWorkspaceUserPrefix)) {
    // (A workspace credential gets none: it could not be checked again, and the client keeps
    // using its password, which is what clients do without a refresh token.)
    ASSIGN_OR_RETURN(out.refresh_token, NewRefreshToken(*principal, request, now));
  }
  return out;
}

// ---- Workspace credentials -------------------------------------------------------------------

bool TokenRealm::ServesRegistry(std::string_view registry_host) const {
  return !options_.service.empty() && signer_ != nullptr && !options_.registry_host.empty() &&
         absl::EqualsIgnoreCase(ToAbsl(registry_host), options_.registry_host);
}

absl::StatusOr<Credentials> TokenRealm::MintWorkspaceCredential(std::string_view workspace_id) {
  if (options_.service.empty() || signer_ == nullptr) return RealmDisabled();
  if (!IsValidId(workspace_id)) return absl::InvalidArgumentError("workspace: not a valid id");
  ASSIGN_OR_RETURN(std::string id, RandomBase64Url(kTokenIdBytes));
  // Whole seconds: the password carries the expiry as a Unix time.
  const int64_t expire_unix = UnixSeconds(clock_.Now() + options_.pull_token_default_ttl);
  const absl::Time expiry = absl::FromUnixSeconds(expire_unix);
  ASSIGN_OR_RETURN(crypto::SecretDigest digest,
                   hasher_.Hash(WorkspaceCredentialMessage(id, workspace_id, expire_unix)));
  std::string secret = Cat(kWorkspaceSecretPrefix, workspace_id, ".", expire_unix, ".",
                                     digest.key_id, ".", crypto::Base64UrlEncode(digest.digest));
  Credentials c;
  c.type = RegistryType::kDistribution;
  c.registry_host = options_.registry_host;
  c.username = Cat(kWorkspaceUserPrefix, id);
  c.secret = SecretString(secret);
  WipeString(secret);
  WipeString(digest.digest);
  c.repository_namespace = std::string(workspace_id);
  c.expire_time = expiry;
  return c;
}

// ---- Pull tokens -----------------------------------------------------------------------------

absl::StatusOr<MintedPullToken> TokenRealm::MintPullToken(const RequestContext& ctx,
                                                          std::string_view app_name,
                                                          absl::Duration ttl) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(app_name, "app"));
  const std::string app_resource = FormatAppName(n.workspace_id, n.app_id);
  MintedPullToken out;
  absl::Status result = [&]() -> absl::Status {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kMintToken, n.workspace_id));
    if (options_.service.empty()) return RealmDisabled();
    if (ttl < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("ttl: must not be negative");
    }
    if (ttl == absl::ZeroDuration()) ttl = options_.pull_token_default_ttl;
    ttl = std::min(ttl, options_.pull_token_max_ttl);
    absl::StatusOr<App> app = registry_store_.GetApp(n.workspace_id, n.app_id);
    if (!app.ok()) return MapStoreError(app.status(), app_resource);

    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(std::string id, RandomBase64Url(kTokenIdBytes));
    PullToken& t = out.token;
    ASSIGN_OR_RETURN(out.password, NewSecret(kPullTokenSecretPrefix, &t.secret_hash));
    t.id = id;
    t.workspace_id = n.workspace_id;
    t.app_id = n.app_id;
    t.repository = Cat(n.workspace_id, "/", n.app_id);
    t.created_by = ctx.caller.identity;
    t.create_time = now;
    // Whole seconds, so what the API reports is exactly what the store keeps.
    t.expire_time = absl::FromUnixSeconds(UnixSeconds(now + ttl));
    RETURN_IF_ERROR(tokens_.CreatePullToken(t));
    out.username = Cat(kPullUserPrefix, id);
    out.registry = options_.registry_host;
    return absl::OkStatus();
  }();
  audit_.RecordChange(ctx, "MintPullToken",
                      result.ok() ? FormatPullTokenName(n.workspace_id, out.token.id)
                                  : app_resource,
                      result);
  if (!result.ok()) return result;
  return out;
}

absl::StatusOr<PullToken> TokenRealm::RevokePullToken(const RequestContext& ctx,
                                                      std::string_view name) {
  ASSIGN_OR_RETURN(auto n, ParseTokenName(name, "pullTokens", "name"));
  const std::string resource = FormatPullTokenName(n.first, n.second);
  absl::StatusOr<PullToken> result = [&]() -> absl::StatusOr<PullToken> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRevokeToken, n.first));
    absl::StatusOr<PullToken> token = tokens_.GetPullToken(n.second);
    if (absl::IsNotFound(token.status()) || (token.ok() && token->workspace_id != n.first)) {
      return NotFound(resource);
    }
    if (!token.ok()) return token.status();
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(bool revoked, tokens_.RevokePullToken(n.second, now));
    pull_cache_.Erase(n.second);
    if (revoked) token->revoke_time = now;
    return token;
  }();
  audit_.RecordChange(ctx, "RevokePullToken", resource, result.status());
  return result;
}

absl::StatusOr<int64_t> TokenRealm::RevokePullTokens(const RequestContext& ctx,
                                                     std::string_view app_name) {
  ASSIGN_OR_RETURN(AppName n, ParseAppName(app_name, "app"));
  const std::string resource = FormatAppName(n.workspace_id, n.app_id);
  absl::StatusOr<int64_t> result = [&]() -> absl::StatusOr<int64_t> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRevokeToken, n.workspace_id));
    absl::StatusOr<int64_t> revoked =
        tokens_.RevokePullTokensOfApp(n.workspace_id, n.app_id, clock_.Now());
    pull_cache_.Clear();  // the cache is keyed by token id; drop them all
    return revoked;
  }();
  audit_.RecordChange(ctx, "RevokePullTokens", resource, result.status());
  return result;
}

absl::StatusOr<std::vector<PullToken>> TokenRealm::ListPullTokens(const RequestContext& ctx,
                                                                  std::string_view parent,
                                                                  int limit) {
  std::string ws;
  std::string app;
  if (absl::StatusOr<AppName> a = ParseAppName(parent, "parent"); a.ok()) {
    ws = a->workspace_id;
    app = a->app_id;
  } else {
    absl::StatusOr<std::string> w = ParseWorkspaceName(parent, "parent");
    if (!w.ok()) {
      return absl::InvalidArgumentError(Cat(
          "parent: must be workspaces/{workspace} or workspaces/{workspace}/apps/{app}, got ",
          QuoteInput(parent)));
    }
    ws = *std::move(w);
  }
  RETURN_IF_ERROR(ValidateListLimit(limit, &limit));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kListTokens, ws));
  absl::StatusOr<std::vector<PullToken>> tokens = tokens_.ListPullTokens(ws, app, limit);
  if (!tokens.ok()) return MapStoreError(tokens.status(), FormatWorkspaceName(ws));
  return tokens;
}

// ---- Service accounts ------------------------------------------------------------------------

absl::StatusOr<ServiceAccountWithSecret> TokenRealm::CreateServiceAccount(
    const RequestContext& ctx, std::string_view parent, std::string_view id,
    const ServiceAccountInput& input) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(ValidateId(id, "service_account_id"));
  const std::string resource = FormatServiceAccountName(ws, id);
  ServiceAccountWithSecret out;
  absl::Status result = [&]() -> absl::Status {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, ws));
    const absl::Time now = clock_.Now();
    RETURN_IF_ERROR(ValidateInput(ws, input, now));
    ServiceAccount a;
    ASSIGN_OR_RETURN(out.secret, NewSecret(kServiceAccountSecretPrefix, &a.secret_hash));
    a.workspace_id = ws;
    a.id = std::string(id);
    a.display_name = input.display_name;
    a.grants = NormalizedGrants(input.grants);
    a.enabled = input.enabled;
    a.expire_time = input.expire_time;
    a.secret_rotate_time = now;
    a.create_time = now;
    a.update_time = now;
    absl::StatusOr<ServiceAccount> created = tokens_.CreateServiceAccount(a);
    if (!created.ok()) {
      if (absl::IsNotFound(created.status())) return NotFound(FormatWorkspaceName(ws));
      return MapStoreError(created.status(), resource);
    }
    out.account = *std::move(created);
    out.username = ServiceAccountUsername(ws, id);
    return absl::OkStatus();
  }();
  audit_.RecordChange(ctx, "CreateServiceAccount", resource, result);
  if (!result.ok()) return result;
  return out;
}

absl::StatusOr<ServiceAccount> TokenRealm::GetServiceAccount(const RequestContext& ctx,
                                                             std::string_view name) {
  ASSIGN_OR_RETURN(auto n, ParseServiceAccountName(name, "name"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, n.first));
  absl::StatusOr<ServiceAccount> a = tokens_.GetServiceAccount(n.first, n.second);
  if (!a.ok()) return MapStoreError(a.status(), FormatServiceAccountName(n.first, n.second));
  return a;
}

absl::StatusOr<ListResult<ServiceAccount>> TokenRealm::ListServiceAccounts(
    const RequestContext& ctx, std::string_view parent, int page_size,
    std::string_view page_token) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, ws));
  ASSIGN_OR_RETURN(int size, ResolvePageSize(page_size));
  const std::string collection = Cat(FormatWorkspaceName(ws), "/serviceAccounts");
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token, collection, IsValidId));
  absl::StatusOr<Page<ServiceAccount>> page =
      tokens_.ListServiceAccounts(ws, ListOptions{size, after});
  if (!page.ok()) return MapStoreError(page.status(), FormatWorkspaceName(ws));
  return ToListResult(*std::move(page), collection,
                      [](const ServiceAccount& a) { return a.id; });
}

absl::StatusOr<ServiceAccount> TokenRealm::UpdateServiceAccount(const RequestContext& ctx,
                                                                std::string_view name,
                                                                const ServiceAccountInput& input,
                                                                const FieldMask& mask,
                                                                std::string_view etag) {
  ASSIGN_OR_RETURN(auto n, ParseServiceAccountName(name, "service_account.name"));
  const std::string resource = FormatServiceAccountName(n.first, n.second);
  absl::StatusOr<ServiceAccount> result = [&]() -> absl::StatusOr<ServiceAccount> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, n.first));
    ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "service_account.etag"));
    std::set<std::string> paths(mask.begin(), mask.end());
    const bool all = paths.count("*") > 0;
    if (all && paths.size() > 1) {
      return absl::InvalidArgumentError("update_mask: `*` cannot be combined with other paths");
    }
    static const std::set<std::string> kKnown = {"display_name", "grants", "disabled",
                                                 "enabled", "expire_time"};
    for (const std::string& p : paths) {
      if (p != "*" && kKnown.count(p) == 0) {
        return absl::InvalidArgumentError(
            Cat("update_mask: unknown path ", QuoteInput(p)));
      }
    }
    if (paths.empty()) {
      if (!input.display_name.empty()) paths.insert("display_name");
      if (!input.grants.empty()) paths.insert("grants");
      if (!input.enabled) paths.insert("disabled");
      if (input.expire_time != absl::InfiniteFuture()) paths.insert("expire_time");
      if (paths.empty()) {
        return absl::InvalidArgumentError("nothing to update: no update_mask and no fields set");
      }
    }
    auto has = [&](const char* p) { return all || paths.count(p) > 0; };
    const absl::Time now = clock_.Now();
    absl::StatusOr<ServiceAccount> current = tokens_.GetServiceAccount(n.first, n.second);
    if (!current.ok()) return MapStoreError(current.status(), resource);
    if (expected != 0 && expected != current->version) {
      return MapStoreError(absl::AbortedError(""), resource);
    }
    ServiceAccount updated = *current;
    ServiceAccountInput merged{current->display_name, current->grants, current->enabled,
                               current->expire_time};
    if (has("display_name")) merged.display_name = input.display_name;
    if (has("grants")) merged.grants = input.grants;
    if (has("disabled") || has("enabled")) merged.enabled = input.enabled;
    if (has("expire_time")) merged.expire_time = input.expire_time;
    // Only a changed expiry has to lie in the future (an expired account may be renamed).
    ServiceAccountInput to_check = merged;
    if (!has("expire_time")) to_check.expire_time = absl::InfiniteFuture();
    RETURN_IF_ERROR(ValidateInput(n.first, to_check, now));
    updated.display_name = merged.display_name;
    updated.grants = NormalizedGrants(merged.grants);
    updated.enabled = merged.enabled;
    updated.expire_time = merged.expire_time;
    updated.update_time = now;
    absl::StatusOr<ServiceAccount> stored =
        tokens_.UpdateServiceAccount(updated, current->version);
    account_cache_.Erase(ServiceAccountUsername(n.first, n.second));
    if (!stored.ok()) return MapStoreError(stored.status(), resource);
    return stored;
  }();
  audit_.RecordChange(ctx, "UpdateServiceAccount", resource, result.status());
  return result;
}

absl::Status TokenRealm::DeleteServiceAccount(const RequestContext& ctx, std::string_view name,
                                              std::string_view etag) {
  ASSIGN_OR_RETURN(auto n, ParseServiceAccountName(name, "name"));
  const std::string resource = FormatServiceAccountName(n.first, n.second);
  absl::Status result = [&]() -> absl::Status {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, n.first));
    ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "etag"));
    absl::Status deleted = tokens_.DeleteServiceAccount(n.first, n.second, expected);
    account_cache_.Erase(ServiceAccountUsername(n.first, n.second));
    if (!deleted.ok()) return MapStoreError(deleted, resource);
    absl::StatusOr<int64_t> revoked = tokens_.RevokeRefreshTokensOfSubject(
        ServiceAccountUsername(n.first, n.second), clock_.Now());
    if (!revoked.ok()) {
      // The account is gone, so its refresh tokens no longer resolve to a principal anyway.
      LOG_WARNING(absl::StrCat("refresh tokens of a deleted service account not revoked: ",
                               revoked.status().message()));
    }
    return absl::OkStatus();
  }();
  audit_.RecordChange(ctx, "DeleteServiceAccount", resource, result);
  return result;
}

absl::StatusOr<ServiceAccountWithSecret> TokenRealm::RegenerateServiceAccountSecret(
    const RequestContext& ctx, std::string_view name, std::string_view etag) {
  ASSIGN_OR_RETURN(auto n, ParseServiceAccountName(name, "name"));
  const std::string resource = FormatServiceAccountName(n.first, n.second);
  ServiceAccountWithSecret out;
  absl::Status result = [&]() -> absl::Status {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, n.first));
    ASSIGN_OR_RETURN(int64_t expected, RegistryService::ParseEtag(etag, "etag"));
    absl::StatusOr<ServiceAccount> current = tokens_.GetServiceAccount(n.first, n.second);
    if (!current.ok()) return MapStoreError(current.status(), resource);
    if (expected != 0 && expected != current->version) {
      return MapStoreError(absl::AbortedError(""), resource);
    }
    const absl::Time now = clock_.Now();
    ServiceAccount updated = *current;
    ASSIGN_OR_RETURN(out.secret, NewSecret(kServiceAccountSecretPrefix, &updated.secret_hash));
    updated.secret_rotate_time = now;
    updated.update_time = now;
    absl::StatusOr<ServiceAccount> stored =
        tokens_.UpdateServiceAccount(updated, current->version);
    account_cache_.Erase(ServiceAccountUsername(n.first, n.second));
    if (!stored.ok()) return MapStoreError(stored.status(), resource);
    out.account = *std::move(stored);
    out.username = ServiceAccountUsername(n.first, n.second);
    RETURN_IF_ERROR(tokens_
                        .RevokeRefreshTokensOfSubject(out.username, now)
                        .status());
    return absl::OkStatus();
  }();
  audit_.RecordChange(ctx, "RegenerateServiceAccountSecret", resource, result);
  if (!result.ok()) return result;
  return out;
}

// ---- Refresh tokens --------------------------------------------------------------------------

absl::StatusOr<std::vector<RefreshToken>> TokenRealm::ListRefreshTokens(const RequestContext& ctx,
                                                                        std::string_view parent,
                                                                        std::string_view subject,
                                                                        int limit) {
  ASSIGN_OR_RETURN(std::string ws, ParseWorkspaceName(parent, "parent"));
  RETURN_IF_ERROR(ValidateListLimit(limit, &limit));
  if (subject.size() > realm::kMaxUsernameBytes) {
    return absl::InvalidArgumentError("subject: longer than 256 characters");
  }
  RETURN_IF_ERROR(authz_.Check(ctx, Operation::kRead, ws));
  absl::StatusOr<std::vector<RefreshToken>> tokens = tokens_.ListRefreshTokens(ws, subject, limit);
  if (!tokens.ok()) return MapStoreError(tokens.status(), FormatWorkspaceName(ws));
  return tokens;
}

absl::StatusOr<RefreshToken> TokenRealm::RevokeRefreshToken(const RequestContext& ctx,
                                                            std::string_view name) {
  ASSIGN_OR_RETURN(auto n, ParseTokenName(name, "refreshTokens", "name"));
  const std::string resource = FormatRefreshTokenName(n.first, n.second);
  absl::StatusOr<RefreshToken> result = [&]() -> absl::StatusOr<RefreshToken> {
    RETURN_IF_ERROR(authz_.Check(ctx, Operation::kManage, n.first));
    absl::StatusOr<RefreshToken> token = tokens_.GetRefreshToken(n.second);
    if (absl::IsNotFound(token.status()) || (token.ok() && token->workspace_id != n.first)) {
      return NotFound(resource);
    }
    if (!token.ok()) return token.status();
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(bool revoked, tokens_.RevokeRefreshToken(n.second, now));
    if (revoked) token->revoke_time = now;
    return token;
  }();
  audit_.RecordChange(ctx, "RevokeRefreshToken", resource, result.status());
  return result;
}

// ---- Housekeeping --------------------------------------------------------------------------

absl::StatusOr<TokenRealm::HousekeepingResult> TokenRealm::Housekeep(absl::Duration keep_expired) {
  const absl::Time now = clock_.Now();
  HousekeepingResult r;
  ASSIGN_OR_RETURN(r.pull_tokens, tokens_.DeleteExpiredPullTokens(now - keep_expired));
  ASSIGN_OR_RETURN(r.refresh_tokens, tokens_.DeleteExpiredRefreshTokens(now - keep_expired));
  ASSIGN_OR_RETURN(r.throttle_states, tokens_.DeleteStaleThrottleStates(now, options_.throttle));
  return r;
}

}  // namespace registryauth::services
