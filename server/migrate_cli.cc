#include "server/migrate_cli.h"

#include <libpq-fe.h>

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "pqxx/connection"
#include "pqxx/except"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "pqxx/transaction"
#include "server/subcommand_args.h"
#include "storage/conninfo.h"
#include "storage/migrations.h"
#include "storage/pq_status.h"

namespace registryauth::server {
namespace {

constexpr char kUsage[] =
    "usage: registry-authd migrate [--database_url=DSN]\n"
    "Applies the schema migrations this binary carries to the database and exits, for servers\n"
    "run with --migrate=false. Safe to run again and beside running servers (advisory lock).\n"
    "flags: --database_url=DSN (env REGAUTH_DATABASE_URL)\n"
    "Exit codes: 0 the schema is current, 1 failed, 2 usage error.\n";

// Applied versions and their names.
using Applied = std::map<int64_t, std::string>;

struct PasswordDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

// The password the DSN carries, if any (to keep it out of messages).
std::optional<std::string> DsnPassword(const std::string& dsn) {
  char* errmsg = nullptr;
  std::unique_ptr<PQconninfoOption, PasswordDeleter> parsed(PQconninfoParse(dsn.c_str(), &errmsg));
  if (errmsg != nullptr) PQfreemem(errmsg);
  if (parsed == nullptr) return std::nullopt;
  for (PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
    if (std::string(o->keyword) == "password" && o->val != nullptr && o->val[0] != '\0') {
      return std::string(o->val);
    }
  }
  return std::nullopt;
}

// libpq's reason for a failed connection on one line, without the password. libpq does not
// echo passwords in connection errors; this is the second belt.
std::string ConnectReason(const std::exception& e, const std::optional<std::string>& password) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(e.what(), '\n', absl::SkipWhitespace())) {
    lines.emplace_back(absl::StripAsciiWhitespace(line));
  }
  std::string reason = absl::StrJoin(lines, "; ");
  if (password.has_value()) reason = absl::StrReplaceAll(reason, {{*password, "<password>"}});
  return reason;
}

absl::StatusOr<Applied> ReadApplied(pqxx::connection& conn) {
  try {
    pqxx::nontransaction txn(conn);
    Applied applied;
    if (txn.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>()) {
      pqxx::result rows = txn.exec("SELECT version, name FROM schema_migrations");
      for (pqxx::result::size_type i = 0; i < rows.size(); ++i) {
        applied[rows[i][0].as<int64_t>()] = rows[i][1].as<std::string>();
      }
    }
    return applied;
  } catch (const std::exception& e) {
    return storage::StatusFromDbException(e, "read schema_migrations");
  }
}

std::string Label(int64_t version, const std::string& name) {
  std::string digits = absl::StrCat(version);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return absl::StrCat(digits, "_", name);
}

}  // namespace

int RunMigrateCommand(const std::vector<std::string>& args, const MigrateIo& io) {
  auto usage_error = [&](absl::string_view message) {
    *io.err << "registry-authd migrate: " << message << "\n\n" << kUsage;
    return 2;
  };
  auto fail = [&](absl::string_view message) {
    *io.err << "registry-authd migrate: " << message << "\n";
    return 1;
  };
  absl::StatusOr<ParsedArgs> parsed = ParseSubcommandArgs(args, 1, {"database_url", "help"});
  if (!parsed.ok()) return usage_error(parsed.status().message());
  if (parsed->flags.count("help") != 0 ||
      (parsed->positional.size() == 1 && parsed->positional[0] == "help")) {
    *io.out << kUsage;
    return 0;
  }
  if (!parsed->positional.empty()) {
    return usage_error(absl::StrCat("unexpected argument \"", parsed->positional[0], "\""));
  }
  std::string dsn;
  if (auto it = parsed->flags.find("database_url"); it != parsed->flags.end()) dsn = it->second;
  if (dsn.empty() && io.env) {
    if (std::optional<std::string> v = io.env("REGAUTH_DATABASE_URL")) dsn = *v;
  }
  if (dsn.empty()) {
    return usage_error("database_url: required (flag --database_url or env REGAUTH_DATABASE_URL)");
  }
  // Normalised first: libpq's own parse errors quote the DSN, RewriteConnInfo's never do.
  absl::StatusOr<std::string> conninfo = storage::RewriteConnInfo(
      dsn, {}, {{"connect_timeout", "10"}, {"application_name", "registry-authd migrate"}});
  if (!conninfo.ok()) return fail(absl::StrCat("database_url: ", conninfo.status().message()));
  const std::optional<std::string> password = DsnPassword(*conninfo);

  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(*conninfo);
  } catch (const std::exception& e) {
    return fail(absl::StrCat("cannot connect to the database: ", ConnectReason(e, password)));
  }
  absl::StatusOr<Applied> before = ReadApplied(*conn);
  if (!before.ok()) return fail(before.status().message());
  absl::Status migrated = storage::ApplyMigrations(*conn);
  // Report what did get applied even when a later migration failed.
  absl::StatusOr<Applied> after = ReadApplied(*conn);
  std::vector<std::string> newly;
  if (after.ok()) {
    for (const auto& [version, name] : *after) {
      if (before->count(version) == 0) newly.push_back(Label(version, name));
    }
  }
  if (!migrated.ok()) {
    std::string message = absl::StrCat("migration failed: ", migrated.message());
    if (!newly.empty()) {
      absl::StrAppend(&message, " (applied before the failure: ", absl::StrJoin(newly, ", "), ")");
    }
    return fail(message);
  }
  if (!after.ok()) return fail(after.status().message());
  if (after->empty()) return fail("no migration recorded after migrating");

  const auto& [version, name] = *after->rbegin();
  std::string line = absl::StrCat("schema at version ", version, " (", Label(version, name), "); ");
  if (newly.empty()) {
    absl::StrAppend(&line, "nothing to apply");
  } else {
    absl::StrAppend(&line, "applied ", newly.size(), " migration(s): ", absl::StrJoin(newly, ", "));
  }
  *io.out << line << "\n";
  const std::vector<storage::Migration>& known = storage::EmbeddedMigrations();
  const int64_t newest_known = known.empty() ? 0 : known.back().version;
  if (version > newest_known) {
    *io.out << "note: the database has migrations up to " << version
            << " that this binary does not know (newest here: " << newest_known
            << "); a newer release has run against it\n";
  }
  return 0;
}

}  // namespace registryauth::server
