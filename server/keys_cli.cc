#include "server/keys_cli.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <openssl/rand.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "auth/policy.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/key_file.h"
#include "crypto/keyring.h"
#include "model/model.h"
#include "server/migrate_cli.h"
#include "server/subcommand_args.h"
#include "services/key_usage.h"
#include "services/secret_reencryption.h"
#include "storage/postgres_store.h"
#include "storage/postgres_token_store.h"

namespace registryauth::server {
namespace {

constexpr char kAuditCaller[] = "registry-authd keys";
constexpr size_t kMaxAuditDetail = 512;

constexpr char kKeysUsage[] =
    "usage: registry-authd keys <command> [flags]\n"
    "\n"
    "  generate [--primary=true|false]   add a new random key (id = largest + 1); by default it\n"
    "                                    becomes the primary. Creates the file if missing.\n"
    "  promote ID                        make key ID the primary\n"
    "  usage                             stored secrets per key id\n"
    "  reencrypt [--batch_size=100] [--max_rows=N]\n"
    "                                    move every stored secret under the primary, online,\n"
    "                                    in batches; safe to interrupt and run again\n"
    "  retire ID                         remove key ID from the file (refused while it is the\n"
    "                                    primary or any secret still uses it)\n"
    "\n"
    "flags: --key_file=F (env REGAUTH_KEY_FILE; usage/reencrypt also take REGAUTH_KEYS)\n"
    "       --database_url=DSN (env REGAUTH_DATABASE_URL; required for usage, reencrypt,\n"
    "       retire; optional for generate/promote, which then write an audit row)\n"
    "After changing the file, send SIGHUP to every server so it reloads the key ring.\n"
    "Exit codes: 0 done, 1 failed or refused, 2 usage error.\n";

constexpr char kApiKeyUsage[] =
    "usage: registry-authd apikey\n"
    "Prints a new API key (first line; hand it to the caller, it is not stored anywhere) and\n"
    "the line for that caller's entry in the policy file (second line; only the hash).\n";

// ---- Arguments (server/subcommand_args.h parses them) ------------------------------------------

absl::StatusOr<uint32_t> ParseKeyId(const std::string& text) {
  uint64_t id = 0;
  if (text.empty() || text.size() > 10 ||
      text.find_first_not_of("0123456789") != std::string::npos || !absl::SimpleAtoi(text, &id) ||
      id == 0 || id > 0xffffffffULL) {
    return absl::InvalidArgumentError("ID must be a key id, a number in 1..4294967295");
  }
  return static_cast<uint32_t>(id);
}

absl::StatusOr<int64_t> ParseCountFlag(const std::string& name, const std::string& value,
                                       int64_t min, int64_t max) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < min || n > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a number from ", min, " to ", max));
  }
  return n;
}

// ---- The run --------------------------------------------------------------------------------

// "local:<user>" for the audit row's peer.
std::string LocalPeer() {
  const struct passwd* pw = ::getpwuid(::geteuid());
  if (pw != nullptr && pw->pw_name != nullptr) return absl::StrCat("local:", pw->pw_name);
  return absl::StrCat("local:uid ", ::geteuid());
}

// One id per run, so the rows of one command can be found together.
std::string NewRequestId() {
  unsigned char random[8];
  if (RAND_bytes(random, sizeof(random)) != 1) return "keys-cli";
  std::string id = "keys-";
  for (unsigned char b : random) absl::StrAppend(&id, absl::Hex(b, absl::kZeroPad2));
  return id;
}

std::string OutcomeOf(const absl::Status& status) {
  return status.ok() ? "OK" : absl::StatusCodeToString(status.code());
}

class KeysCommand {
 public:
  KeysCommand(std::string command, const SubcommandIo& io)
      : command_(std::move(command)), io_(io) {}

  int Run(const std::vector<std::string>& args);

 private:
  int Generate(const ParsedArgs& a);
  int Promote(const ParsedArgs& a);
  int Usage(const ParsedArgs& a);
  int Reencrypt(const ParsedArgs& a);
  int Retire(const ParsedArgs& a);

