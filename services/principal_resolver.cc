#include "services/principal_resolver.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/strings.h"
#include "services/names.h"
#include "services/token_realm_errors.h"
#include "services/token_secrets.h"

namespace registryauth::services {
namespace {

std::vector<realm::Grant> ToRealmGrants(const std::vector<RepositoryGrant>& grants) {
  std::vector<realm::Grant> out;
  out.reserve(grants.size());
  for (const RepositoryGrant& g : grants) {
    out.push_back({g.repository_pattern, {g.actions.begin(), g.actions.end()}});
  }
  return out;
}

// With a password, its prefix must fit the kind of user name before anything is looked up.
bool PasswordFitsKind(const std::string_view* password, std::string_view prefix) {
  return password == nullptr || StartsWith(*password, prefix);
}

}  // namespace

PrincipalResolver::PrincipalResolver(storage::TokenStore& tokens, PrincipalCache& cache,
                                     const WorkspaceCredentials& workspace_credentials,
                                     const crypto::SecretHasher& hasher,
                                     absl::Duration touch_interval)
    : tokens_(tokens),
      cache_(cache),
      workspace_credentials_(workspace_credentials),
      hasher_(hasher),
      touch_interval_(touch_interval) {}

absl::StatusOr<Principal> PrincipalResolver::Resolve(std::string_view username, PrincipalKind kind,
                                                     const std::string_view* password,
                                                     absl::Time now) {
  // `kind` comes from the caller: every cut below first checks that the name has that kind's
  // form, so a mismatch is a refusal, never an out-of-range cut.
  if (KindOfUsername(username) != kind) return InvalidCredentials();
  switch (kind) {
    case PrincipalKind::kPullToken: {
      const std::string_view id = username.substr(sizeof(kPullUserPrefix) - 1);
      if (!IsTokenId(id) || !PasswordFitsKind(password, kPullTokenSecretPrefix)) {
        return InvalidCredentials();
      }
      absl::StatusOr<PullToken> token = cache_.GetPullToken(id);
      if (absl::IsNotFound(token.status())) return InvalidCredentials();
      if (!token.ok()) return token.status();
      const SecretHash& hash = token->secret_hash;
      if ((password != nullptr && !hasher_.Verify(*password, {hash.key_id, hash.digest})) ||
          token->revoke_time <= now || token->expire_time <= now) {
        return InvalidCredentials();
      }
      Principal p;
      p.kind = kind;
      p.subject = std::string(username);
      p.workspace_id = token->workspace_id;
      p.grants.push_back({token->repository, {"pull"}});
      p.generation = hash.digest;
      return p;
    }
    case PrincipalKind::kWorkspaceCredential: {
      // Stateless, so only a login with the password itself proves it: never a refresh subject.
      if (password == nullptr) return InvalidCredentials();
      return workspace_credentials_.Verify(username.substr(sizeof(kWorkspaceUserPrefix) - 1),
                                           *password, now);
    }
    case PrincipalKind::kServiceAccount:
      return ResolveServiceAccount(username, password, now);
    case PrincipalKind::kAnonymous:
    case PrincipalKind::kUnknown:
      break;
  }
  return InvalidCredentials();
}

absl::StatusOr<Principal> PrincipalResolver::ResolveServiceAccount(std::string_view username,
                                                                   const std::string_view* password,
                                                                   absl::Time now) {
  const size_t plus = username.find('+');
  if (plus == std::string_view::npos) return InvalidCredentials();
  const std::string_view ws = username.substr(0, plus);
  const std::string_view id = username.substr(plus + 1);
  if (!IsValidId(ws) || !IsValidId(id) ||
      !PasswordFitsKind(password, kServiceAccountSecretPrefix)) {
    return InvalidCredentials();
  }
  absl::StatusOr<ServiceAccount> account = cache_.GetServiceAccount(username, ws, id);
  if (absl::IsNotFound(account.status())) return InvalidCredentials();
  if (!account.ok()) return account.status();
  const SecretHash& hash = account->secret_hash;
  if ((password != nullptr && !hasher_.Verify(*password, {hash.key_id, hash.digest})) ||
      !account->enabled || account->expire_time <= now) {
    return InvalidCredentials();
  }
  // A login with the secret counts as a use (at most one write per touch_interval).
  if (password != nullptr && now - account->last_used_time >= touch_interval_) {
    if (absl::Status s = tokens_.TouchServiceAccount(ws, id, now); !s.ok()) {
      LOG_WARNING(absl::StrCat("cannot record the last use of a service account: ", s.message()));
    } else {
      account->last_used_time = now;
      // Not a fresh entry: that would restart the age of a row another replica may have
      // changed since.
      cache_.ReplaceServiceAccount(username, *account);
    }
  }
  Principal p;
  p.kind = PrincipalKind::kServiceAccount;
  p.subject = std::string(username);
  p.workspace_id = std::string(ws);
  p.grants = ToRealmGrants(account->grants);
  p.generation = hash.digest;
  p.account_uid = account->uid;
  return p;
}

}  // namespace registryauth::services
