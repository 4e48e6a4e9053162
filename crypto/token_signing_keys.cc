#include "crypto/token_signing_keys.h"

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/file_io.h"
#include "common/secret.h"
#include "common/status_macros.h"
#include "crypto/key_file.h"
#include "crypto/key_file_lines.h"

namespace registryauth::crypto {
namespace {

constexpr std::size_t kMaxIdSize = 32;
constexpr char kLineSyntax[] =
    "expected 'key <id> <active|next|retiring> [private_key=<path>] cert=<path> "
    "[since=<RFC 3339 time>]'";

// Debian's absl::string_view is not std::string_view.
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// A path as the file may hold it: non-empty, no control characters, no whitespace or '#'.
bool IsValidPath(std::string_view path) {
  if (path.empty() || path.size() > 4096) return false;
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ' ' || c == '#') return false;
  }
  return true;
}

std::optional<SigningKeyState> ParseState(std::string_view s) {
  if (s == "active") return SigningKeyState::kActive;
  if (s == "next") return SigningKeyState::kNext;
  if (s == "retiring") return SigningKeyState::kRetiring;
  return std::nullopt;
}

const absl::Time& MinSince() {
  static const absl::Time t = absl::FromCivil(absl::CivilSecond(1970, 1, 1), absl::UTCTimeZone());
  return t;
}
const absl::Time& MaxSince() {
  static const absl::Time t = absl::FromCivil(absl::CivilSecond(10000, 1, 1), absl::UTCTimeZone());
  return t;
}

absl::Time WholeSeconds(absl::Time t) { return absl::FromUnixSeconds(absl::ToUnixSeconds(t)); }

// RFC 3339 with an offset or 'Z', years 1970..9999; truncated to whole seconds.
std::optional<absl::Time> ParseSince(std::string_view text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, A(text), &t, &error)) return std::nullopt;
  if (t < MinSince() || t >= MaxSince()) return std::nullopt;
  return WholeSeconds(t);
}

std::string FormatSince(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", t, absl::UTCTimeZone());
}

// The rules an entry must satisfy on its own (not against others). Message without a prefix.
absl::Status CheckEntry(const SigningKeyEntry& e) {
  if (!IsValidSigningKeyId(e.id)) {
    return absl::InvalidArgumentError(
        "key id must be 1 to 32 characters of [A-Za-z0-9._-], starting with a letter or digit");
  }
  if (!IsValidPath(e.cert_path)) {
    return absl::InvalidArgumentError("missing or invalid cert=<path>");
  }
  if (!e.private_key_path.empty() && !IsValidPath(e.private_key_path)) {
    return absl::InvalidArgumentError("invalid private_key=<path>");
  }
  if (e.state != SigningKeyState::kRetiring && e.private_key_path.empty()) {
    return absl::InvalidArgumentError("an active or next key needs private_key=<path>");
  }
  if (e.state == SigningKeyState::kRetiring) {
    if (!e.since.has_value()) {
      return absl::InvalidArgumentError("a retiring key needs since=<RFC 3339 time>");
    }
    if (*e.since < MinSince() || *e.since >= MaxSince() || WholeSeconds(*e.since) != *e.since) {
      return absl::InvalidArgumentError("since must be whole seconds in the years 1970 to 9999");
    }
  } else if (e.since.has_value()) {
    return absl::InvalidArgumentError("since= is only for retiring keys");
  }
  return absl::OkStatus();
}