  // Exit 2 with the message and the usage text.
  int UsageError(absl::string_view message) {
    *io_.err << "registry-authd keys " << command_ << ": " << message << "\n\n" << kKeysUsage;
    return 2;
  }
  // Exit 1 with the message.
  int Fail(const absl::Status& status) {
    *io_.err << "registry-authd keys " << command_ << ": " << status.message() << "\n";
    return 1;
  }

  std::optional<std::string> Setting(const ParsedArgs& a, const char* flag, const char* env) const;
  // --key_file / REGAUTH_KEY_FILE.
  std::optional<std::string> KeyFilePath(const ParsedArgs& a) const {
    return Setting(a, "key_file", "REGAUTH_KEY_FILE");
  }
  // Opens the store of --database_url / REGAUTH_DATABASE_URL and checks that it answers.
  absl::Status OpenStore(const std::string& dsn);
  // REGAUTH_KEYS, if set.
  std::optional<std::string> KeysText() const {
    if (!io_.env) return std::nullopt;
    std::optional<std::string> v = io_.env("REGAUTH_KEYS");
    if (v.has_value() && v->empty()) return std::nullopt;
    return v;
  }
  bool HasKeySource(const ParsedArgs& a) const {
    return KeyFilePath(a).has_value() || KeysText().has_value();
  }
  // The key ring to read with: the key file, else REGAUTH_KEYS (check HasKeySource first).
  absl::StatusOr<std::unique_ptr<crypto::KeyRing>> LoadRing(const ParsedArgs& a) const;
  // Appends the audit row for this command (needs OpenStore first).
  absl::Status Audit(std::string_view action, uint32_t key_id, const absl::Status& outcome,
                     std::string detail);
  // Audit, and on failure say so (the operation itself is done) and turn `code` into 1.
  int AuditAndExit(std::string_view action, uint32_t key_id, const absl::Status& outcome,
                   std::string detail, int code);

  const std::string command_;
  const SubcommandIo& io_;
  // Rows per key id: stored secrets (ciphertexts) and token hashes (crypto/secret_hasher.h).
  absl::StatusOr<services::KeyUsage> CountKeyUse() {
    return services::KeyUsage::Read(*store_, *token_store_);
  }

  std::unique_ptr<storage::RegistryStore> store_;
  std::unique_ptr<storage::TokenStore> token_store_;
  RealClock clock_;
  const std::string request_id_ = NewRequestId();
};

std::optional<std::string> KeysCommand::Setting(const ParsedArgs& a, const char* flag,
                                                const char* env) const {
  auto it = a.flags.find(flag);
  if (it != a.flags.end() && !it->second.empty()) return it->second;
  if (io_.env) {
    std::optional<std::string> v = io_.env(env);
    if (v.has_value() && !v->empty()) return v;
  }
  return std::nullopt;
}

absl::Status KeysCommand::OpenStore(const std::string& dsn) {
  absl::StatusOr<std::unique_ptr<storage::RegistryStore>> store;
  if (io_.open_store) {
    store = io_.open_store(dsn);
  } else {
    storage::PostgresOptions options;
    options.dsn = dsn;
    options.pool_size = 2;
    absl::StatusOr<std::unique_ptr<storage::PostgresRegistryStore>> pg =
        storage::PostgresRegistryStore::Create(options);
    if (pg.ok()) {
      store = std::unique_ptr<storage::RegistryStore>(*std::move(pg));
    } else {
      store = pg.status();
    }
  }
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("database_url: ", store.status().message()));
  }
  store_ = *std::move(store);
  absl::Status ping = store_->Ping();
  if (!ping.ok()) {
    store_.reset();
    return absl::Status(ping.code(), absl::StrCat("database: ", ping.message()));
  }
  absl::StatusOr<std::unique_ptr<storage::TokenStore>> tokens;
  if (io_.open_token_store) {
    tokens = io_.open_token_store(dsn);
  } else {
    storage::PostgresOptions options;
    options.dsn = dsn;
    options.pool_size = 1;
    absl::StatusOr<std::unique_ptr<storage::PostgresTokenStore>> pg =
        storage::PostgresTokenStore::Create(options);
    if (pg.ok()) {
      tokens = std::unique_ptr<storage::TokenStore>(*std::move(pg));
    } else {
      tokens = pg.status();
    }
  }
  if (!tokens.ok()) {
    return absl::Status(tokens.status().code(),
                        absl::StrCat("database_url: ", tokens.status().message()));
  }
  token_store_ = *std::move(tokens);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<crypto::KeyRing>> KeysCommand::LoadRing(const ParsedArgs& a) const {
  if (std::optional<std::string> path = KeyFilePath(a)) return crypto::KeyRing::LoadFile(*path);
  std::optional<std::string> text = KeysText();
  if (!text.has_value()) return absl::InvalidArgumentError("no key file and no REGAUTH_KEYS");
  SecretString keys(*text);
  WipeString(*text);
  return crypto::KeyRing::Parse(keys.view());
}

