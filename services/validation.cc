#include "services/validation.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "crypto/jws.h"
#include "services/names.h"

namespace registryauth::services {
namespace {

constexpr std::string_view kEllipsis = "\xE2\x80\xA6";  // U+2026

absl::Status Invalid(std::string_view field, std::string_view what) {
  return absl::InvalidArgumentError(Cat(field, ": ", what));
}

bool Contains(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}
bool Contains(std::string_view s, char c) { return s.find(c) != std::string_view::npos; }

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsPrintableNoSpace(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e;
}

// One DNS label: 1-63 of [a-z0-9-] (plus A-Z if `allow_upper`), no hyphen at either end.
bool IsDnsLabel(std::string_view label, bool allow_upper) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    bool upper = c >= 'A' && c <= 'Z';
    if (!IsLowerAlnum(c) && c != '-' && !(allow_upper && upper)) return false;
  }
  return true;
}

bool IsDnsName(std::string_view host, bool allow_upper) {
  if (host.empty() || host.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(ToAbsl(host), '.')) {
    if (!IsDnsLabel(ToStd(label), allow_upper)) return false;
  }
  return true;
}

bool LooksNumeric(std::string_view host) {
  for (char c : host) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  }
  return true;
}

// Decodes one UTF-8 sequence at `s[*i]`, advancing `*i`. False on malformed input (truncated,
// overlong, surrogate or beyond U+10FFFF).
bool NextCodePoint(std::string_view s, std::size_t* i, uint32_t* cp) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(*i);
  int len;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    *i += 1;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, *cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, *cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, *cp = b0 & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (*i + len > s.size()) return false;
  for (int k = 1; k < len; ++k) {
    unsigned char b = byte(*i + k);
    if ((b & 0xC0) != 0x80) return false;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return false;
  *i += len;
  return true;
}

bool IsLoopbackHost(std::string_view host, bool bracketed) {
  if (bracketed) return host == "::1";
  if (absl::EqualsIgnoreCase(ToAbsl(host), "localhost")) return true;
  std::array<unsigned char, 4> addr{};
  std::string h(host);
  return inet_pton(AF_INET, h.c_str(), addr.data()) == 1 && addr[0] == 127;
}

// [._]|__|[-]* between two alphanumeric runs: true if `sep` is one of those.
bool IsNamespaceSeparator(std::string_view sep) {
  if (sep == "." || sep == "_" || sep == "__") return true;
  if (sep.empty()) return false;
  for (char c : sep) {
    if (c != '-') return false;
  }
  return true;
}