absl::StatusOr<SigningKeySetFile> ParseSetText(std::string_view text) {
  SigningKeySetFile file;
  std::map<std::string, std::size_t, std::less<>> id_lines;
  std::size_t active_line = 0;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);

    constexpr std::size_t kMaxTokens = 6;
    std::string_view tokens[kMaxTokens];
    const std::size_t n = TokenizeKeyFileLine(line, tokens, kMaxTokens);
    if (n == 0) continue;
    if (n < 4 || n > kMaxTokens || tokens[0] != "key")
      return KeyFileLineError(line_no, kLineSyntax);

    SigningKeyEntry entry;
    if (!IsValidSigningKeyId(tokens[1])) {
      return KeyFileLineError(
          line_no,
          "key id must be 1 to 32 characters of [A-Za-z0-9._-], starting with a "
          "letter or digit");
    }
    entry.id = std::string(tokens[1]);
    const std::optional<SigningKeyState> state = ParseState(tokens[2]);
    if (!state.has_value())
      return KeyFileLineError(line_no, "state must be active, next or retiring");
    entry.state = *state;

    bool seen_key = false, seen_cert = false, seen_since = false;
    for (std::size_t i = 3; i < n; ++i) {
      const std::string_view attr = tokens[i];
      const std::size_t eq = attr.find('=');
      const std::string_view name = attr.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : attr.substr(eq + 1);
      bool* seen = nullptr;
      if (eq != std::string_view::npos && name == "private_key") {
        seen = &seen_key;
      } else if (eq != std::string_view::npos && name == "cert") {
        seen = &seen_cert;
      } else if (eq != std::string_view::npos && name == "since") {
        seen = &seen_since;
      } else {
        return KeyFileLineError(line_no,
                                "unknown attribute (expected private_key=, cert= or since=)");
      }
      if (*seen) return KeyFileLineError(line_no, "repeated attribute");
      *seen = true;
      if (seen == &seen_since) {
        const std::optional<absl::Time> since = ParseSince(value);
        if (!since.has_value()) {
          return KeyFileLineError(
              line_no,
              "since must be an RFC 3339 time such as 2026-01-31T12:00:00Z (years "
              "1970 to 9999)");
        }
        entry.since = *since;
      } else {
        if (!IsValidPath(value)) return KeyFileLineError(line_no, "empty or invalid path");
        (seen == &seen_key ? entry.private_key_path : entry.cert_path) = std::string(value);
      }
    }
    if (absl::Status s = CheckEntry(entry); !s.ok()) return KeyFileLineError(line_no, s.message());

    auto [it, inserted] = id_lines.emplace(entry.id, line_no);
    if (!inserted) {
      return KeyFileLineError(line_no,
                              absl::StrCat("duplicate key id (first on line ", it->second, ")"));
    }
    if (entry.state == SigningKeyState::kActive) {
      if (active_line != 0) {
        return KeyFileLineError(
            line_no, absl::StrCat("second active key (first on line ", active_line, ")"));
      }
      active_line = line_no;
    }
    absl::Status added = file.Add(std::move(entry));
    if (!added.ok()) return KeyFileLineError(line_no, added.message());  // not reached
  }
  return file;
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty() || base_dir == ".") return path;
  if (base_dir.back() == '/') return base_dir + path;
  return absl::StrCat(base_dir, "/", path);
}

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

// notBefore / notAfter of a DER certificate.
absl::StatusOr<std::pair<absl::Time, absl::Time>> CertificateValidity(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert == nullptr) return absl::InvalidArgumentError("cannot parse certificate");
  auto to_time = [](const ASN1_TIME* t) -> std::optional<absl::Time> {
    struct tm tm = {};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
    return absl::FromCivil(absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                             tm.tm_hour, tm.tm_min, tm.tm_sec),
                           absl::UTCTimeZone());
  };
  const std::optional<absl::Time> not_before = to_time(X509_get0_notBefore(cert.get()));
  const std::optional<absl::Time> not_after = to_time(X509_get0_notAfter(cert.get()));
  if (!not_before || !not_after) {
    return absl::InvalidArgumentError("cannot read the certificate's validity");
  }
  return std::make_pair(*not_before, *not_after);
}

std::string DerToPem(const std::string& der) {
  const std::string b64 = absl::Base64Escape(der);
  std::string pem = "-----BEGIN CERTIFICATE-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) {
    pem.append(b64, i, 64);
    pem.push_back('\n');
  }
  pem.append("-----END CERTIFICATE-----\n");
  return pem;
}

std::string FormatTimeUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

// ---- Names and helpers ----------------------------------------------------------------------

std::string_view SigningKeyStateName(SigningKeyState state) {
  switch (state) {
    case SigningKeyState::kActive:
      return "active";
    case SigningKeyState::kNext:
      return "next";
    case SigningKeyState::kRetiring:
      return "retiring";
  }
  return "unknown";
}

absl::Time RetiringKeyRemovableAt(absl::Time since, absl::Duration max_token_ttl) {
  return since + max_token_ttl + kDefaultLeeway;
}

bool operator==(const SigningKeyEntry& a, const SigningKeyEntry& b) {
  return a.id == b.id && a.state == b.state && a.private_key_path == b.private_key_path &&
         a.cert_path == b.cert_path && a.since == b.since;
}

bool IsValidSigningKeyId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdSize) return false;
  if (id[0] == '.' || id[0] == '_' || id[0] == '-') return false;
  return std::all_of(id.begin(), id.end(), IsIdChar);
}

