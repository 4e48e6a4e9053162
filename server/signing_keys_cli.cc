#include "server/signing_keys_cli.h"

#include <unistd.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/file_io.h"
#include "common/secret.h"
#include "crypto/jws.h"
#include "crypto/key_file.h"
#include "crypto/token_signing_keys.h"
#include "server/subcommand_args.h"

namespace registryauth::server {
namespace {

using ::registryauth::crypto::KeyIdStyle;
using ::registryauth::crypto::SigningKeyEntry;
using ::registryauth::crypto::SigningKeyInfo;
using ::registryauth::crypto::SigningKeySetFile;
using ::registryauth::crypto::SigningKeyState;
using ::registryauth::crypto::TokenSigningKeys;

constexpr char kDefaultCertCn[] = "registry-auth token signer";
constexpr absl::Duration kDefaultValidity = absl::Hours(24 * 1095);  // 3 years
constexpr absl::Duration kMaxValidity = absl::Hours(24 * 3660);      // 10 years
// A new certificate is valid from a little before now, so that a registry or replica whose
// clock is behind does not see it as not yet valid.
constexpr absl::Duration kNotBeforeSlack = absl::Minutes(5);
constexpr int kRsaBits = 3072;

constexpr char kUsage[] =
    "usage: registry-authd signing-keys <command> [flags]\n"
    "\n"
    "  generate [--id=ID] [--alg=ES256|RS256] [--cert_cn=CN] [--validity=1095d]\n"
    "                     new key <id>.key.pem (0600) + self-signed <id>.crt.pem next to the\n"
    "                     set file; state next (active if the set has no active key)\n"
    "  promote ID         next key ID becomes active; the active key becomes retiring\n"
    "  remove ID [--max_token_ttl=24h] [--force] [--delete_files]\n"
    "                     drop retiring key ID once since + max_token_ttl + 60s have passed;\n"
    "                     its files stay unless --delete_files\n"
    "  list [--max_token_ttl=24h]\n"
    "                     ids, states, algorithms, certificate expiry, key ids (no secrets)\n"
    "  export [--rootcertbundle=F] [--jwks=F] [--kid_style=jwk-thumbprint|libtrust]\n"
    "                     write the registry's trust files (every published key), mode 0644\n"
    "\n"
    "flags: --token_signing_keys=F, the set file (env REGAUTH_TOKEN_SIGNING_KEYS, as for the\n"
    "       server); --rootcertbundle / --jwks (env REGAUTH_TOKEN_EXPORT_ROOTCERTBUNDLE /\n"
    "       REGAUTH_TOKEN_EXPORT_JWKS). --max_token_ttl defaults to 24h, the longest --token_ttl\n"
    "       the server accepts. Durations: 90m, 24h, 30d.\n"
    "After generate/promote/remove: export, deploy to the registries (restart them), and send\n"
    "SIGHUP to every registry-authd. Runbook: deploy/signing-keys.md.\n"
    "Exit codes: 0 done, 1 failed or refused, 2 usage error.\n";

// "30d" (whole days) or an absl duration ("24h", "90m", "1h30m"); positive, at most `max`.
absl::StatusOr<absl::Duration> ParseDurationFlag(const std::string& name, const std::string& value,
                                                 absl::Duration max) {
  absl::Duration d;
  bool ok = false;
  if (value.size() > 1 && value.back() == 'd') {
    int64_t days = 0;
    ok = value.find_first_not_of("0123456789") == value.size() - 1 &&
         absl::SimpleAtoi(value.substr(0, value.size() - 1), &days) && days <= 100000;
    if (ok) d = absl::Hours(24) * days;
  } else {
    ok = absl::ParseDuration(value, &d);
  }
  if (!ok || d <= absl::ZeroDuration() || d > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a positive duration such as 30d, 24h or 90m, at most ",
                     absl::FormatDuration(max)));
  }
  return d;
}

std::string FormatUtc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", t, absl::UTCTimeZone());
}