absl::Status KeysCommand::Audit(std::string_view action, uint32_t key_id,
                                const absl::Status& outcome, std::string detail) {
  AuditEvent e;
  e.time = clock_.Now();
  e.caller = kAuditCaller;
  e.action = std::string(action);
  e.resource = absl::StrCat("keys/", key_id);
  e.outcome = OutcomeOf(outcome);
  if (!outcome.ok()) {
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", outcome.message());
  }
  if (detail.size() > kMaxAuditDetail) detail.resize(kMaxAuditDetail);
  e.detail = std::move(detail);
  e.request_id = request_id_;
  e.peer = LocalPeer();
  return store_->AppendAuditEvent(e).status();
}

int KeysCommand::AuditAndExit(std::string_view action, uint32_t key_id, const absl::Status& outcome,
                              std::string detail, int code) {
  if (store_ == nullptr) return code;
  absl::Status s = Audit(action, key_id, outcome, std::move(detail));
  if (!s.ok()) {
    *io_.err << "registry-authd keys " << command_
             << ": the audit record could not be written (the operation itself "
             << (outcome.ok() ? "was done" : "was not") << "): " << s.message() << "\n";
    return 1;
  }
  return code;
}

int KeysCommand::Run(const std::vector<std::string>& args) {
  static const std::map<std::string, std::set<std::string>> kFlags = {
      {"generate", {"key_file", "database_url", "primary"}},
      {"promote", {"key_file", "database_url"}},
      {"usage", {"key_file", "database_url"}},
      {"reencrypt", {"key_file", "database_url", "batch_size", "max_rows"}},
      {"retire", {"key_file", "database_url"}},
  };
  const auto allowed = kFlags.find(command_);
  if (allowed == kFlags.end())
    return UsageError(absl::StrCat("unknown command \"", command_, "\""));
  absl::StatusOr<ParsedArgs> parsed = ParseSubcommandArgs(args, 2, allowed->second);
  if (!parsed.ok()) return UsageError(parsed.status().message());
  const size_t want_positional = (command_ == "promote" || command_ == "retire") ? 1 : 0;
  if (parsed->positional.size() != want_positional) {
    return UsageError(want_positional == 1 ? "needs exactly one key ID"
                                           : "takes no positional arguments");
  }
  if (command_ == "generate") return Generate(*parsed);
  if (command_ == "promote") return Promote(*parsed);
  if (command_ == "usage") return Usage(*parsed);
  if (command_ == "reencrypt") return Reencrypt(*parsed);
  return Retire(*parsed);
}