absl::StatusOr<TokenHeaderMode> ParseTokenHeaderMode(std::string_view text) {
  if (text == "kid") return TokenHeaderMode::kKid;
  if (text == "x5c") return TokenHeaderMode::kX5c;
  return absl::InvalidArgumentError("token header mode must be kid or x5c");
}

std::string_view TokenHeaderModeName(TokenHeaderMode mode) {
  return mode == TokenHeaderMode::kX5c ? "x5c" : "kid";
}

absl::StatusOr<KeyIdStyle> ParseKeyIdStyle(std::string_view text) {
  if (text == "libtrust") return KeyIdStyle::kLibtrust;
  if (text == "jwk-thumbprint") return KeyIdStyle::kJwkThumbprint;
  return absl::InvalidArgumentError("key id style must be libtrust or jwk-thumbprint");
}

std::string_view KeyIdStyleName(KeyIdStyle style) {
  return style == KeyIdStyle::kLibtrust ? "libtrust" : "jwk-thumbprint";
}

// ---- SigningKeySetFile ----------------------------------------------------------------------

absl::StatusOr<SigningKeySetFile> SigningKeySetFile::Parse(std::string_view text) {
  absl::StatusOr<SigningKeySetFile> file = ParseSetText(text);
  if (!file.ok()) return WithPrefix(file.status(), "signing key set: ");
  return file;
}

absl::StatusOr<SigningKeySetFile> SigningKeySetFile::Read(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return absl::NotFoundError(absl::StrCat("signing key set ", path, " does not exist"));
  }
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, "signing key set"));
  absl::StatusOr<SigningKeySetFile> file = ParseSetText(text);
  if (!file.ok()) return WithPrefix(file.status(), absl::StrCat("signing key set ", path, ": "));
  return file;
}

const SigningKeyEntry* SigningKeySetFile::Find(std::string_view id) const {
  for (const SigningKeyEntry& e : entries_) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

const SigningKeyEntry* SigningKeySetFile::Active() const {
  for (const SigningKeyEntry& e : entries_) {
    if (e.state == SigningKeyState::kActive) return &e;
  }
  return nullptr;
}

absl::Status SigningKeySetFile::Add(SigningKeyEntry entry) {
  RETURN_IF_ERROR(CheckEntry(entry));
  if (Find(entry.id) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("key ", entry.id, " already exists"));
  }
  if (entry.state == SigningKeyState::kActive && Active() != nullptr) {
    return absl::InvalidArgumentError("there is already an active key");
  }
  entries_.push_back(std::move(entry));
  return absl::OkStatus();
}

absl::Status SigningKeySetFile::Promote(std::string_view id, absl::Time now) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const SigningKeyEntry& e) { return e.id == id; });
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("there is no key ", A(id)));
  }
  if (it->state != SigningKeyState::kNext) {
    return absl::FailedPreconditionError(absl::StrCat("key ", A(id), " is ",
                                                      A(SigningKeyStateName(it->state)),
                                                      "; only a next key can be promoted"));
  }
  for (SigningKeyEntry& e : entries_) {
    if (e.state == SigningKeyState::kActive) {
      e.state = SigningKeyState::kRetiring;
      e.since = WholeSeconds(now);
    }
  }
  it->state = SigningKeyState::kActive;
  it->since.reset();
  return absl::OkStatus();
}

absl::Status SigningKeySetFile::Remove(std::string_view id) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const SigningKeyEntry& e) { return e.id == id; });
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("there is no key ", A(id)));
  }
  if (it->state != SigningKeyState::kRetiring) {
    return absl::FailedPreconditionError(
        absl::StrCat("key ", A(id), " is ", A(SigningKeyStateName(it->state)),
                     "; only a retiring key can be removed (promote another key first)"));
  }
  entries_.erase(it);
  return absl::OkStatus();
}

std::string SigningKeySetFile::Format() const {
  std::string text =
      "# registry-auth token signing keys (registry-authd signing-keys; format in\n"
      "# crypto/token_signing_keys.h). Paths are relative to this file's directory.\n";
  for (const SigningKeyEntry& e : entries_) {
    absl::StrAppend(&text, "key ", e.id, " ", A(SigningKeyStateName(e.state)));
    if (!e.private_key_path.empty()) absl::StrAppend(&text, " private_key=", e.private_key_path);
    absl::StrAppend(&text, " cert=", e.cert_path);
    if (e.since.has_value()) absl::StrAppend(&text, " since=", FormatSince(*e.since));
    text.push_back('\n');
  }
  return text;
}

