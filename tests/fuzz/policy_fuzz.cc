// Fuzz target for the caller-policy parser (auth::CallerPolicy::Parse): the policy file is
// operator input, reloaded at run time, and a parse bug there decides who may call.
//
// Besides "never crash", it checks invariants that a bug would break:
//   - a parsed policy has at least one caller, and parsing is deterministic;
//   - every `identity X` line of an accepted input (re-tokenized here independently) finds a
//     caller by exactly X, authenticated by mTLS, with at least one permission, and
//     registries.manage always implies registries.read;
//   - a caller is confined to workspaces only when the input has a `workspaces` line, and then
//     to a non-empty list of ids of the workspace id grammar;
//   - lookups of the empty identity and the empty API key find nobody;
//   - a rejected input is INVALID_ARGUMENT, names a line that exists, and its message is one of
//     the fixed templates once digits and quoted text are removed; quoted text is only ever a
//     lower-case name (never a mixed-case token such as a pasted API key).
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "auth/policy.h"
#include "auth/principal.h"

namespace {

using ::registryauth::auth::AuthMethod;
using ::registryauth::auth::CallerPolicy;
using ::registryauth::auth::Permission;
using ::registryauth::auth::Principal;

[[noreturn]] void Fail() { std::abort(); }

void Check(bool condition) {
  if (!condition) Fail();
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

// Whitespace-separated tokens up to a token that starts with '#'.
std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i == line.size() || line[i] == '#') return tokens;
    const std::size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    tokens.push_back(line.substr(start, i - start));
  }
}

// ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$, written independently of the parser.
bool IsWorkspaceId(std::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const bool lower = c >= 'a' && c <= 'z';
    const bool allowed = lower || (i > 0 && ((c >= '0' && c <= '9') || c == '-'));
    if (!allowed) return false;
  }
  return id.back() != '-';
}

void CheckPrincipal(const Principal& p, bool input_confines) {
  // A caller is confined only by a `workspaces` line, to a non-empty list of valid ids.
  if (!input_confines) Check(!p.workspaces.has_value());
  if (p.workspaces.has_value()) {
    Check(!p.workspaces->empty());
    for (const std::string& id : *p.workspaces) {
      Check(IsWorkspaceId(id));
      Check(p.MayUseWorkspace(id));
    }
    Check(!p.MayUseWorkspace(""));
  }
  Check(!p.name.empty());
  Check(!p.permissions.empty());
  Check(!p.Has(Permission::kRegistriesManage) || p.Has(Permission::kRegistriesRead));
}

// Digits removed; the text between each pair of double quotes removed too, after checking it is
// a lower-case name. Returns false if a quote is unpaired or holds anything else.
bool Skeleton(std::string_view message, std::string& out) {
  out.clear();
  bool quoted = false;
  for (char c : message) {
    if (c == '"') {
      quoted = !quoted;
      out.push_back(c);
    } else if (quoted) {
      const bool name_char =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
      if (!name_char) return false;
    } else if (c < '0' || c > '9') {
      out.push_back(c);
    }
  }
  return !quoted;
}

bool IsKnownErrorSkeleton(const std::string& skeleton) {
  // Real messages (any numbers and names); compared after the same reduction.
  static const char* const kTemplates[] = {
      "policy: no callers",
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): split message
      "policy line 1: expected \"caller\", \"identity\", \"api_key\", \"permissions\" or "
      "\"workspaces\"",
      "policy line 1: \"identity\" before the first \"caller\" line",
      "policy line 1: \"identity\" must be indented under its \"caller\" line",
      "policy line 1: \"caller\" must not be indented",
      "policy line 1: \"caller\" takes exactly one name",
      "policy line 1: caller name must match [a-z0-9][a-z0-9._-]{0,62}",
      "policy line 1: duplicate caller \"a\" (first on line 1)",
      "policy line 1: \"identity\" takes exactly one value",
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): split message
      "policy line 1: identity is not a valid SPIFFE ID (spiffe://<trust domain of "
      "[a-z0-9._-]>[/<path>])",
      "policy line 1: identity cn: needs a common name of 1 to 256 bytes without control "
      "characters",
      "policy line 1: identity must be spiffe://... or cn:<common name>",
      "policy line 1: duplicate identity (first on line 1)",
      "policy line 1: api_key must be sha256:<64 hex digits>, the hash of the key (HashApiKey), "
      "never the key itself",
      "policy line 1: duplicate api_key (first on line 1)",
      "policy line 1: \"permissions\" needs at least one permission name",
      "policy line 1: unknown permission \"x\"",
      "policy line 1: unknown permission",
      "policy line 1: caller \"a\" has no identity or api_key",
      "policy line 1: caller \"a\" has no permissions",
      "policy line 1: \"workspaces\" needs * or at least one workspace id",
      "policy line 1: caller \"a\": * (every workspace) cannot be combined with workspace ids",
      "policy line 1: workspace id must match ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ (or be *)",
      "policy line 1: workspace \"a\" listed twice",
  };
  std::string known;
  for (const char* t : kTemplates) {
    Check(Skeleton(t, known));
    if (skeleton == known) return true;
  }
  return false;
}

// The N of "policy line N: ...", or 0.
std::size_t LineNumber(std::string_view message) {
  constexpr std::string_view kPrefix = "policy line ";
  if (message.substr(0, kPrefix.size()) != kPrefix) return 0;
  std::size_t n = 0;
  for (std::size_t i = kPrefix.size(); i < message.size() && message[i] >= '0' && message[i] <= '9';
       ++i) {
    if (n > 100000000) return 0;
    n = n * 10 + static_cast<std::size_t>(message[i] - '0');
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = CallerPolicy::Parse(input);
  const std::vector<std::string_view> lines = Lines(input);

  if (!parsed.ok()) {
    Check(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    const std::string_view message(parsed.status().message().data(),
                                   parsed.status().message().size());
    if (message != "policy: no callers") {
      const std::size_t line = LineNumber(message);
      Check(line >= 1 && line <= lines.size());
    }
    std::string skeleton;
    Check(Skeleton(message, skeleton));
    Check(IsKnownErrorSkeleton(skeleton));
    return 0;
  }

  const CallerPolicy& policy = **parsed;
  Check(policy.caller_count() >= 1);
  auto again = CallerPolicy::Parse(input);
  Check(again.ok() && (*again)->caller_count() == policy.caller_count());
  Check(!policy.FindByIdentity("").has_value());
  Check(!policy.FindByApiKey("").has_value());

  bool input_confines = false;
  for (std::string_view line : lines) {
    const std::vector<std::string_view> tokens = Tokens(line);
    if (!tokens.empty() && tokens[0] == "workspaces") input_confines = true;
  }
  for (std::string_view line : lines) {
    const std::vector<std::string_view> tokens = Tokens(line);
    if (tokens.size() != 2 || tokens[0] != "identity") continue;
    const std::optional<Principal> p = policy.FindByIdentity(tokens[1]);
    Check(p.has_value());
    Check(p->identity == tokens[1]);
    Check(p->method == AuthMethod::kMtls);
    CheckPrincipal(*p, input_confines);
  }
  // The seed corpus uses key "foo" (sha256:2c26b4...) in several policies.
  if (const std::optional<Principal> p = policy.FindByApiKey("foo")) {
    Check(p->identity == "apikey:" + p->name);
    Check(p->method == AuthMethod::kApiKey);
    CheckPrincipal(*p, input_confines);
  }
  return 0;
}