int KeysCommand::Generate(const ParsedArgs& a) {
  const std::optional<std::string> path = KeyFilePath(a);
  if (!path) return UsageError("needs --key_file (or REGAUTH_KEY_FILE)");
  bool primary = true;
  if (auto it = a.flags.find("primary"); it != a.flags.end()) {
    absl::StatusOr<bool> b = ParseBoolFlag("primary", it->second);
    if (!b.ok()) return UsageError(b.status().message());
    primary = *b;
  }
  if (std::optional<std::string> dsn = Setting(a, "database_url", "REGAUTH_DATABASE_URL")) {
    if (absl::Status s = OpenStore(*dsn); !s.ok()) return Fail(s);
  }

  absl::StatusOr<crypto::KeyFile> file = crypto::KeyFile::Read(*path);
  uint32_t id = 0;
  bool created = false;
  if (absl::IsNotFound(file.status())) {
    file = crypto::KeyFile::New();  // a first key is always the primary
    if (!file.ok()) return Fail(file.status());
    id = file->primary_id();
    created = true;
  } else if (!file.ok()) {
    return Fail(file.status());
  } else {
    absl::StatusOr<uint32_t> added = file->AddGeneratedKey(primary);
    if (!added.ok()) return Fail(added.status());
    id = *added;
  }
  if (absl::Status s = file->Write(*path); !s.ok()) return Fail(s);
  const bool is_primary = file->primary_id() == id;
  *io_.out << (created ? "created " : "updated ") << *path << ": added key " << id
           << (is_primary ? " (primary)"
                          : absl::StrCat(" (primary stays ", file->primary_id(), ")"))
           << "\n"
           << "keys: " << absl::StrJoin(file->key_ids(), ", ") << "\n"
           << "Next: send SIGHUP to every registry-authd using this file"
           << (is_primary ? "" : absl::StrCat(", then `registry-authd keys promote ", id, "`"))
           << ".\n";
  return AuditAndExit("KeyGenerate", id, absl::OkStatus(),
                      absl::StrCat("primary=", file->primary_id(), created ? " new_file" : ""), 0);
}

int KeysCommand::Promote(const ParsedArgs& a) {
  absl::StatusOr<uint32_t> id = ParseKeyId(a.positional[0]);
  if (!id.ok()) return UsageError(id.status().message());
  const std::optional<std::string> path = KeyFilePath(a);
  if (!path) return UsageError("needs --key_file (or REGAUTH_KEY_FILE)");
  if (std::optional<std::string> dsn = Setting(a, "database_url", "REGAUTH_DATABASE_URL")) {
    if (absl::Status s = OpenStore(*dsn); !s.ok()) return Fail(s);
  }
  absl::StatusOr<crypto::KeyFile> file = crypto::KeyFile::Read(*path);
  if (!file.ok()) return Fail(file.status());
  const uint32_t previous = file->primary_id();
  if (absl::Status s = file->Promote(*id); !s.ok()) {
    return AuditAndExit("KeyPromote", *id, s, "", Fail(s));
  }
  if (previous != *id) {
    if (absl::Status s = file->Write(*path); !s.ok()) return Fail(s);
  }
  *io_.out << *path << ": primary key " << *id
           << (previous == *id ? " (unchanged)" : absl::StrCat(" (was ", previous, ")")) << "\n"
           << "Next: send SIGHUP to every registry-authd using this file, then "
           << "`registry-authd keys reencrypt`.\n";
  return AuditAndExit("KeyPromote", *id, absl::OkStatus(),
                      absl::StrCat("previous_primary=", previous), 0);
}

int KeysCommand::Usage(const ParsedArgs& a) {
  const std::optional<std::string> dsn = Setting(a, "database_url", "REGAUTH_DATABASE_URL");
  if (!dsn) return UsageError("needs --database_url (or REGAUTH_DATABASE_URL)");
  if (!HasKeySource(a)) return UsageError("needs --key_file (or REGAUTH_KEY_FILE / REGAUTH_KEYS)");
  absl::StatusOr<std::unique_ptr<crypto::KeyRing>> ring = LoadRing(a);
  if (!ring.ok()) return Fail(ring.status());
  if (absl::Status s = OpenStore(*dsn); !s.ok()) return Fail(s);
  absl::StatusOr<services::KeyUsage> counts = CountKeyUse();
  if (!counts.ok()) return Fail(counts.status());

  std::map<uint32_t, services::KeyUseCount> rows = counts->counts();
  for (uint32_t id : (*ring)->key_ids()) rows.emplace(id, services::KeyUseCount{});  // 0: unused
  const std::vector<uint32_t> ids = (*ring)->key_ids();
  int64_t unreadable = 0;
  *io_.out << absl::StrFormat("%-10s %10s %12s  %s\n", "KEY", "SECRETS", "TOKEN_HASHES", "NOTE");
  for (const auto& [id, n] : rows) {
    std::string note;
    if (id == (*ring)->primary_key_id()) {
      note = "primary";
    } else if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
      note = "NOT IN THE KEY RING: these secrets cannot be decrypted, nor these tokens verified";
      unreadable += n.secrets + n.hashes;
    } else if (n.secrets == 0 && n.hashes == 0) {
      note = "unused: may be retired";
    } else if (n.secrets == 0) {
      note =
          "token hashes only: regenerate those service-account secrets, or let the tokens "
          "expire";
    }
    *io_.out << absl::StrFormat("%-10d %10d %12d  %s\n", id, n.secrets, n.hashes, note);
  }
  if (unreadable > 0) {
    *io_.err << "registry-authd keys usage: " << unreadable
             << " secrets are under keys missing from the key ring\n";
  }
  absl::StatusOr<int64_t> unbound = store_->CountSecretsUnderOldAssociatedData();
  if (!unbound.ok()) return Fail(unbound.status());
  if (*unbound > 0) {
    *io_.out << *unbound
             << " secrets are not yet bound to their endpoint (written before schema v8): run "
                "`registry-authd keys reencrypt` once every replica runs this release\n";
  }
  return 0;
}