// ---- TokenSigningKeys -----------------------------------------------------------------------

struct TokenSigningKeys::Key {
  std::shared_ptr<const VerifyingKey> public_key;
  std::shared_ptr<const SigningKey> private_key;  // may be null for retiring keys
  std::vector<std::string> cert_der_chain;        // leaf first
};

TokenSigningKeys::TokenSigningKeys(TokenSigningOptions options, std::vector<Key> keys,
                                   std::vector<SigningKeyInfo> infos, std::size_t active_index)
    : options_(options),
      keys_(std::move(keys)),
      infos_(std::move(infos)),
      active_index_(active_index),
      kid_keys_([this] {
        std::vector<std::shared_ptr<const VerifyingKey>> list;
        for (const Key& k : keys_) list.push_back(k.public_key);
        return list;
      }()),
      signer_(keys_[active_index_].private_key, [this] {
        JwtHeaderOptions h;
        h.kid = options_.kid_style;
        if (options_.header_mode == TokenHeaderMode::kX5c) {
          h.x5c_der = keys_[active_index_].cert_der_chain;
        }
        return h;
      }()) {}

TokenSigningKeys::~TokenSigningKeys() = default;

absl::StatusOr<std::unique_ptr<TokenSigningKeys>> TokenSigningKeys::Load(
    const std::string& set_file_path, const TokenSigningOptions& options, absl::Time now) {
  ASSIGN_OR_RETURN(SigningKeySetFile file, SigningKeySetFile::Read(set_file_path));
  return Create(file, DirectoryOf(set_file_path), options, now);
}

absl::StatusOr<std::unique_ptr<TokenSigningKeys>> TokenSigningKeys::Create(
    const SigningKeySetFile& file, const std::string& base_dir, const TokenSigningOptions& options,
    absl::Time now) {
  std::vector<Key> keys;
  std::vector<SigningKeyInfo> infos;
  std::size_t active_index = 0;
  bool has_active = false;
  for (const SigningKeyEntry& e : file.entries()) {
    const std::string prefix = absl::StrCat("signing key ", e.id, ": ");
    // Entries built in memory (not parsed) get the same checks.
    if (absl::Status s = CheckEntry(e); !s.ok()) return WithPrefix(s, prefix);
    Key key;
    SigningKeyInfo info;
    info.id = e.id;
    info.state = e.state;
    info.retiring_since = e.since;
    info.cert_path = Resolve(base_dir, e.cert_path);
    if (!e.private_key_path.empty()) info.private_key_path = Resolve(base_dir, e.private_key_path);

    absl::StatusOr<std::string> cert_read = ReadSmallFile(info.cert_path, "certificate file");
    RETURN_IF_ERROR(WithPrefix(cert_read.status(), prefix));
    const std::string cert_pem = *std::move(cert_read);
    absl::StatusOr<std::vector<std::string>> chain = CertificateDerChainFromPem(cert_pem);
    if (!chain.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, "certificate file ", info.cert_path,
                                                     ": ", chain.status().message()));
    }
    key.cert_der_chain = *std::move(chain);
    absl::StatusOr<std::unique_ptr<VerifyingKey>> cert_key =
        VerifyingKey::FromCertificatePem(cert_pem);
    if (!cert_key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, "certificate file ", info.cert_path,
                                                     ": ", cert_key.status().message()));
    }
    absl::StatusOr<std::pair<absl::Time, absl::Time>> validity =
        CertificateValidity(key.cert_der_chain.front());
    if (!validity.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, "certificate file ", info.cert_path,
                                                     ": ", validity.status().message()));
    }
    info.cert_not_before = validity->first;
    info.cert_not_after = validity->second;

    if (!info.private_key_path.empty()) {
      absl::StatusOr<SecretString> key_read =
          ReadPrivateFile(info.private_key_path, "private key file");
      RETURN_IF_ERROR(WithPrefix(key_read.status(), prefix));
      const SecretString key_pem = *std::move(key_read);
      absl::StatusOr<std::unique_ptr<SigningKey>> private_key =
          SigningKey::FromPrivateKeyPem(key_pem);
      if (!private_key.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(prefix, "private key file ",
                                                       info.private_key_path, ": ",
                                                       private_key.status().message()));
      }
      if (!(*private_key)->public_key()->SamePublicKey(**cert_key)) {
        return absl::InvalidArgumentError(absl::StrCat(
            prefix, "the certificate ", info.cert_path,
            " does not hold the public key of the private key ", info.private_key_path));
      }
      key.private_key = *std::move(private_key);
      key.public_key = key.private_key->public_key();
      info.has_private_key = true;
    } else {
      key.public_key = std::shared_ptr<const VerifyingKey>(*std::move(cert_key));
    }
    info.algorithm = key.public_key->algorithm();
    info.libtrust_key_id = key.public_key->LibtrustKeyId();
    info.jwk_thumbprint = key.public_key->JwkThumbprint();

    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].public_key->SamePublicKey(*key.public_key)) {
        return absl::InvalidArgumentError(
            absl::StrCat("signing keys ", infos[i].id, " and ", e.id, " hold the same public key"));
      }
    }
    if (e.state == SigningKeyState::kActive) {
      if (has_active) {
        return absl::InvalidArgumentError("the signing key set has more than one active key");
      }
      if (now >= info.cert_not_after) {
        return absl::FailedPreconditionError(
            absl::StrCat(prefix, "the active key's certificate ", info.cert_path, " expired at ",
                         FormatTimeUtc(info.cert_not_after), "; generate and promote a new key"));
      }
      if (now + kDefaultLeeway < info.cert_not_before) {
        return absl::FailedPreconditionError(absl::StrCat(prefix, "the active key's certificate ",
                                                          info.cert_path, " is not valid before ",
                                                          FormatTimeUtc(info.cert_not_before)));
      }
      has_active = true;
      active_index = keys.size();
    }
    keys.push_back(std::move(key));
    infos.push_back(std::move(info));
  }
  if (!has_active) {
    return absl::FailedPreconditionError(
        "the signing key set has no active key (generate one, or promote a next key)");
  }
  return std::unique_ptr<TokenSigningKeys>(
      new TokenSigningKeys(options, std::move(keys), std::move(infos), active_index));
}

