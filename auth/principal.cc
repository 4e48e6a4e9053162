#include "auth/principal.h"

namespace registryauth::auth {
namespace {

struct NamedPermission {
  Permission permission;
  std::string_view name;
};

constexpr NamedPermission kPermissions[] = {
    {Permission::kCredentialsRead, "credentials.read"},
    {Permission::kTokensMint, "tokens.mint"},
    {Permission::kRegistriesRead, "registries.read"},
    {Permission::kRegistriesManage, "registries.manage"},
    {Permission::kActAsUser, "act_as_user"},
};

}  // namespace

std::string_view PermissionName(Permission permission) {
  for (const NamedPermission& p : kPermissions) {
    if (p.permission == permission) return p.name;
  }
  return "unknown";
}

std::optional<Permission> ParsePermission(std::string_view name) {
  for (const NamedPermission& p : kPermissions) {
    if (p.name == name) return p.permission;
  }
  return std::nullopt;
}

}  // namespace registryauth::auth
