#include "realm/scope.h"

#include <map>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace registryauth::realm {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

bool IsTypeValue(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c)) return false;
  }
  return true;
}

// component := alnum+ ( separator alnum+ )*, separator := '.' | '_' | '__' | '-'+
bool IsPathComponent(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  std::size_t i = 0;
  while (i < s.size()) {
    if (IsLowerAlnum(s[i])) {
      ++i;
      continue;
    }
    // A separator run; the character after it must be alphanumeric (checked by the loop, and
    // s.back() is alphanumeric).
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < s.size() && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (i >= s.size() || !IsLowerAlnum(s[i])) return false;
  }
  return true;
}

// hostcomponent := alnum | alnum [alnum-]* alnum
bool IsHostComponent(std::string_view s) {
  if (s.empty() || s.size() > 63 || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-') return false;
  }
  return true;
}

// hostname := hostcomponent ('.' hostcomponent)* [':' port]
bool IsHost(std::string_view s) {
  std::string_view host = s;
  if (std::size_t colon = s.find(':'); colon != std::string_view::npos) {
    std::string_view port = s.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
    }
    host = s.substr(0, colon);
  }
  if (host.empty()) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = host.find('.', start);
    if (!IsHostComponent(host.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool LooksLikeHost(std::string_view first) {
  return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
         first == "localhost";
}

bool IsResourceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxResourceNameBytes) return false;
  RepositoryName split = SplitRepositoryName(name);
  if (!split.host.empty() && !IsHost(split.host)) return false;
  return IsValidRepositoryPath(split.path);
}

absl::Status Invalid(const std::string& why) {
  return absl::InvalidArgumentError("invalid scope: " + why);
}

}  // namespace

bool IsValidRepositoryPath(std::string_view path) {
  if (path.empty() || path.size() > kMaxResourceNameBytes) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    std::string_view component =
        path.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!IsPathComponent(component)) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

RepositoryName SplitRepositoryName(std::string_view name) {
  std::size_t slash = name.find('/');
  if (slash != std::string_view::npos && LooksLikeHost(name.substr(0, slash))) {
    return {std::string(name.substr(0, slash)), std::string(name.substr(slash + 1))};
  }
  return {"", std::string(name)};
}

absl::StatusOr<ResourceScope> ParseResourceScope(std::string_view text) {
  const std::size_t first = text.find(':');
  const std::size_t last = text.rfind(':');
  if (first == std::string_view::npos || first == last) {
    return Invalid("expected type:name:actions");
  }
  ResourceScope scope;
  std::string_view type = text.substr(0, first);
  if (std::size_t open = type.find('('); open != std::string_view::npos) {
    if (type.back() != ')') return Invalid("malformed resource class");
    std::string_view cls = type.substr(open + 1, type.size() - open - 2);
    if (!IsTypeValue(cls)) return Invalid("malformed resource class");
    scope.resource_class = std::string(cls);
    type = type.substr(0, open);
  }
  if (!IsTypeValue(type)) return Invalid("malformed resource type");
  scope.type = std::string(type);

  std::string_view name = text.substr(first + 1, last - first - 1);
  if (!IsResourceName(name)) {
    return Invalid(absl::StrCat("malformed resource name for type ", scope.type));
  }
  scope.name = std::string(name);

  std::string_view actions = text.substr(last + 1);
  std::size_t start = 0;
  while (start <= actions.size()) {
    std::size_t comma = actions.find(',', start);
    std::string_view action =
        actions.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (!action.empty()) {
      if (action.size() > kMaxActionBytes) return Invalid("action too long");
      for (char c : action) {
        if (!((c >= 'a' && c <= 'z') || c == '*')) return Invalid("malformed action");
      }
      if (action.find('*') != std::string_view::npos && action != "*") {
        return Invalid("malformed action");
      }
      scope.actions.insert(std::string(action));
      if (scope.actions.size() > kMaxActions) return Invalid("too many actions");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (scope.actions.empty()) return Invalid("no action");
  return scope;
}

absl::StatusOr<std::vector<ResourceScope>> ParseScopes(const std::vector<std::string>& params) {
  // Keyed by (type, class, name) so duplicates merge; insertion order kept for the output.
  std::map<std::tuple<std::string, std::string, std::string>, std::size_t> index;
  std::vector<ResourceScope> out;
  for (const std::string& param : params) {
    if (param.size() > kMaxScopeParamBytes) return Invalid("scope parameter too long");
    std::size_t start = 0;
    while (start <= param.size()) {
      std::size_t space = param.find(' ', start);
      std::string_view part = std::string_view(param).substr(
          start, space == std::string::npos ? std::string::npos : space - start);
      if (!part.empty()) {
        absl::StatusOr<ResourceScope> scope = ParseResourceScope(part);
        if (!scope.ok()) return scope.status();
        auto key = std::make_tuple(scope->type, scope->resource_class, scope->name);
        auto [it, inserted] = index.emplace(key, out.size());
        if (inserted) {
          if (out.size() >= kMaxResourceScopes) return Invalid("too many scopes");
          out.push_back(*std::move(scope));
        } else {
          ResourceScope& merged = out[it->second];
          merged.actions.insert(scope->actions.begin(), scope->actions.end());
          if (merged.actions.size() > kMaxActions) return Invalid("too many actions");
        }
      }
      if (space == std::string::npos) break;
      start = space + 1;
    }
  }
  return out;
}

std::string FormatScope(const ResourceScope& scope) {
  std::string type = scope.resource_class.empty()
                         ? scope.type
                         : absl::StrCat(scope.type, "(", scope.resource_class, ")");
  return absl::StrCat(type, ":", scope.name, ":", absl::StrJoin(scope.actions, ","));
}

std::string FormatScopes(const std::vector<ResourceScope>& scopes) {
  std::vector<std::string> parts;
  parts.reserve(scopes.size());
  for (const ResourceScope& s : scopes) parts.push_back(FormatScope(s));
  return absl::StrJoin(parts, " ");
}

}  // namespace registryauth::realm
