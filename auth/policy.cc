#include "auth/policy.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "auth/constant_time_find.h"
#include "auth/principal.h"
#include "common/secret.h"
#include "common/strings.h"

namespace registryauth::auth {

using internal::Sha256Digest;

struct CallerPolicy::Entry {
  std::string name;
  std::size_t line = 0;  // of the `caller` line
  std::vector<std::string> identities;
  std::size_t key_count = 0;
  std::set<Permission> permissions;
  // From the `workspaces` lines: `*` seen, and the ids seen. Neither: every workspace.
  bool all_workspaces = false;
  std::set<std::string, std::less<>> workspace_ids;
};

namespace {

constexpr std::size_t kMaxPolicyFileSize = 1 << 20;
constexpr std::size_t kMaxSpiffeIdLength = 2048;
constexpr std::size_t kMaxCommonNameLength = 256;
constexpr std::size_t kMaxEchoedPermissionLength = 64;
constexpr std::string_view kSpiffePrefix = "spiffe://";
constexpr std::string_view kCommonNamePrefix = "cn:";
constexpr std::string_view kKeyHashPrefix = "sha256:";
constexpr std::string_view kApiKeyPrefix = "rak_";
constexpr std::size_t kApiKeyRandomBytes = 32;

// Debian's absl::string_view is not std::string_view.

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// [a-z0-9][a-z0-9._-]{0,62}
bool IsValidCallerName(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!IsLower(name[0]) && !IsDigit(name[0])) return false;
  for (char c : name) {
    if (!IsLower(c) && !IsDigit(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

// A SPIFFE ID as the SPIFFE-ID specification defines it: "spiffe://", a trust domain of
// [a-z0-9._-], then zero or more "/segment" with segments of [a-zA-Z0-9._-] other than "." and
// "..", no trailing slash, no query or fragment, at most 2048 bytes.
bool IsValidSpiffeId(std::string_view id) {
  if (id.size() > kMaxSpiffeIdLength || id.substr(0, kSpiffePrefix.size()) != kSpiffePrefix) {
    return false;
  }
  std::string_view rest = id.substr(kSpiffePrefix.size());
  const std::size_t slash = rest.find('/');
  const std::string_view trust_domain = rest.substr(0, slash);
  if (trust_domain.empty()) return false;
  for (char c : trust_domain) {
    if (!IsLower(c) && !IsDigit(c) && c != '.' && c != '_' && c != '-') return false;
  }
  if (slash == std::string_view::npos) return true;
  std::string_view path = rest.substr(slash);  // "/a/b"
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const std::size_t next = path.find('/');
    const std::string_view segment = path.substr(0, next);
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (char c : segment) {
      if (!IsLower(c) && !IsUpper(c) && !IsDigit(c) && c != '.' && c != '_' && c != '-') {
        return false;
      }
    }
    path = next == std::string_view::npos ? std::string_view() : path.substr(next);
  }
  return true;
}

// "cn:" + 1..256 bytes, none of them ASCII control characters (tokens hold no spaces anyway).
bool IsValidCommonNameIdentity(std::string_view id) {
  if (id.substr(0, kCommonNamePrefix.size()) != kCommonNamePrefix) return false;
  const std::string_view cn = id.substr(kCommonNamePrefix.size());
  if (cn.empty() || cn.size() > kMaxCommonNameLength) return false;
  for (char c : cn) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

// A workspace id: ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$, the grammar of services::IsValidId
// (services/names.h; auth/ sits below services/, so the rule is restated here).
bool IsValidWorkspaceId(std::string_view id) {
  if (id.empty() || id.size() > 63 || !IsLower(id.front())) return false;
  if (id.back() == '-') return false;
  for (char c : id) {
    if (!IsLower(c) && !IsDigit(c) && c != '-') return false;
  }
  return true;
}

int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "sha256:" + 64 hex digits (either case) -> the 32 digest bytes.
bool ParseKeyHash(std::string_view text, Sha256Digest& digest) {
  if (text.size() != kKeyHashPrefix.size() + 64 ||
      text.substr(0, kKeyHashPrefix.size()) != kKeyHashPrefix) {
    return false;
  }
  const std::string_view hex = text.substr(kKeyHashPrefix.size());
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    digest[i] = static_cast<unsigned char>((hi << 4) | lo);
  }
  return true;
}

bool Sha256(std::string_view data, Sha256Digest& digest) {
  unsigned int size = 0;
  return EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) == 1 &&
         size == digest.size();
}

// Whether an unknown permission token may be quoted back in an error: only text that looks like
// a permission name ([a-z0-9._], short). A pasted API key (base64url, mixed case) never does.
bool IsEchoSafe(std::string_view token) {
  if (token.empty() || token.size() > kMaxEchoedPermissionLength) return false;
  for (char c : token) {
    if (!IsLower(c) && !IsDigit(c) && c != '.' && c != '_') return false;
  }
  return true;
}

// Splits `line` on whitespace. A '#' at the start of the line or after whitespace starts a
// comment; a '#' inside a token (e.g. in a common name) is part of it.
std::vector<std::string_view> Tokenize(std::string_view line) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i == line.size() || line[i] == '#') break;
    const std::size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

absl::Status LineError(std::size_t line_no, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("policy line ", line_no, ": ", what));
}

// The permissions a caller really holds: registries.manage includes registries.read.
std::set<Permission> Effective(std::set<Permission> permissions) {
  if (permissions.count(Permission::kRegistriesManage) != 0) {
    permissions.insert(Permission::kRegistriesRead);
  }
  return permissions;
}

// 0..63 -> base64url character, without branches or table lookups on the (secret) value.
char EncodeBase64UrlChar(unsigned v) {
  const int x = static_cast<int>(v & 63);
  // -1 if x >= n, else 0.
  const auto at_least = [x](int n) { return (n - 1 - x) >> 8; };
  int c = 'A' + x;          // 0..25  -> 'A'..'Z'
  c += at_least(26) & 6;    // 26..51 -> 'a'..'z'
  c += at_least(52) & -75;  // 52..61 -> '0'..'9'
  c += at_least(62) & -13;  // 62     -> '-'
  c += at_least(63) & 49;   // 63     -> '_'
  return static_cast<char>(c);
}

// Unpadded base64url of `in`, appended to `out`.
void AppendBase64Url(const unsigned char* in, std::size_t n, SecretString& out) {
  char quad[4];
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    quad[0] = EncodeBase64UrlChar(v >> 18);
    quad[1] = EncodeBase64UrlChar(v >> 12);
    quad[2] = EncodeBase64UrlChar(v >> 6);
    quad[3] = EncodeBase64UrlChar(v);
    out.append(std::string_view(quad, 4));
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    quad[0] = EncodeBase64UrlChar(v >> 18);
    quad[1] = EncodeBase64UrlChar(v >> 12);
    out.append(std::string_view(quad, 2));
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    quad[0] = EncodeBase64UrlChar(v >> 18);
    quad[1] = EncodeBase64UrlChar(v >> 12);
    quad[2] = EncodeBase64UrlChar(v >> 6);
    out.append(std::string_view(quad, 3));
  }
  OPENSSL_cleanse(quad, sizeof(quad));
}

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