absl::StatusOr<std::string> TokenSigningKeys::Sign(const nlohmann::json& claims) const {
  return signer_.Sign(claims);
}

absl::StatusOr<std::string> TokenSigningKeys::SignClaims(const JwtClaims& claims) const {
  return signer_.SignClaims(claims);
}

JwsAlgorithm TokenSigningKeys::algorithm() const {
  return keys_[active_index_].public_key->algorithm();
}

std::string TokenSigningKeys::KeyId() const { return ActiveKeyId(options_.kid_style); }

const std::string& TokenSigningKeys::ActiveKeyId(KeyIdStyle style) const {
  return keys_[active_index_].public_key->KeyId(style);
}

std::shared_ptr<const VerifyingKey> TokenSigningKeys::FindByX5c(const nlohmann::json& x5c) const {
  if (!x5c.is_array() || x5c.empty() || !x5c.front().is_string()) return nullptr;
  const std::string& b64 = x5c.front().get_ref<const std::string&>();
  std::string der;
  if (!absl::Base64Unescape(b64, &der) || der.empty()) return nullptr;
  for (const Key& key : keys_) {
    if (key.cert_der_chain.front() == der) return key.public_key;
  }
  return nullptr;
}

absl::StatusOr<nlohmann::json> TokenSigningKeys::Verify(std::string_view token,
                                                        const ClaimRequirements& requirements,
                                                        absl::Time now) const {
  // The header is read first only to find an "x5c" leaf; nothing in it is trusted beyond
  // naming one of our own certificates.
  ASSIGN_OR_RETURN(DecodedJwt decoded, DecodeJwt(token));
  const auto x5c = decoded.header.find("x5c");
  const bool has_x5c = x5c != decoded.header.end();
  const std::shared_ptr<const VerifyingKey> x5c_key = has_x5c ? FindByX5c(*x5c) : nullptr;
  const VerifyingKeyLookup lookup =
      [&](std::string_view kid) -> std::shared_ptr<const VerifyingKey> {
    if (kid.empty()) return x5c_key;
    std::shared_ptr<const VerifyingKey> by_kid = kid_keys_.Find(kid);
    if (has_x5c && by_kid != x5c_key) return nullptr;  // kid and x5c must agree
    return by_kid;
  };
  ASSIGN_OR_RETURN(DecodedJwt verified, VerifyJwtSignature(token, lookup));
  RETURN_IF_ERROR(ValidateClaims(verified.claims, requirements, now));
  return std::move(verified.claims);
}