bool IsNamespaceComponent(std::string_view c) {
  std::size_t i = 0;
  auto alnum_run = [&]() {
    std::size_t start = i;
    while (i < c.size() && IsLowerAlnum(c[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < c.size()) {
    std::size_t start = i;
    while (i < c.size() && !IsLowerAlnum(c[i])) ++i;
    if (!IsNamespaceSeparator(c.substr(start, i - start))) return false;
    if (!alnum_run()) return false;
  }
  return true;
}

// Fields of the flat input and the type each belongs to (owner: GHCR, ...). `username` is
// used by ACR, DISTRIBUTION and GENERIC.
absl::Status CheckNoStrayFields(const RegistryConfigInput& in) {
  RegistryType t = in.type;
  auto stray = [&](std::string_view name) {
    return absl::InvalidArgumentError(
        Cat("registry_config: field ", name, " is not used by type ", RegistryTypeName(t)));
  };
  if (t != RegistryType::kGhcr && !in.owner.empty()) return stray("owner");
  if (t != RegistryType::kGhcr && in.pull_only) return stray("pull_only");
  if (t != RegistryType::kAcr && !in.login_server.empty()) return stray("login_server");
  if (t != RegistryType::kDistribution && t != RegistryType::kGeneric && !in.url.empty()) {
    return stray("url");
  }
  if (t != RegistryType::kDistribution && !in.repository_namespace.empty()) {
    return stray("repository_namespace");
  }
  if ((t == RegistryType::kGhcr || t == RegistryType::kGitHubApp) && !in.username.empty()) {
    return stray("username");
  }
  if (t != RegistryType::kGitHubApp) {
    if (!in.app_id.empty()) return stray("app_id");
    if (in.installation_id != 0) return stray("installation_id");
    if (!in.repositories.empty()) return stray("repositories");
    if (!in.permissions.empty()) return stray("permissions");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view RegistryTypeName(RegistryType type) {
  switch (type) {
    case RegistryType::kGhcr:
      return "GHCR";
    case RegistryType::kAcr:
      return "ACR";
    case RegistryType::kDistribution:
      return "DISTRIBUTION";
    case RegistryType::kGeneric:
      return "GENERIC";
    case RegistryType::kGitHubApp:
      return "GITHUB_APP";
    case RegistryType::kUnspecified:
      break;
  }
  return "REGISTRY_TYPE_UNSPECIFIED";
}

std::string_view SettingsFieldName(RegistryType type) {
  switch (type) {
    case RegistryType::kGhcr:
      return "ghcr";
    case RegistryType::kAcr:
      return "acr";
    case RegistryType::kDistribution:
      return "distribution";
    case RegistryType::kGeneric:
      return "generic";
    case RegistryType::kGitHubApp:
      return "github_app";
    case RegistryType::kUnspecified:
      break;
  }
  return "";
}

absl::Status ValidateDisplayName(std::string_view display_name, std::string_view field) {
  if (display_name.size() > kMaxDisplayNameBytes) {
    return Invalid(field, Cat("at most ", kMaxDisplayNameBytes, " bytes"));
  }
  std::size_t i = 0;
  while (i < display_name.size()) {
    uint32_t cp;
    if (!NextCodePoint(display_name, &i, &cp)) return Invalid(field, "must be valid UTF-8");
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      return Invalid(field, "must not contain control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGhcrOwner(std::string_view owner, std::string_view field) {
  if (owner.empty()) return Invalid(field, "required for type GHCR");
  bool ok =
      owner.size() <= 39 && owner.front() != '-' && owner.back() != '-' && !Contains(owner, "--");
  for (char c : owner) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') ok = false;
  }
  if (ok) return absl::OkStatus();
  return Invalid(field, Cat("must be a GitHub user or organisation name (1 to 39 "
                            "letters, digits and single hyphens, not at either end), "
                            "got ",
                            QuoteInput(owner)));
}

absl::Status ValidateAcrLoginServer(std::string_view login_server, std::string_view field) {
  if (login_server.empty()) return Invalid(field, "required for type ACR");
  if (Contains(login_server, "://")) {
    return Invalid(field, "must be a host name without scheme, e.g. myregistry.azurecr.io");
  }
  if (Contains(login_server, ':') || Contains(login_server, '/')) {
    return Invalid(field, "must be a host name without port or path");
  }
  constexpr std::array<std::string_view, 3> kSuffixes = {".azurecr.io", ".azurecr.cn",
                                                         ".azurecr.us"};
  bool suffix_ok = false;
  for (std::string_view suffix : kSuffixes) {
    if (login_server.size() > suffix.size() && EndsWith(login_server, suffix)) {
      suffix_ok = true;
    }
  }
  if (!suffix_ok || !IsDnsName(login_server, /*allow_upper=*/false)) {
    return Invalid(field, Cat("must be a lower-case host name ending in .azurecr.io, "
                              ".azurecr.cn or .azurecr.us, got ",
                              QuoteInput(login_server)));
  }
  return absl::OkStatus();
}

absl::Status ValidateUsername(std::string_view username, std::string_view field) {
  bool ok = !username.empty() && username.size() <= kMaxUsernameBytes;
  for (char c : username) {
    if (!IsPrintableNoSpace(c) || c == ':') ok = false;
  }
  if (ok) return absl::OkStatus();
  return Invalid(field, "must be 1 to 128 printable ASCII characters without spaces or colons");
}

absl::Status ValidateRegistryUrl(std::string_view url, std::string_view field) {
  // The URL is never quoted back: it might carry a password as user info.
  if (url.empty()) return Invalid(field, "required");
  if (url.size() > kMaxUrlBytes) {
    return Invalid(field, Cat("at most ", kMaxUrlBytes, " bytes"));
  }
  bool https = StartsWith(url, "https://");
  bool http = StartsWith(url, "http://");
  if (!https && !http) return Invalid(field, "must be https://host[:port]");
  std::string_view rest = url.substr(https ? 8 : 7);
  if (Contains(rest, '@')) return Invalid(field, "must not contain user info");
  if (Contains(rest, '?') || Contains(rest, '#')) {
    return Invalid(field, "must not have a query or fragment");
  }
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && rest.substr(slash) != "/") {
    return Invalid(field, "must not have a path");
  }

  std::string_view host;
  std::string_view port;
  bool has_port = false;
  bool bracketed = false;
  if (!authority.empty() && authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid(field, "invalid IPv6 host");
    host = authority.substr(1, close - 1);
    bracketed = true;
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid(field, "invalid host");
      has_port = true;
      port = after.substr(1);
    }
    std::array<unsigned char, 16> addr{};
    std::string h(host);
    if (inet_pton(AF_INET6, h.c_str(), addr.data()) != 1) {
      return Invalid(field, "invalid IPv6 host");
    }
  } else {
    std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return Invalid(field, "must have a host");
    if (LooksNumeric(host)) {
      std::array<unsigned char, 4> addr{};
      std::string h(host);
      if (inet_pton(AF_INET, h.c_str(), addr.data()) != 1) {
        return Invalid(field, "invalid IPv4 host");
      }
    } else if (!IsDnsName(host, /*allow_upper=*/true)) {
      return Invalid(field, "invalid host name");
    }
  }
  if (has_port) {
    bool ok = !port.empty() && port.size() <= 5;
    uint32_t value = 0;
    for (char c : port) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        ok = false;
        break;
      }
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (!ok || value < 1 || value > 65535) return Invalid(field, "port must be 1 to 65535");
  }
  if (http && !IsLoopbackHost(host, bracketed)) {
    return Invalid(field, "must use https (http is allowed only for loopback hosts)");
  }
  return absl::OkStatus();
}

absl::Status ValidateRepositoryNamespace(std::string_view ns, std::string_view field) {
  if (ns.empty()) return Invalid(field, "required for type DISTRIBUTION");
  if (ns.size() > kMaxRepositoryNamespaceBytes) {
    return Invalid(field, Cat("at most ", kMaxRepositoryNamespaceBytes, " bytes"));
  }
  for (absl::string_view component : absl::StrSplit(ToAbsl(ns), '/')) {
    if (!IsNamespaceComponent(ToStd(component))) {
      return Invalid(field, Cat("must be Docker repository path components "
                                "([a-z0-9] separated by '.', '_', '__' or '-') "
                                "joined by '/', got ",
                                QuoteInput(ns)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSecretFormat(std::string_view secret, std::string_view field) {
  // Never quote the secret, nor say where it went wrong.
  if (secret.empty()) return Invalid(field, "required");
  if (secret.size() > kMaxSecretBytes) {
    return Invalid(field, Cat("at most ", kMaxSecretBytes, " bytes"));
  }
  for (char c : secret) {
    if (!IsPrintableNoSpace(c)) {
      return Invalid(field, "must be printable ASCII without spaces");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGitHubAppId(std::string_view app_id, std::string_view field) {
  if (app_id.empty()) return Invalid(field, "required for type GITHUB_APP");
  bool numeric = app_id.size() <= 19 && app_id.front() != '0';
  for (char c : app_id) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) numeric = false;
  }
  bool client_id =
      app_id.size() > 2 && app_id.size() <= kMaxGitHubAppIdBytes && StartsWith(app_id, "Iv");
  for (char c : app_id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.') client_id = false;
  }
  if (numeric || client_id) return absl::OkStatus();
  return Invalid(field, Cat("must be the GitHub App's numeric id (e.g. 123456) or its "
                            "client id (e.g. Iv23liAbCdEf12345678), got ",
                            QuoteInput(app_id)));
}

absl::Status ValidateInstallationId(int64_t installation_id, std::string_view field) {
  if (installation_id == 0) return Invalid(field, "required for type GITHUB_APP");
  if (installation_id < 0) return Invalid(field, "must be a positive number");
  return absl::OkStatus();
}

absl::Status ValidateAppRepositories(const std::vector<std::string>& repositories,
                                     std::string_view field) {
  if (repositories.size() > kMaxAppRepositories) {
    return Invalid(field, Cat("at most ", kMaxAppRepositories, " repositories"));
  }
  std::vector<std::string> seen;
  seen.reserve(repositories.size());
  for (const std::string& r : repositories) {
    bool ok = !r.empty() && r.size() <= 100 && r != "." && r != "..";
    for (char c : r) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
        ok = false;
      }
    }
    if (!ok) {
      return Invalid(field, Cat("must be repository names without the owner (1 to "
                                "100 letters, digits, '.', '_' or '-'), got ",
                                QuoteInput(r)));
    }
    seen.push_back(absl::AsciiStrToLower(r));
  }
  std::sort(seen.begin(), seen.end());
  auto dup = std::adjacent_find(seen.begin(), seen.end());
  if (dup != seen.end()) {
    return Invalid(field, Cat("repository ", QuoteInput(*dup), " is listed twice"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAppPermissions(
    const std::vector<std::pair<std::string, std::string>>& permissions, std::string_view field) {
  if (permissions.size() > kMaxAppPermissions) {
    return Invalid(field, Cat("at most ", kMaxAppPermissions, " permissions"));
  }
  std::vector<std::string_view> names;
  for (const auto& [name, level] : permissions) {
    bool ok = !name.empty() && name.size() <= 64 && name.front() >= 'a' && name.front() <= 'z';
    for (char c : name) {
      if (!IsLowerAlnum(c) && c != '_') ok = false;
    }
    if (!ok) {
      return Invalid(field, Cat("permission names are GitHub App permissions in "
                                "lower_snake_case (e.g. contents, pull_requests), got ",
                                QuoteInput(name)));
    }
    if (level != "read" && level != "write" && level != "admin") {
      return Invalid(Cat(field, "[", name, "]"),
                     Cat("must be read, write or admin, got ", QuoteInput(level)));
    }
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  auto dup = std::adjacent_find(names.begin(), names.end());
  if (dup != names.end()) {
    return Invalid(field, Cat("permission ", QuoteInput(*dup), " is given twice"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSecret(RegistryType type, const SecretString& secret, std::string_view field) {
  if (type != RegistryType::kGitHubApp) return ValidateSecretFormat(secret.view(), field);
  // Never quote the key, nor say where it went wrong.
  if (secret.empty()) return Invalid(field, "required");
  if (secret.size() > kMaxGitHubAppKeyBytes) {
    return Invalid(field, Cat("at most ", kMaxGitHubAppKeyBytes, " bytes"));
  }
  const absl::Status not_a_key =
      Invalid(field,
              "must be the GitHub App's private key: an unencrypted RSA key in PEM (the .pem "
              "file GitHub generated, starting with -----BEGIN RSA PRIVATE KEY-----)");
  for (char c : secret.view()) {
    if (!IsPrintableNoSpace(c) && c != ' ' && c != '\n' && c != '\r' && c != '\t') {
      return not_a_key;
    }
  }
  absl::StatusOr<std::unique_ptr<crypto::SigningKey>> key =
      crypto::SigningKey::FromPrivateKeyPem(secret);
  if (!key.ok()) {
    // The crypto messages are fixed texts about the key's kind or size, never its bytes.
    if (absl::StrContains(key.status().message(), "RSA keys must have")) {
      return Invalid(field, "the GitHub App's RSA key must have at least 2048 bits");
    }
    return not_a_key;
  }
  if ((*key)->algorithm() != crypto::JwsAlgorithm::kRs256) {
    return Invalid(field, "must be an RSA key (GitHub App keys are RSA), not an EC key");
  }
  return absl::OkStatus();
}

absl::Status ValidateRegistryConfigInput(const RegistryConfigInput& in,
                                         bool secret_already_stored) {
  if (in.type == RegistryType::kUnspecified) {
    return Invalid("registry_config.type",
                   "required (GHCR, ACR, DISTRIBUTION, GENERIC or GITHUB_APP)");
  }
  std::string_view settings = SettingsFieldName(in.type);
  if (settings.empty()) return Invalid("registry_config.type", "unknown value");
  if (in.settings_type == RegistryType::kUnspecified) {
    return Invalid(Cat("registry_config.", settings),
                   Cat("required for type ", RegistryTypeName(in.type)));
  }
  if (in.settings_type != in.type) {
    return Invalid(Cat("registry_config.", SettingsFieldName(in.settings_type)),
                   Cat("does not match type ", RegistryTypeName(in.type)));
  }
  if (absl::Status s = ValidateDisplayName(in.display_name, "registry_config.display_name");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckNoStrayFields(in); !s.ok()) return s;

  absl::Status s;
  switch (in.type) {
    case RegistryType::kGhcr:
      s = ValidateGhcrOwner(in.owner, "registry_config.ghcr.owner");
      break;
    case RegistryType::kAcr:
      s = ValidateAcrLoginServer(in.login_server, "registry_config.acr.login_server");
      if (s.ok() && in.username.empty()) {
        s = Invalid("registry_config.acr.username", "required for type ACR");
      }
      if (s.ok()) s = ValidateUsername(in.username, "registry_config.acr.username");
      break;
    case RegistryType::kDistribution:
      s = ValidateRegistryUrl(in.url, "registry_config.distribution.url");
      if (s.ok()) {
        s = ValidateRepositoryNamespace(in.repository_namespace,
                                        "registry_config.distribution.repository_namespace");
      }
      if (s.ok() && !in.username.empty()) {
        s = ValidateUsername(in.username, "registry_config.distribution.username");
      }
      break;
    case RegistryType::kGeneric:
      s = ValidateRegistryUrl(in.url, "registry_config.generic.url");
      if (s.ok() && in.username.empty()) {
        s = Invalid("registry_config.generic.username", "required for type GENERIC");
      }
      if (s.ok()) s = ValidateUsername(in.username, "registry_config.generic.username");
      break;
    case RegistryType::kGitHubApp:
      s = ValidateGitHubAppId(in.app_id, "registry_config.github_app.app_id");
      if (s.ok()) {
        s = ValidateInstallationId(in.installation_id,
                                   "registry_config.github_app.installation_id");
      }
      if (s.ok()) {
        s = ValidateAppRepositories(in.repositories, "registry_config.github_app.repositories");
      }
      if (s.ok()) {
        s = ValidateAppPermissions(in.permissions, "registry_config.github_app.permissions");
      }
      break;
    case RegistryType::kUnspecified:
      break;
  }
  if (!s.ok()) return s;

  if (in.secret.empty()) {
    bool required = in.type != RegistryType::kDistribution;
    if (required && !secret_already_stored) {
      return Invalid("registry_config.secret",
                     Cat("required for type ", RegistryTypeName(in.type)));
    }
    return absl::OkStatus();
  }
  return ValidateSecret(in.type, in.secret, "registry_config.secret");
}

std::string SecretHint(std::string_view secret) {
  if (secret.empty()) return "";
  if (secret.size() < 16) return std::string(kEllipsis);
  constexpr std::array<std::string_view, 6> kPrefixes = {"github_pat_", "ghp_", "gho_",
                                                         "ghu_",        "ghs_", "ghr_"};
  std::string_view prefix;
  for (std::string_view p : kPrefixes) {
    if (StartsWith(secret, p)) {
      prefix = p;
      break;
    }
  }
  return Cat(prefix, kEllipsis, secret.substr(secret.size() - 4));
}

std::string SecretHint(RegistryType type, const SecretString& secret) {
  if (type != RegistryType::kGitHubApp) return SecretHint(secret.view());
  if (secret.empty()) return "";
  absl::StatusOr<std::unique_ptr<crypto::SigningKey>> key =
      crypto::SigningKey::FromPrivateKeyPem(secret);
  if (!key.ok()) return "";
  return (*key)->public_key()->Sha256Fingerprint();
}

}  // namespace registryauth::services
