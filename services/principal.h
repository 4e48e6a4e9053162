// Principal: who a /token request turned out to be, and the user-name forms that say which
// kind of principal a request claims to be:
//   `<workspace>+<account>`  a service account          (secret `ras_...`)
//   `pull+<token id>`        a pull token               (secret `rpt_...`)
//   `build+<id>`             a workspace credential     (secret `rbt_...`)
//   no user name             anonymous
// The kind is read once from the user name (KindOfUsername) and travels with the Principal,
// so the issuer, its metrics and the refresh-token rules never parse the name again.
//
//   const PrincipalKind kind = KindOfUsername(request.username);
//   if (principal.kind == PrincipalKind::kServiceAccount) ...
//
// Value types and pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_PRINCIPAL_H_
#define REGISTRY_AUTH_SERVICES_PRINCIPAL_H_

#include <string>
#include <string_view>
#include <vector>

#include "realm/grants.h"

namespace registryauth::services {

inline constexpr char kPullUserPrefix[] = "pull+";
inline constexpr char kWorkspaceUserPrefix[] = "build+";

enum class PrincipalKind {
  kAnonymous,            // no user name
  kServiceAccount,       // `<workspace>+<id>`
  kPullToken,            // `pull+<id>`
  kWorkspaceCredential,  // `build+<id>`
  kUnknown,              // a user name of none of these forms (never a Principal)
};

// The kind a user name claims (kAnonymous for ""); the name itself is not checked further.
PrincipalKind KindOfUsername(std::string_view username);

struct Principal {
  PrincipalKind kind = PrincipalKind::kAnonymous;
  std::string subject;  // the user name; "" = anonymous
  std::string workspace_id;
  std::vector<realm::Grant> grants;
  // Service accounts and pull tokens: the digest of their current secret's hash (which a
  // refresh token is bound to, model RefreshToken::subject_generation); "" otherwise.
  std::string generation;
  // Service accounts: the account's uid (ServiceAccount::uid), which a right granted by
  // configuration names; "" otherwise.
  std::string account_uid;
};

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_PRINCIPAL_H_