// `path` resolved the way the set file's entries are (relative to the set file's directory).
std::string InDir(const std::string& dir, const std::string& name) {
  if (dir == ".") return name;
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return absl::StrCat(dir, "/", name);
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class SigningKeysCommand {
 public:
  SigningKeysCommand(std::string command, const SigningKeysIo& io)
      : command_(std::move(command)),
        io_(io),
        clock_(io.clock != nullptr ? *io.clock : real_clock_) {}

  int Run(const std::vector<std::string>& args);

 private:
  int Generate(const ParsedArgs& a, const std::string& path);
  int Promote(const ParsedArgs& a, const std::string& path);
  int Remove(const ParsedArgs& a, const std::string& path);
  int List(const ParsedArgs& a, const std::string& path);
  int Export(const ParsedArgs& a, const std::string& path);

  int UsageError(absl::string_view message) {
    *io_.err << "registry-authd signing-keys " << command_ << ": " << message << "\n\n" << kUsage;
    return 2;
  }
  int Fail(const absl::Status& status) {
    *io_.err << "registry-authd signing-keys " << command_ << ": " << status.message() << "\n";
    return 1;
  }

  std::optional<std::string> Setting(const ParsedArgs& a, const char* flag, const char* env) const {
    auto it = a.flags.find(flag);
    if (it != a.flags.end() && !it->second.empty()) return it->second;
    if (io_.env) {
      std::optional<std::string> v = io_.env(env);
      if (v.has_value() && !v->empty()) return v;
    }
    return std::nullopt;
  }
  absl::StatusOr<absl::Duration> MaxTokenTtl(const ParsedArgs& a) const {
    auto it = a.flags.find("max_token_ttl");
    if (it == a.flags.end()) return crypto::kDefaultMaxTokenTtl;
    return ParseDurationFlag("max_token_ttl", it->second, absl::Hours(24 * 366));
  }
  // A default id: k<YYYYMMDD>, then -2, -3, ... while the id or its files are taken.
  std::string DefaultId(const SigningKeySetFile& file, const std::string& dir) const;
  void PrintKeys(const TokenSigningKeys& keys, absl::Duration max_token_ttl) const;

  const std::string command_;
  const SigningKeysIo& io_;
  RealClock real_clock_;
  const Clock& clock_;
};

int SigningKeysCommand::Run(const std::vector<std::string>& args) {
  static const std::map<std::string, std::set<std::string>> kFlags = {
      {"generate", {"token_signing_keys", "id", "alg", "cert_cn", "validity"}},
      {"promote", {"token_signing_keys"}},
      {"remove", {"token_signing_keys", "max_token_ttl", "force", "delete_files"}},
      {"list", {"token_signing_keys", "max_token_ttl"}},
      {"export", {"token_signing_keys", "rootcertbundle", "jwks", "kid_style"}},
  };
  const auto allowed = kFlags.find(command_);
  if (allowed == kFlags.end()) {
    return UsageError(absl::StrCat("unknown command \"", command_, "\""));
  }
  absl::StatusOr<ParsedArgs> parsed = ParseSubcommandArgs(args, 2, allowed->second);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  const size_t want_positional = (command_ == "promote" || command_ == "remove") ? 1 : 0;
  if (parsed->positional.size() != want_positional) {
    return UsageError(want_positional == 1 ? "needs exactly one key ID"
                                           : "takes no positional arguments");
  }
  if (want_positional == 1 && !crypto::IsValidSigningKeyId(parsed->positional[0])) {
    return UsageError("ID must be 1 to 32 characters of [A-Za-z0-9._-]");
  }
  const std::optional<std::string> path =
      Setting(*parsed, "token_signing_keys", "REGAUTH_TOKEN_SIGNING_KEYS");
  if (!path) return UsageError("needs --token_signing_keys (or REGAUTH_TOKEN_SIGNING_KEYS)");
  if (command_ == "generate") return Generate(*parsed, *path);
  if (command_ == "promote") return Promote(*parsed, *path);
  if (command_ == "remove") return Remove(*parsed, *path);
  if (command_ == "list") return List(*parsed, *path);
  return Export(*parsed, *path);
}

std::string SigningKeysCommand::DefaultId(const SigningKeySetFile& file,
                                          const std::string& dir) const {
  const std::string base =
      absl::StrCat("k", absl::FormatTime("%Y%m%d", clock_.Now(), absl::UTCTimeZone()));
  for (int n = 1;; ++n) {
    const std::string id = n == 1 ? base : absl::StrCat(base, "-", n);
    if (file.Find(id) == nullptr && !Exists(InDir(dir, id + ".key.pem")) &&
        !Exists(InDir(dir, id + ".crt.pem"))) {
      return id;
    }
  }
}

int SigningKeysCommand::Generate(const ParsedArgs& a, const std::string& path) {
  bool rsa = false;
  if (auto it = a.flags.find("alg"); it != a.flags.end()) {
    if (it->second == "RS256") {
      rsa = true;
    } else if (it->second != "ES256") {
      return UsageError("--alg must be ES256 or RS256");
    }
  }
  std::string cn = kDefaultCertCn;
  if (auto it = a.flags.find("cert_cn"); it != a.flags.end()) {
    if (it->second.empty() || it->second.size() > 64) {
      return UsageError("--cert_cn must be 1 to 64 bytes");
    }
    cn = it->second;
  }
  absl::Duration validity = kDefaultValidity;
  if (auto it = a.flags.find("validity"); it != a.flags.end()) {
    absl::StatusOr<absl::Duration> d = ParseDurationFlag("validity", it->second, kMaxValidity);
    if (!d.ok()) return UsageError(d.status().message());
    validity = *d;
  }
  if (auto it = a.flags.find("id");
      it != a.flags.end() && !crypto::IsValidSigningKeyId(it->second)) {
    return UsageError(
        "--id must be 1 to 32 characters of [A-Za-z0-9._-], starting with a letter "
        "or digit");
  }

  absl::StatusOr<SigningKeySetFile> file = SigningKeySetFile::Read(path);
  bool created = false;
  if (absl::IsNotFound(file.status())) {
    file = SigningKeySetFile();
    created = true;
  } else if (!file.ok()) {
    return Fail(file.status());
  }
  const std::string dir = DirectoryOf(path);
  std::string id;
  if (auto it = a.flags.find("id"); it != a.flags.end()) {
    id = it->second;
    if (file->Find(id) != nullptr) {
      return Fail(absl::AlreadyExistsError(absl::StrCat("key ", id, " is already in ", path)));
    }
  } else {
    id = DefaultId(*file, dir);
  }
  const absl::Time now = clock_.Now();

  absl::StatusOr<SecretString> pem =
      rsa ? crypto::GenerateRsaKeyPem(kRsaBits) : crypto::GenerateEs256KeyPem();
  if (!pem.ok()) return Fail(pem.status());
  absl::StatusOr<std::unique_ptr<crypto::SigningKey>> key =
      crypto::SigningKey::FromPrivateKeyPem(*pem);
  if (!key.ok()) return Fail(key.status());
  absl::StatusOr<std::string> cert =
      (*key)->SelfSignedCertificatePem({cn, now - kNotBeforeSlack, now + validity});
  if (!cert.ok()) return Fail(cert.status());

  SigningKeyEntry entry;
  entry.id = id;
  entry.state = file->Active() == nullptr ? SigningKeyState::kActive : SigningKeyState::kNext;
  entry.private_key_path = id + ".key.pem";
  entry.cert_path = id + ".crt.pem";
  const std::string key_file = InDir(dir, entry.private_key_path);
  const std::string cert_file = InDir(dir, entry.cert_path);
  if (absl::Status s = WriteNewFile(key_file, pem->view(), 0600); !s.ok()) return Fail(s);
  auto undo = [&] {
    ::unlink(key_file.c_str());
    ::unlink(cert_file.c_str());
  };
  if (absl::Status s = WriteNewFile(cert_file, *cert, 0644); !s.ok()) {
    ::unlink(key_file.c_str());
    return Fail(s);
  }
  // Check the new files the way a server will load them.
  SigningKeySetFile alone;
  SigningKeyEntry as_active = entry;
  as_active.state = SigningKeyState::kActive;
  absl::Status check = alone.Add(as_active);
  absl::StatusOr<std::unique_ptr<TokenSigningKeys>> loaded =
      check.ok() ? TokenSigningKeys::Create(alone, dir, {}, now)
                 : absl::StatusOr<std::unique_ptr<TokenSigningKeys>>(check);
  if (!loaded.ok()) {
    undo();
    return Fail(loaded.status());
  }
  if (absl::Status s = file->Add(entry); !s.ok()) {
    undo();
    return Fail(s);
  }
  if (absl::Status s = WriteFileAtomicallyWithMode(path, file->Format(), 0644); !s.ok()) {
    undo();
    return Fail(s);
  }
  const SigningKeyInfo& info = (*loaded)->active();
  const bool active = entry.state == SigningKeyState::kActive;
  *io_.out << (created ? "created " : "updated ") << path << ": added key " << id << " ("
           << crypto::SigningKeyStateName(entry.state) << ", "
           << crypto::JwsAlgorithmName(info.algorithm) << ")\n"
           << "  private key  " << key_file << " (mode 0600)\n"
           << "  certificate  " << cert_file << " (CN " << cn << ", valid until "
           << FormatUtc(info.cert_not_after) << ")\n"
           << "  kid libtrust        " << info.libtrust_key_id << "\n"
           << "  kid jwk-thumbprint  " << info.jwk_thumbprint << "\n";
  if (active) {
    *io_.out << "Next: `registry-authd signing-keys export`, deploy the files to the registries "
                "and restart them, then start (or SIGHUP) registry-authd.\n";
  } else {
    *io_.out << "Next: `registry-authd signing-keys export`, deploy the files to the registries "
                "and restart them; then `registry-authd signing-keys promote "
             << id << "` and SIGHUP every registry-authd.\n";
  }
  return 0;
}

int SigningKeysCommand::Promote(const ParsedArgs& a, const std::string& path) {
  const std::string& id = a.positional[0];
  absl::StatusOr<SigningKeySetFile> file = SigningKeySetFile::Read(path);
  if (!file.ok()) return Fail(file.status());
  const SigningKeyEntry* previous_entry = file->Active();
  const std::string previous = previous_entry != nullptr ? previous_entry->id : "";
  const absl::Time now = clock_.Now();
  if (absl::Status s = file->Promote(id, now); !s.ok()) return Fail(s);
  // Only write a set that a server would load.
  absl::StatusOr<std::unique_ptr<TokenSigningKeys>> loaded =
      TokenSigningKeys::Create(*file, DirectoryOf(path), {}, now);
  if (!loaded.ok()) {
    return Fail(absl::Status(
        loaded.status().code(),
        absl::StrCat("refused, ", path, " is unchanged: ", loaded.status().message())));
  }
  if (absl::Status s = WriteFileAtomicallyWithMode(path, file->Format(), 0644); !s.ok()) {
    return Fail(s);
  }
  *io_.out << path << ": key " << id << " is active (kid libtrust "
           << (*loaded)->ActiveKeyId(KeyIdStyle::kLibtrust) << ", jwk-thumbprint "
           << (*loaded)->ActiveKeyId(KeyIdStyle::kJwkThumbprint) << ")\n";
  if (!previous.empty()) {
    const SigningKeyEntry* retired = file->Find(previous);
    absl::StatusOr<absl::Duration> ttl = MaxTokenTtl(a);
    *io_.out << "key " << previous << " is retiring since " << FormatUtc(*retired->since)
             << "; it stays published until `registry-authd signing-keys remove " << previous
             << "` (allowed from "
             << FormatUtc(crypto::RetiringKeyRemovableAt(
                    *retired->since, ttl.ok() ? *ttl : crypto::kDefaultMaxTokenTtl))
             << ")\n";
  }
  *io_.out << "Next: send SIGHUP to every registry-authd using this file (until then they sign "
              "with the previous key).\n";
  return 0;
}

int SigningKeysCommand::Remove(const ParsedArgs& a, const std::string& path) {
  const std::string& id = a.positional[0];
  absl::StatusOr<absl::Duration> ttl = MaxTokenTtl(a);
  if (!ttl.ok()) return UsageError(ttl.status().message());
  bool force = false;
  bool delete_files = false;
  for (auto [name, target] : {std::pair<const char*, bool*>{"force", &force},
                              std::pair<const char*, bool*>{"delete_files", &delete_files}}) {
    if (auto it = a.flags.find(name); it != a.flags.end()) {
      absl::StatusOr<bool> b = ParseBoolFlag(name, it->second);
      if (!b.ok()) return UsageError(b.status().message());
      *target = *b;
    }
  }
  absl::StatusOr<SigningKeySetFile> file = SigningKeySetFile::Read(path);
  if (!file.ok()) return Fail(file.status());
  const SigningKeyEntry* entry = file->Find(id);
  if (entry == nullptr) {
    return Fail(absl::NotFoundError(absl::StrCat("there is no key ", id, " in ", path)));
  }
  const SigningKeyEntry removed = *entry;
  const absl::Time now = clock_.Now();
  if (removed.state == SigningKeyState::kRetiring && !force) {
    const absl::Time at = crypto::RetiringKeyRemovableAt(*removed.since, *ttl);
    if (now < at) {
      return Fail(absl::FailedPreconditionError(
          absl::StrCat("key ", id, " is retiring since ", FormatUtc(*removed.since),
                       "; tokens it signed may still be in use until ", FormatUtc(at),
                       " (since + --max_token_ttl ", absl::FormatDuration(*ttl),
                       " + 60 s leeway). Wait, or use --force if no such token can exist")));
    }
  }
  if (absl::Status s = file->Remove(id); !s.ok()) return Fail(s);
  if (absl::Status s = WriteFileAtomicallyWithMode(path, file->Format(), 0644); !s.ok()) {
    return Fail(s);
  }
  *io_.out << path << ": removed key " << id << "\n";
  const std::string dir = DirectoryOf(path);
  std::vector<std::string> files;
  if (!removed.private_key_path.empty()) {
    files.push_back(removed.private_key_path[0] == '/' ? removed.private_key_path
                                                       : InDir(dir, removed.private_key_path));
  }
  files.push_back(removed.cert_path[0] == '/' ? removed.cert_path : InDir(dir, removed.cert_path));
  int code = 0;
  for (const std::string& f : files) {
    if (!delete_files) {
      *io_.out << "  left in place: " << f << "\n";
    } else if (::unlink(f.c_str()) == 0) {
      *io_.out << "  deleted " << f << "\n";
    } else {
      *io_.err << "registry-authd signing-keys remove: cannot delete " << f << "\n";
      code = 1;
    }
  }
  *io_.out << "Next: SIGHUP every registry-authd, then `registry-authd signing-keys export` and "
              "redeploy the files to the registries (restart them).\n";
  return code;
}

void SigningKeysCommand::PrintKeys(const TokenSigningKeys& keys,
                                   absl::Duration max_token_ttl) const {
  const absl::Time now = clock_.Now();
  *io_.out << absl::StrFormat("%-20s %-9s %-6s %-20s %-20s %-59s %-43s %s\n", "ID", "STATE", "ALG",
                              "SINCE", "CERT_NOT_AFTER", "KID_LIBTRUST", "KID_JWK_THUMBPRINT",
                              "NOTE");
  for (const SigningKeyInfo& k : keys.keys()) {
    std::string note;
    if (k.state == SigningKeyState::kRetiring) {
      const absl::Time at = crypto::RetiringKeyRemovableAt(*k.retiring_since, max_token_ttl);
      note = now >= at ? "removable" : absl::StrCat("removable from ", FormatUtc(at));
      if (!k.has_private_key) absl::StrAppend(&note, ", no private key");
    }
    if (now >= k.cert_not_after) {
      absl::StrAppend(&note, note.empty() ? "" : ", ", "certificate expired");
    }
    std::string row =
        absl::StrFormat("%-20s %-9s %-6s %-20s %-20s %-59s %-43s %s", k.id,
                        std::string(crypto::SigningKeyStateName(k.state)),
                        std::string(crypto::JwsAlgorithmName(k.algorithm)),
                        k.retiring_since.has_value() ? FormatUtc(*k.retiring_since) : "-",
                        FormatUtc(k.cert_not_after), k.libtrust_key_id, k.jwk_thumbprint, note);
    row.erase(row.find_last_not_of(' ') + 1);
    *io_.out << row << "\n";
  }
}

int SigningKeysCommand::List(const ParsedArgs& a, const std::string& path) {
  absl::StatusOr<absl::Duration> ttl = MaxTokenTtl(a);
  if (!ttl.ok()) return UsageError(ttl.status().message());
  absl::StatusOr<std::unique_ptr<TokenSigningKeys>> keys =
      TokenSigningKeys::Load(path, {}, clock_.Now());
  if (keys.ok()) {
    PrintKeys(**keys, *ttl);
    return 0;
  }
  // Show what the file says, so the operator sees which entry to fix.
  const int code = Fail(keys.status());
  absl::StatusOr<SigningKeySetFile> file = SigningKeySetFile::Read(path);
  if (file.ok()) {
    *io_.out << "the set does not load; its entries:\n";
    for (const SigningKeyEntry& e : file->entries()) {
      *io_.out << "  " << e.id << " " << crypto::SigningKeyStateName(e.state)
               << (e.since.has_value() ? absl::StrCat(" since ", FormatUtc(*e.since)) : "")
               << " private_key=" << (e.private_key_path.empty() ? "-" : e.private_key_path)
               << " cert=" << e.cert_path << "\n";
    }
  }
  return code;
}

int SigningKeysCommand::Export(const ParsedArgs& a, const std::string& path) {
  const std::string bundle =
      Setting(a, "rootcertbundle", "REGAUTH_TOKEN_EXPORT_ROOTCERTBUNDLE").value_or("");
  const std::string jwks = Setting(a, "jwks", "REGAUTH_TOKEN_EXPORT_JWKS").value_or("");
  if (bundle.empty() && jwks.empty()) {
    return UsageError("needs --rootcertbundle=F and/or --jwks=F");
  }
  KeyIdStyle style = KeyIdStyle::kJwkThumbprint;
  if (auto it = a.flags.find("kid_style"); it != a.flags.end()) {
    absl::StatusOr<KeyIdStyle> s = crypto::ParseKeyIdStyle(it->second);
    if (!s.ok()) return UsageError("--kid_style must be jwk-thumbprint or libtrust");
    style = *s;
  }
  absl::StatusOr<std::unique_ptr<TokenSigningKeys>> keys =
      TokenSigningKeys::Load(path, {}, clock_.Now());
  if (!keys.ok()) return Fail(keys.status());
  if (absl::Status s = crypto::WriteTokenSigningExports(**keys, bundle, jwks, style); !s.ok()) {
    return Fail(s);
  }
  std::vector<std::string> ids;
  for (const SigningKeyInfo& k : (*keys)->keys()) {
    ids.push_back(absl::StrCat(k.id, " (", std::string(crypto::SigningKeyStateName(k.state)), ")"));
  }
  if (!bundle.empty()) *io_.out << "wrote " << bundle << " (rootcertbundle)\n";
  if (!jwks.empty()) {
    *io_.out << "wrote " << jwks << " (JWKS, kid " << crypto::KeyIdStyleName(style) << ")\n";
  }
  *io_.out << "published keys: " << absl::StrJoin(ids, ", ") << "\n"
           << "Next: deploy to every registry and restart it (Distribution reads these files "
              "only at start-up).\n";
  return 0;
}

}  // namespace

bool IsSigningKeysSubcommand(const std::string& first_arg) { return first_arg == "signing-keys"; }

int RunSigningKeysCommand(const std::vector<std::string>& args, const SigningKeysIo& io) {
  if (args.empty() || !IsSigningKeysSubcommand(args[0])) {
    *io.err << "registry-authd: unknown subcommand\n";
    return 2;
  }
  if (args.size() < 2) {
    *io.err << kUsage;
    return 2;
  }
  if (args[1] == "help" || args[1] == "--help" || args[1] == "-h") {
    *io.out << kUsage;
    return 0;
  }
  SigningKeysCommand command(args[1], io);
  return command.Run(args);
}

}  // namespace registryauth::server
