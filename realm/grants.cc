#include "realm/grants.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "absl/strings/str_cat.h"

namespace registryauth::realm {
namespace {

bool IsKnownAction(const std::string& a) {
  return a == "*" || std::find(std::begin(kRepositoryActions), std::end(kRepositoryActions), a) !=
                         std::end(kRepositoryActions);
}

}  // namespace

bool MatchesPattern(std::string_view pattern, std::string_view path) {
  // Iterative glob with backtracking to the last '*': linear in practice, O(n*m) worst case,
  // with both bounded to 255 bytes.
  std::size_t p = 0, s = 0;
  std::size_t star = std::string_view::npos, star_s = 0;
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_s = s;
    } else if (p < pattern.size() && pattern[p] == path[s]) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::Status ValidateGrantPattern(std::string_view workspace_id, std::string_view pattern) {
  const std::string prefix = std::string(workspace_id) + "/";
  if (pattern.size() > kMaxResourceNameBytes) {
    return absl::InvalidArgumentError("repository pattern longer than 255 bytes");
  }
  if (pattern.substr(0, prefix.size()) != prefix || pattern.size() == prefix.size()) {
    return absl::InvalidArgumentError(
        "repository pattern must start with the workspace's namespace, e.g. <workspace>/*");
  }
  // Replace each '*' by a letter and check the grammar of what remains.
  std::string probe(pattern);
  for (char& c : probe) {
    if (c == '*') c = 'x';
  }
  if (!IsValidRepositoryPath(probe)) {
    return absl::InvalidArgumentError(
        "repository pattern must be a repository path (lower-case letters, digits, '.', '_', "
        "'-', '/') where '*' may stand for any characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateGrantActions(const std::set<std::string>& actions) {
  if (actions.empty()) return absl::InvalidArgumentError("a grant needs at least one action");
  for (const std::string& a : actions) {
    if (!IsKnownAction(a)) {
      return absl::InvalidArgumentError("grant actions must be pull, push, delete or *");
    }
  }
  return absl::OkStatus();
}

std::vector<ResourceScope> Authorize(const std::vector<ResourceScope>& requested,
                                     const std::vector<Grant>& grants, bool may_list_catalog) {
  std::vector<ResourceScope> out;
  for (const ResourceScope& want : requested) {
    if (want.type == "registry" && want.resource_class.empty() && want.name == "catalog") {
      if (may_list_catalog && want.actions.count("*") > 0) {
        out.push_back(ResourceScope{"registry", "", "catalog", {"*"}});
      }
      continue;
    }
    if (want.type != "repository" || !want.resource_class.empty()) continue;
    // The full name, exactly as the registry will see it: Distribution never sends a host,
    // so `localhost/acme/x` is a repository of the `localhost` namespace, not of `acme`.
    std::set<std::string> allowed;  // union over matching grants
    for (const Grant& g : grants) {
      if (MatchesPattern(g.repository_pattern, want.name)) {
        allowed.insert(g.actions.begin(), g.actions.end());
      }
    }
    if (allowed.empty()) continue;
    std::set<std::string> granted;
    if (want.actions.count("*") > 0) {
      granted = allowed.count("*") > 0 ? std::set<std::string>{"*"} : allowed;
    } else {
      for (const std::string& a : want.actions) {
        if (allowed.count("*") > 0 ? IsKnownAction(a) : allowed.count(a) > 0) granted.insert(a);
      }
    }
    if (!granted.empty()) out.push_back(ResourceScope{want.type, "", want.name, granted});
  }
  return out;
}

}  // namespace registryauth::realm
