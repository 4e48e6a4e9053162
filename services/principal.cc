#include "services/principal.h"

#include "common/strings.h"

namespace registryauth::services {

PrincipalKind KindOfUsername(std::string_view username) {
  if (username.empty()) return PrincipalKind::kAnonymous;
  if (StartsWith(username, kPullUserPrefix)) return PrincipalKind::kPullToken;
  if (StartsWith(username, kWorkspaceUserPrefix)) return PrincipalKind::kWorkspaceCredential;
  if (username.find('+') != std::string_view::npos) return PrincipalKind::kServiceAccount;
  return PrincipalKind::kUnknown;
}

}  // namespace registryauth::services
