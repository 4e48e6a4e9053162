#include "auth/policy.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace registryauth::auth {

struct CallerPolicy::Entry {
  std::string name;
  std::vector<std::string> identities;
  std::vector<std::string> key_hashes;  // raw 32-byte digests
  std::set<Permission> permissions;
};

namespace {

constexpr size_t kMaxPolicyBytes = 1 << 20;

bool ValidCallerName(absl::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(name[0])) return false;
  for (char c : name) {
    if (!lower_digit(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

bool PrintableNoSpace(absl::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return !s.empty();
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

absl::Status LineError(int line, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("policy line ", line, ": ", why));
}

}  // namespace

CallerPolicy::CallerPolicy() = default;
CallerPolicy::~CallerPolicy() = default;

absl::StatusOr<std::unique_ptr<CallerPolicy>> CallerPolicy::Parse(std::string_view text_std) {
  const absl::string_view text(text_std.data(), text_std.size());
  if (text.size() > kMaxPolicyBytes) {
    return absl::InvalidArgumentError("policy: larger than 1 MiB");
  }
  std::unique_ptr<CallerPolicy> policy(new CallerPolicy());
  std::set<std::string> names, identities, hashes;
  int line_no = 0;
  int entry_line = 0;
  auto finish_entry = [&]() -> absl::Status {
    if (policy->entries_.empty()) return absl::OkStatus();
    const Entry& e = policy->entries_.back();
    if (e.identities.empty() && e.key_hashes.empty()) {
      return LineError(entry_line, absl::StrCat("caller ", e.name,
                                                " needs at least one identity or api_key"));
    }
    return absl::OkStatus();
  };
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    absl::string_view line = raw;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) line = line.substr(0, hash);
    const bool indented = !line.empty() && (line[0] == ' ' || line[0] == '\t');
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const absl::string_view keyword = words[0];
    if (!indented) {
      if (keyword != "caller") {
        return LineError(line_no, absl::StrCat("expected `caller NAME`, got `",
                                               keyword.substr(0, 32), "`"));
      }
      if (absl::Status s = finish_entry(); !s.ok()) return s;
      if (words.size() != 2 || !ValidCallerName(words[1])) {
        return LineError(line_no, "`caller NAME`: NAME must match [a-z0-9][a-z0-9._-]{0,62}");
      }
      if (!names.insert(std::string(words[1])).second) {
        return LineError(line_no, absl::StrCat("caller ", words[1], " defined twice"));
      }
      policy->entries_.push_back(Entry{std::string(words[1]), {}, {}, {}});
      entry_line = line_no;
      continue;
    }
    if (policy->entries_.empty()) {
      return LineError(line_no, "indented line before the first `caller NAME`");
    }
    Entry& entry = policy->entries_.back();
    if (keyword == "identity") {
      if (words.size() != 2) return LineError(line_no, "`identity` takes one value");
      const absl::string_view id = words[1];
      const bool spiffe = absl::StartsWith(id, "spiffe://") && id.size() > 9;
      const bool cn = absl::StartsWith(id, "cn:") && id.size() > 3;
      if ((!spiffe && !cn) || !PrintableNoSpace(id) || id.size() > 512) {
        return LineError(line_no, "identity must be spiffe://... or cn:<common name>");
      }
      if (!identities.insert(std::string(id)).second) {
        return LineError(line_no, absl::StrCat("identity ", id, " is used twice"));
      }
      entry.identities.emplace_back(id);
    } else if (keyword == "api_key") {
      constexpr absl::string_view kPrefix = "sha256:";
      if (words.size() != 2 || !absl::StartsWith(words[1], kPrefix) ||
          words[1].size() != kPrefix.size() + 64) {
        return LineError(line_no, "api_key must be sha256:<64 hex digits>");
      }
      const absl::string_view hex = words[1].substr(kPrefix.size());
      for (char c : hex) {
        if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
          return LineError(line_no, "api_key must be sha256:<64 hex digits>");
        }
      }
      std::string digest = absl::HexStringToBytes(absl::AsciiStrToLower(hex));
      if (!hashes.insert(digest).second) {
        return LineError(line_no, "this api_key is used twice");
      }
      entry.key_hashes.push_back(std::move(digest));
    } else if (keyword == "permissions") {
      if (words.size() < 2) return LineError(line_no, "`permissions` needs at least one name");
      for (size_t i = 1; i < words.size(); ++i) {
        std::optional<Permission> p =
            ParsePermission(std::string_view(words[i].data(), words[i].size()));
        if (!p.has_value()) {
          return LineError(line_no, absl::StrCat("unknown permission \"", words[i].substr(0, 64),
                                                 "\""));
        }
        entry.permissions.insert(*p);
      }
    } else {
      return LineError(line_no, absl::StrCat("unknown setting `", keyword.substr(0, 32),
                                             "` (identity, api_key, permissions)"));
    }
  }
  if (absl::Status s = finish_entry(); !s.ok()) return s;
  return policy;
}

absl::StatusOr<std::unique_ptr<CallerPolicy>> CallerPolicy::LoadFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("policy file ", path, ": cannot be read"));
  }
  if (st.st_size > static_cast<off_t>(kMaxPolicyBytes)) {
    return absl::InvalidArgumentError(absl::StrCat("policy file ", path, ": larger than 1 MiB"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::PermissionDeniedError(absl::StrCat("policy file ", path, ": cannot be read"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::unique_ptr<CallerPolicy>> policy = Parse(text.str());
  if (!policy.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy file ", path, ": ", policy.status().message()));
  }
  return policy;
}

std::optional<Principal> CallerPolicy::FindByIdentity(std::string_view identity) const {
  for (const Entry& e : entries_) {
    for (const std::string& id : e.identities) {
      if (id == identity) {
        return Principal{e.name, std::string(identity), AuthMethod::kMtls, e.permissions};
      }
    }
  }
  return std::nullopt;
}

std::optional<Principal> CallerPolicy::FindByApiKey(std::string_view presented_key) const {
  if (presented_key.empty()) return std::nullopt;
  const std::string digest = Sha256(absl::string_view(presented_key.data(), presented_key.size()));
  // Compare against every stored hash, without stopping at a match.
  const Entry* found = nullptr;
  for (const Entry& e : entries_) {
    for (const std::string& h : e.key_hashes) {
      const bool equal = h.size() == digest.size() &&
                         CRYPTO_memcmp(h.data(), digest.data(), digest.size()) == 0;
      if (equal) found = &e;
    }
  }
  if (found == nullptr) return std::nullopt;
  return Principal{found->name, "apikey:" + found->name, AuthMethod::kApiKey,
                   found->permissions};
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
  policy_ = std::move(policy);
}

absl::Status PolicyHolder::ReloadFromFile(const std::string& path) {
  absl::StatusOr<std::unique_ptr<CallerPolicy>> loaded = CallerPolicy::LoadFile(path);
  if (!loaded.ok()) return loaded.status();
  Set(std::shared_ptr<const CallerPolicy>(std::move(*loaded)));
  return absl::OkStatus();
}

std::string HashApiKey(std::string_view key) {
  return absl::StrCat("sha256:",
                      absl::BytesToHexString(Sha256(absl::string_view(key.data(), key.size()))));
}

absl::StatusOr<SecretString> GenerateApiKey() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("api key: random generator failed");
  }
  std::string encoded;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)),
                            &encoded);
  OPENSSL_cleanse(bytes, sizeof(bytes));
  std::string full = "rak_" + encoded;
  SecretString key(full);
  WipeString(full);
  WipeString(encoded);
  return key;
}

}  // namespace registryauth::auth