int KeysCommand::Reencrypt(const ParsedArgs& a) {
  services::ReencryptionOptions options;
  if (auto it = a.flags.find("batch_size"); it != a.flags.end()) {
    absl::StatusOr<int64_t> n = ParseCountFlag("batch_size", it->second, 1, 1000);
    if (!n.ok()) return UsageError(n.status().message());
    options.batch_size = static_cast<int>(*n);
  }
  if (auto it = a.flags.find("max_rows"); it != a.flags.end()) {
    absl::StatusOr<int64_t> n = ParseCountFlag("max_rows", it->second, 1, int64_t{1} << 62);
    if (!n.ok()) return UsageError(n.status().message());
    options.max_rows = *n;
  }
  const std::optional<std::string> dsn = Setting(a, "database_url", "REGAUTH_DATABASE_URL");
  if (!dsn) return UsageError("needs --database_url (or REGAUTH_DATABASE_URL)");
  if (!HasKeySource(a)) return UsageError("needs --key_file (or REGAUTH_KEY_FILE / REGAUTH_KEYS)");
  absl::StatusOr<std::unique_ptr<crypto::KeyRing>> ring = LoadRing(a);
  if (!ring.ok()) return Fail(ring.status());
  if (absl::Status s = OpenStore(*dsn); !s.ok()) return Fail(s);

  const uint32_t primary = (*ring)->primary_key_id();
  *io_.out << "re-encrypting stored secrets under key " << primary << " (batches of "
           << options.batch_size << ")\n"
           << "(every server must already have reloaded a key file with key " << primary
           << "; one that has not cannot read the re-encrypted secrets until it does)\n";
  services::ReencryptionReport report = services::ReencryptSecrets(
      *store_, **ring, options, [&](const services::ReencryptionReport& so_far) {
        *io_.out << "batch " << so_far.batches << ": " << so_far.rewritten << " rewritten, "
                 << so_far.raced << " raced, " << so_far.skipped << " skipped so far\n";
        io_.out->flush();
      });
  const std::string counts =
      absl::StrCat("rewritten=", report.rewritten, " raced=", report.raced,
                   " skipped=", report.skipped, " finished=", report.finished ? "true" : "false");
  *io_.out << "summary: " << report.rewritten << " rewritten, " << report.raced
           << " raced (changed meanwhile; a row still under an old key is retried), "
           << report.skipped << " skipped\n";
  for (const std::string& row : report.skipped_rows) {
    *io_.out << "skipped (does not decrypt): " << row << "\n";
  }
  int code = 0;
  if (!report.status.ok()) {
    code = Fail(report.status);
  } else if (!report.finished) {
    *io_.out << "stopped after --max_rows=" << options.max_rows
             << "; run again to continue (it picks up where this run stopped)\n";
  } else if (report.skipped > 0) {
    *io_.err << "registry-authd keys reencrypt: " << report.skipped
             << " secrets could not be re-encrypted (listed above); their keys cannot be "
                "retired until they are fixed or deleted\n";
    code = 1;
  } else {
    *io_.out << "done: every stored secret is under key " << primary << "\n";
  }
  return AuditAndExit("KeyReencrypt", primary, report.status, counts, code);
}

