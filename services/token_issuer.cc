#include "services/token_issuer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "crypto/jwt_claims.h"
#include "realm/basic_auth.h"
#include "realm/grants.h"
#include "realm/scope.h"
#include "services/error_detail.h"
#include "services/names.h"
#include "services/token_secrets.h"

namespace registryauth::services {
namespace {

constexpr size_t kMaxClientId = 256;

using Metrics = TokenRealmMetrics;

// The kind a request claims, for the metrics: a refresh grant is counted as its own kind.
Metrics::PrincipalKind MetricsKind(const TokenRequest& request, PrincipalKind kind) {
  if (request.grant_type == TokenGrantType::kRefreshToken) {
    return Metrics::PrincipalKind::kRefreshToken;
  }
  switch (kind) {
    case PrincipalKind::kAnonymous:
      return Metrics::PrincipalKind::kAnonymous;
    case PrincipalKind::kServiceAccount:
      return Metrics::PrincipalKind::kServiceAccount;
    case PrincipalKind::kPullToken:
      return Metrics::PrincipalKind::kPullToken;
    case PrincipalKind::kWorkspaceCredential:
      return Metrics::PrincipalKind::kWorkspaceCredential;
    case PrincipalKind::kUnknown:
      break;
  }
  return Metrics::PrincipalKind::kUnknown;
}

Metrics::Outcome OutcomeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return Metrics::Outcome::kIssued;
    case absl::StatusCode::kUnauthenticated:
      return Metrics::Outcome::kInvalidCredentials;
    case absl::StatusCode::kResourceExhausted:
      return Metrics::Outcome::kThrottled;
    case absl::StatusCode::kInvalidArgument:
      return Metrics::Outcome::kInvalidRequest;
    default:
      return Metrics::Outcome::kError;
  }
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

// The principal as a resource name for the audit row: its service account, else its workspace.
std::string PrincipalResource(const Principal& p) {
  if (p.workspace_id.empty()) return "";
  if (p.kind == PrincipalKind::kServiceAccount) {
    const size_t plus = p.subject.find('+');
    if (plus != std::string::npos) {
      return FormatServiceAccountName(p.workspace_id, p.subject.substr(plus + 1));
    }
  }
  return FormatWorkspaceName(p.workspace_id);
}

}  // namespace

TokenIssuer::TokenIssuer(storage::RegistryStore& registry_store, storage::TokenStore& token_store,
                         const crypto::SecretHasher& hasher, const crypto::JwtSigner* signer,
                         const Clock& clock, const TokenRealmOptions& options,
                         PrincipalCache& cache, const WorkspaceCredentials& workspace_credentials,
                         TokenRealmMetrics* metrics, TokenAuditSink* audit)
    : tokens_(token_store),
      hasher_(hasher),
      signer_(signer),
      clock_(clock),
      options_(options),
      metrics_(metrics),
      audit_(audit),
      throttle_(token_store, clock, options),
      public_pulls_(registry_store, clock, options),
      resolver_(token_store, cache, workspace_credentials, hasher, options.touch_interval) {}

absl::StatusOr<IssuedToken> TokenIssuer::IssueToken(const RequestContext& ctx,
                                                    const TokenRequest& request) {
  // The kind is read once from the request; the principal carries it from there on.
  const PrincipalKind kind = KindOfUsername(request.username);
  absl::StatusOr<IssuedToken> out = IssueTokenUnmetered(ctx, request, kind);
  if (metrics_ != nullptr) {
    metrics_->OnTokenRequest(MetricsKind(request, kind), OutcomeOf(out.status()));
  }
  return out;
}

absl::StatusOr<Principal> TokenIssuer::AuthenticateRefreshToken(const TokenRequest& request,
                                                                const std::string& address_key,
                                                                absl::Time now) {
  if (request.refresh_token.empty()) {
    return absl::InvalidArgumentError("refresh_token: required for grant_type refresh_token");
  }
  RETURN_IF_ERROR(throttle_.Check(address_key, now, nullptr));
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
    return throttle_.RecordFailure("", address_key, now);
  }
  absl::StatusOr<Principal> p =
      resolver_.Resolve(stored->subject, KindOfUsername(stored->subject), nullptr, now);
  if (!p.ok()) {
    if (absl::IsUnauthenticated(p.status())) return throttle_.RecordFailure("", address_key, now);
    return p.status();
  }
  // Issued for another generation of the subject's secret (regenerated, or the account was
  // deleted and re-created under the same id): refused like a wrong token.
  if (p->generation.empty() || p->generation != stored->subject_generation) {
    return throttle_.RecordFailure("", address_key, now);
  }
  if (now - stored->last_used_time >= options_.touch_interval) {
    if (absl::Status s = tokens_.TouchRefreshToken(id, now); !s.ok()) {
      LOG_WARNING(absl::StrCat("cannot record the last use of a refresh token: ", s.message()));
    }
  }
  return p;
}