CallerPolicy::CallerPolicy() = default;
CallerPolicy::~CallerPolicy() = default;

absl::StatusOr<std::unique_ptr<CallerPolicy>> CallerPolicy::Parse(std::string_view text) {
  std::unique_ptr<CallerPolicy> policy(new CallerPolicy());
  std::map<std::string, std::size_t, std::less<>> name_lines;
  std::map<std::string, std::size_t, std::less<>> identity_lines;
  std::map<Sha256Digest, std::size_t> key_lines;

  // Checks the entry just finished (if any); errors name its `caller` line.
  const auto finish_entry = [&policy]() -> absl::Status {
    if (policy->entries_.empty()) return absl::OkStatus();
    Entry& entry = policy->entries_.back();
    if (entry.identities.empty() && entry.key_count == 0) {
      return LineError(entry.line,
                       absl::StrCat("caller \"", entry.name, "\" has no identity or api_key"));
    }
    if (entry.permissions.empty()) {
      return LineError(entry.line, absl::StrCat("caller \"", entry.name, "\" has no permissions"));
    }
    entry.permissions = Effective(std::move(entry.permissions));
    return absl::OkStatus();
  };

  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;

    const std::vector<std::string_view> tokens = Tokenize(line);
    if (tokens.empty()) continue;
    const bool indented = IsSpace(line[0]);
    const std::string_view directive = tokens[0];

    if (directive == "caller") {
      if (indented) return LineError(line_no, "\"caller\" must not be indented");
      if (tokens.size() != 2) return LineError(line_no, "\"caller\" takes exactly one name");
      if (!IsValidCallerName(tokens[1])) {
        return LineError(line_no, "caller name must match [a-z0-9][a-z0-9._-]{0,62}");
      }
      const absl::Status finished = finish_entry();
      if (!finished.ok()) return finished;
      const auto [it, inserted] = name_lines.emplace(std::string(tokens[1]), line_no);
      if (!inserted) {
        return LineError(line_no, absl::StrCat("duplicate caller \"", ToAbsl(tokens[1]),
                                               "\" (first on line ", it->second, ")"));
      }
      Entry entry;
      entry.name = std::string(tokens[1]);
      entry.line = line_no;
      policy->entries_.push_back(std::move(entry));
      continue;
    }

    if (directive != "identity" && directive != "api_key" && directive != "permissions" &&
        directive != "workspaces") {
      return LineError(line_no,
                       "expected \"caller\", \"identity\", \"api_key\", \"permissions\" or "
                       "\"workspaces\"");
    }
    if (policy->entries_.empty()) {
      return LineError(
          line_no, absl::StrCat("\"", ToAbsl(directive), "\" before the first \"caller\" line"));
    }
    if (!indented) {
      return LineError(line_no, absl::StrCat("\"", ToAbsl(directive),
                                             "\" must be indented under its \"caller\" line"));
    }
    const std::size_t owner = policy->entries_.size() - 1;
    Entry& entry = policy->entries_.back();

    if (directive == "identity") {
      if (tokens.size() != 2) return LineError(line_no, "\"identity\" takes exactly one value");
      const std::string_view identity = tokens[1];
      if (identity.substr(0, kSpiffePrefix.size()) == kSpiffePrefix) {
        if (!IsValidSpiffeId(identity)) {
          return LineError(line_no,
                           "identity is not a valid SPIFFE ID (spiffe://<trust domain of "
                           "[a-z0-9._-]>[/<path>])");
        }
      } else if (identity.substr(0, kCommonNamePrefix.size()) == kCommonNamePrefix) {
        if (!IsValidCommonNameIdentity(identity)) {
          return LineError(line_no,
                           "identity cn: needs a common name of 1 to 256 bytes without control "
                           "characters");
        }
      } else {
        return LineError(line_no, "identity must be spiffe://... or cn:<common name>");
      }
      const auto [it, inserted] = identity_lines.emplace(std::string(identity), line_no);
      if (!inserted) {
        return LineError(line_no,
                         absl::StrCat("duplicate identity (first on line ", it->second, ")"));
      }
      entry.identities.emplace_back(identity);
      policy->identity_owner_.emplace(std::string(identity), owner);
    } else if (directive == "api_key") {
      Sha256Digest digest;
      if (tokens.size() != 2 || !ParseKeyHash(tokens[1], digest)) {
        // Never quote the value: it may be a key pasted by mistake instead of its hash.
        return LineError(line_no,
                         "api_key must be sha256:<64 hex digits>, the hash of the key "
                         "(HashApiKey), never the key itself");
      }
      const auto [it, inserted] = key_lines.emplace(digest, line_no);
      if (!inserted) {
        return LineError(line_no,
                         absl::StrCat("duplicate api_key (first on line ", it->second, ")"));
      }
      ++entry.key_count;
      policy->key_digests_.push_back(digest);
      policy->key_owner_.push_back(owner);
    } else if (directive == "workspaces") {
      if (tokens.size() < 2) {
        return LineError(line_no, "\"workspaces\" needs * or at least one workspace id");
      }
      for (std::size_t i = 1; i < tokens.size(); ++i) {
        if (tokens[i] == "*") {
          entry.all_workspaces = true;
        } else if (!IsValidWorkspaceId(tokens[i])) {
          return LineError(line_no,
                           "workspace id must match ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ (or be *)");
        } else if (!entry.workspace_ids.emplace(tokens[i]).second) {
          return LineError(line_no,
                           absl::StrCat("workspace \"", ToAbsl(tokens[i]), "\" listed twice"));
        }
        if (entry.all_workspaces && !entry.workspace_ids.empty()) {
          return LineError(line_no, absl::StrCat("caller \"", entry.name,
                                                 "\": * (every workspace) cannot be combined with "
                                                 "workspace ids"));
        }
      }
    } else {  // permissions
      if (tokens.size() < 2) {
        return LineError(line_no, "\"permissions\" needs at least one permission name");
      }
      for (std::size_t i = 1; i < tokens.size(); ++i) {
        const std::optional<Permission> permission = ParsePermission(tokens[i]);
        if (!permission.has_value()) {
          if (!IsEchoSafe(tokens[i])) return LineError(line_no, "unknown permission");
          return LineError(line_no, absl::StrCat("unknown permission \"", ToAbsl(tokens[i]), "\""));
        }
        entry.permissions.insert(*permission);
      }
    }
  }
  const absl::Status finished = finish_entry();
  if (!finished.ok()) return finished;
  if (policy->entries_.empty()) return absl::InvalidArgumentError("policy: no callers");
  return policy;
}