int KeysCommand::Retire(const ParsedArgs& a) {
  absl::StatusOr<uint32_t> id = ParseKeyId(a.positional[0]);
  if (!id.ok()) return UsageError(id.status().message());
  const std::optional<std::string> path = KeyFilePath(a);
  if (!path) return UsageError("needs --key_file (or REGAUTH_KEY_FILE)");
  const std::optional<std::string> dsn = Setting(a, "database_url", "REGAUTH_DATABASE_URL");
  if (!dsn) {
    return UsageError(
        "needs --database_url (or REGAUTH_DATABASE_URL): retiring a key needs "
        "the database's word that no secret uses it");
  }
  if (absl::Status s = OpenStore(*dsn); !s.ok()) return Fail(s);
  absl::StatusOr<crypto::KeyFile> file = crypto::KeyFile::Read(*path);
  if (!file.ok()) return Fail(file.status());

  absl::Status refused;
  if (!file->Contains(*id)) {
    refused = absl::NotFoundError(absl::StrCat("key ", *id, " is not in ", *path));
  } else if (file->primary_id() == *id) {
    refused = absl::FailedPreconditionError(
        absl::StrCat("key ", *id,
                     " is the primary key; generate or promote another key, reload, and "
                     "re-encrypt first"));
  } else {
    absl::StatusOr<services::KeyUsage> counts = CountKeyUse();
    if (!counts.ok()) return Fail(counts.status());
    refused = counts->CheckUnused(*id);
  }
  if (!refused.ok()) return AuditAndExit("KeyRetire", *id, refused, "", Fail(refused));

  if (absl::Status s = file->Remove(*id); !s.ok()) return Fail(s);
  if (absl::Status s = file->Write(*path); !s.ok()) return Fail(s);
  *io_.out << *path << ": key " << *id
           << " retired; keys left: " << absl::StrJoin(file->key_ids(), ", ") << " (primary "
           << file->primary_id() << ")\n"
           << "Next: send SIGHUP to every registry-authd using this file.\n";
  return AuditAndExit("KeyRetire", *id, absl::OkStatus(),
                      absl::StrCat("keys_left=", absl::StrJoin(file->key_ids(), ",")), 0);
}

int RunApiKey(const std::vector<std::string>& args, const SubcommandIo& io) {
  if (args.size() > 1) {
    if (args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
      *io.out << kApiKeyUsage;
      return 0;
    }
    *io.err << "registry-authd apikey: takes no arguments\n\n" << kApiKeyUsage;
    return 2;
  }
  absl::StatusOr<SecretString> key = auth::GenerateApiKey();
  if (!key.ok()) {
    *io.err << "registry-authd apikey: " << key.status().message() << "\n";
    return 1;
  }
  // stdout is where the key is meant to go (a pipe or the operator's terminal); nothing logs it.
  *io.out << key->view() << "\n"
          << "api_key " << auth::HashApiKey(key->view()) << "\n";
  *io.err << "The first line is the key: hand it to the caller (it is not stored anywhere). "
             "Put the second line into the caller's entry in the policy file, then SIGHUP.\n";
  return 0;
}

}  // namespace

bool IsSubcommand(const std::string& first_arg) {
  return first_arg == "keys" || first_arg == "apikey" || first_arg == "migrate";
}

int RunSubcommand(const std::vector<std::string>& args, const SubcommandIo& io) {
  if (args.empty() || !IsSubcommand(args[0])) {
    *io.err << "registry-authd: unknown subcommand\n";
    return 2;
  }
  if (args[0] == "apikey") return RunApiKey(args, io);
  if (args[0] == "migrate") return RunMigrateCommand(args, MigrateIo{io.out, io.err, io.env});
  if (args.size() < 2) {
    *io.err << kKeysUsage;
    return 2;
  }
  if (args[1] == "help" || args[1] == "--help" || args[1] == "-h") {
    *io.out << kKeysUsage;
    return 0;
  }
  KeysCommand command(args[1], io);
  return command.Run(args);
}

}  // namespace registryauth::server