absl::StatusOr<Principal> TokenIssuer::Authenticate(const TokenRequest& request, PrincipalKind kind,
                                                    const std::string& address_key,
                                                    absl::Time now) {
  if (request.grant_type == TokenGrantType::kRefreshToken) {
    return AuthenticateRefreshToken(request, address_key, now);
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

  // Throttling (services/login_throttle.h). Only the client's own address may be refused
  // before the secret is looked at; the right secret is never refused for failures anybody
  // else caused.
  int32_t address_failures = 0;
  RETURN_IF_ERROR(throttle_.Check(address_key, now, &address_failures));
  const std::string account_key = AccountAddressKey(request.username, address_key);
  const std::string_view password = request.password.view();
  absl::StatusOr<Principal> p = resolver_.Resolve(request.username, kind, &password, now);
  if (absl::IsUnauthenticated(p.status())) {
    return throttle_.RecordFailure(account_key, address_key, now);
  }
  if (!p.ok()) return p.status();
  throttle_.RecordSuccess(account_key, address_failures);
  return p;
}

absl::StatusOr<SecretString> TokenIssuer::NewRefreshToken(const Principal& principal,
                                                          const TokenRequest& request,
                                                          absl::Time now) {
  ASSIGN_OR_RETURN(std::string id, RandomBase64Url(kTokenIdBytes));
  RefreshToken stored;
  ASSIGN_OR_RETURN(SecretString token,
                   NewSecret(hasher_, Cat(kRefreshTokenPrefix, id, "."), &stored.secret_hash));
  stored.id = id;
  stored.subject = principal.subject;
  stored.service = request.service;
  stored.workspace_id = principal.workspace_id;
  stored.client_id = request.client_id;
  stored.subject_generation = principal.generation;
  stored.create_time = now;
  stored.expire_time = now + options_.refresh_token_ttl;
  stored.last_used_time = now;
  RETURN_IF_ERROR(tokens_.CreateRefreshToken(stored));
  return token;
}

absl::StatusOr<IssuedToken> TokenIssuer::IssueTokenUnmetered(const RequestContext& ctx,
                                                             const TokenRequest& request,
                                                             PrincipalKind kind) {
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
  ASSIGN_OR_RETURN(std::vector<realm::ResourceScope> requested, realm::ParseScopes(request.scopes));
  const absl::Time now = clock_.Now();
  absl::StatusOr<Principal> principal = Authenticate(request, kind, AddressKey(ctx.peer), now);
  if (!principal.ok()) {
    if (absl::IsUnauthenticated(principal.status())) {
      LOG_INFO(absl::StrCat("token refused: invalid credentials, request_id=", ctx.request_id,
                            " peer=", ctx.peer));
    }
    return principal.status();
  }

  // The set names service accounts only: pull tokens and workspace credentials never list.
  // An entry names the account's uid, so a re-created account of the same name does not.
  bool may_list_catalog = false;
  if (principal->kind == PrincipalKind::kServiceAccount) {
    const auto listed = options_.catalog_accounts.find(principal->subject);
    may_list_catalog =
        listed != options_.catalog_accounts.end() && listed->second == principal->account_uid;
  }
  ASSIGN_OR_RETURN(std::vector<realm::Grant> grants,
                   public_pulls_.AddTo(requested, std::move(principal->grants)));
  const std::vector<realm::ResourceScope> granted =
      realm::Authorize(requested, grants, may_list_catalog);
  IssuedToken out;
  ASSIGN_OR_RETURN(std::string jti, RandomBase64Url(kTokenIdBytes));
  const int64_t iat = absl::ToUnixSeconds(now);
  // Written straight to JSON text (crypto/jwt_claims.h): no JSON tree on the hot path.
  crypto::JwtClaimsWriter claims;
  claims.String("iss", options_.issuer)
      .String("sub", principal->subject)
      .String("aud", options_.service)
      .Integer("iat", iat)
      .Integer("nbf", iat)
      .Integer("exp", iat + absl::ToInt64Seconds(options_.token_ttl))
      .String("jti", jti)
      .BeginArray("access");
  for (const realm::ResourceScope& s : granted) {
    claims.BeginObject()
        .String("type", s.type)
        .String("name", s.name)
        .StringArray("actions", s.actions)
        .EndObject();
    out.granted_scopes.push_back(realm::FormatScope(s));
  }
  claims.EndArray();
  ASSIGN_OR_RETURN(crypto::JwtClaims finished, std::move(claims).Finish());
  ASSIGN_OR_RETURN(out.token, signer_->SignClaims(finished));
  out.expires_in = options_.token_ttl;
  out.issued_at = absl::FromUnixSeconds(iat);
  out.subject = principal->subject;

  if (request.grant_type == TokenGrantType::kRefreshToken) {
    out.refresh_token = request.refresh_token;
  } else if (request.offline && principal->kind != PrincipalKind::kAnonymous &&
             principal->kind != PrincipalKind::kWorkspaceCredential) {
    // (A workspace credential gets none: it could not be checked again, and the client keeps
    // using its password, which is what clients do without a refresh token.)
    ASSIGN_OR_RETURN(out.refresh_token, NewRefreshToken(*principal, request, now));
  }
  // Push and delete are recorded (queued; written by the sink's own thread). The pull path
  // costs only this scan of the granted actions.
  if (audit_ != nullptr && GrantsWriteAccess(granted)) {
    audit_->Record({now, ctx.request_id, principal->subject, PrincipalResource(*principal),
                    absl::StrJoin(out.granted_scopes, " "), ctx.peer});
  }
  return out;
}

}  // namespace registryauth::services