absl::StatusOr<std::unique_ptr<CallerPolicy>> CallerPolicy::LoadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("cannot open policy file ", path));
  }
  FdCloser closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat("cannot stat policy file ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("policy file ", path, " is not a regular file"));
  }
  const absl::Status too_large =
      absl::InvalidArgumentError(absl::StrCat("policy file ", path, " is larger than 1 MiB"));
  if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > kMaxPolicyFileSize) {
    return too_large;
  }
  std::string text(static_cast<std::size_t>(st.st_size) + 1, '\0');
  std::size_t used = 0;
  while (true) {
    if (used == text.size()) {  // the file grew after fstat
      if (text.size() > kMaxPolicyFileSize) return too_large;
      text.resize(std::min(text.size() * 2, kMaxPolicyFileSize + 1));
    }
    const ssize_t n = ::read(fd, &text[used], text.size() - used);
    if (n < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      return absl::ErrnoToStatus(error, absl::StrCat("cannot read policy file ", path));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > kMaxPolicyFileSize) return too_large;
  text.resize(used);
  auto policy = Parse(text);
  if (!policy.ok()) {
    return absl::Status(policy.status().code(),
                        absl::StrCat("policy file ", path, ": ", policy.status().message()));
  }
  return policy;
}

std::optional<Principal> CallerPolicy::FindByIdentity(std::string_view identity) const {
  const auto it = identity_owner_.find(identity);
  if (it == identity_owner_.end()) return std::nullopt;
  const Entry& entry = entries_[it->second];
  Principal principal;
  principal.name = entry.name;
  principal.identity = it->first;
  principal.method = AuthMethod::kMtls;
  principal.permissions = entry.permissions;
  if (!entry.workspace_ids.empty()) principal.workspaces = entry.workspace_ids;
  return principal;
}