std::string TokenSigningKeys::RootCertBundlePem() const {
  std::string bundle;
  std::set<std::string> seen;
  for (const Key& key : keys_) {
    for (const std::string& der : key.cert_der_chain) {
      if (seen.insert(der).second) bundle.append(DerToPem(der));
    }
  }
  return bundle;
}

nlohmann::json TokenSigningKeys::Jwks(KeyIdStyle style) const {
  std::vector<std::shared_ptr<const VerifyingKey>> list;
  for (const Key& key : keys_) list.push_back(key.public_key);
  return JwksDocument(list, style);
}

std::string TokenSigningKeys::Summary() const {
  std::vector<std::string> parts;
  for (const SigningKeyInfo& info : infos_) {
    parts.push_back(absl::StrCat(info.id, " (", A(SigningKeyStateName(info.state)), ", ",
                                 A(JwsAlgorithmName(info.algorithm)), ")"));
  }
  return absl::StrCat("token signing keys: ", absl::StrJoin(parts, ", "), "; active kid ", KeyId(),
                      " (", A(KeyIdStyleName(options_.kid_style)), "), header ",
                      A(TokenHeaderModeName(options_.header_mode)));
}

std::vector<std::string> TokenSigningKeys::RemovableRetiringKeys(absl::Duration max_token_ttl,
                                                                 absl::Time now) const {
  std::vector<std::string> ids;
  for (const SigningKeyInfo& info : infos_) {
    if (info.state == SigningKeyState::kRetiring && info.retiring_since.has_value() &&
        now >= RetiringKeyRemovableAt(*info.retiring_since, max_token_ttl)) {
      ids.push_back(info.id);
    }
  }
  return ids;
}

// ---- TokenSigningKeysHolder -----------------------------------------------------------------

TokenSigningKeysHolder::TokenSigningKeysHolder(std::shared_ptr<const TokenSigningKeys> initial)
    : keys_(std::move(initial)) {}

std::shared_ptr<const TokenSigningKeys> TokenSigningKeysHolder::Get() const {
  absl::MutexLock lock(&mu_);
  return keys_;
}

void TokenSigningKeysHolder::Set(std::shared_ptr<const TokenSigningKeys> keys) {
  if (keys == nullptr) return;
  std::shared_ptr<const TokenSigningKeys> old;  // released outside the lock
  absl::MutexLock lock(&mu_);
  old = std::exchange(keys_, std::move(keys));
}

absl::Status TokenSigningKeysHolder::Reload(const std::string& set_file_path, absl::Time now) {
  ASSIGN_OR_RETURN(std::unique_ptr<TokenSigningKeys> keys,
                   TokenSigningKeys::Load(set_file_path, Get()->options(), now));
  Set(std::move(keys));
  return absl::OkStatus();
}

absl::StatusOr<std::string> TokenSigningKeysHolder::Sign(const nlohmann::json& claims) const {
  return Get()->Sign(claims);
}

absl::StatusOr<std::string> TokenSigningKeysHolder::SignClaims(const JwtClaims& claims) const {
  return Get()->SignClaims(claims);
}

JwsAlgorithm TokenSigningKeysHolder::algorithm() const { return Get()->algorithm(); }

std::string TokenSigningKeysHolder::KeyId() const { return Get()->KeyId(); }

absl::StatusOr<nlohmann::json> TokenSigningKeysHolder::Verify(std::string_view token,
                                                              const ClaimRequirements& requirements,
                                                              absl::Time now) const {
  return Get()->Verify(token, requirements, now);
}

// ---- Files ----------------------------------------------------------------------------------

absl::Status WriteTokenSigningExports(const TokenSigningKeys& keys,
                                      const std::string& rootcertbundle_path,
                                      const std::string& jwks_path, KeyIdStyle jwks_kid_style) {
  if (!rootcertbundle_path.empty()) {
    RETURN_IF_ERROR(
        WriteFileAtomicallyWithMode(rootcertbundle_path, keys.RootCertBundlePem(), 0644));
  }
  if (!jwks_path.empty()) {
    const std::string jwks = keys.Jwks(jwks_kid_style).dump(2) + "\n";
    RETURN_IF_ERROR(WriteFileAtomicallyWithMode(jwks_path, jwks, 0644));
  }
  return absl::OkStatus();
}

}  // namespace registryauth::crypto