std::optional<Principal> CallerPolicy::FindByApiKey(std::string_view presented_key) const {
  if (presented_key.empty()) return std::nullopt;
  Sha256Digest digest;
  if (!Sha256(presented_key, digest)) return std::nullopt;
  const std::optional<std::size_t> index = internal::ConstantTimeFind(key_digests_, digest);
  if (!index.has_value()) return std::nullopt;
  const Entry& entry = entries_[key_owner_[*index]];
  Principal principal;
  principal.name = entry.name;
  principal.identity = absl::StrCat("apikey:", entry.name);
  principal.method = AuthMethod::kApiKey;
  principal.permissions = entry.permissions;
  if (!entry.workspace_ids.empty()) principal.workspaces = entry.workspace_ids;
  return principal;
}

size_t CallerPolicy::caller_count() const { return entries_.size(); }

PolicyHolder::PolicyHolder(std::shared_ptr<const CallerPolicy> initial)
    : policy_(std::move(initial)) {}

std::shared_ptr<const CallerPolicy> PolicyHolder::Get() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

void PolicyHolder::Set(std::shared_ptr<const CallerPolicy> policy) {
  absl::MutexLock lock(&mu_);
  policy_.swap(policy);
  // The old policy (now in `policy`) is released after the lock, by the last snapshot holder.
}

absl::Status PolicyHolder::ReloadFromFile(const std::string& path) {
  absl::StatusOr<std::unique_ptr<CallerPolicy>> loaded = CallerPolicy::LoadFile(path);
  if (!loaded.ok()) return loaded.status();
  Set(std::shared_ptr<const CallerPolicy>(*std::move(loaded)));
  return absl::OkStatus();
}

std::string HashApiKey(std::string_view key) {
  Sha256Digest digest;
  if (!Sha256(key, digest)) return std::string();  // only if OpenSSL itself fails
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kKeyHashPrefix);
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

absl::StatusOr<SecretString> GenerateApiKey() {
  unsigned char random[kApiKeyRandomBytes];
  if (RAND_bytes(random, static_cast<int>(sizeof(random))) != 1) {
    OPENSSL_cleanse(random, sizeof(random));
    return absl::InternalError("random number generator failed");
  }
  SecretString key;
  key.append(kApiKeyPrefix);
  AppendBase64Url(random, sizeof(random), key);
  OPENSSL_cleanse(random, sizeof(random));
  return key;
}

}  // namespace registryauth::auth
