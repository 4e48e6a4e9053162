#include "server/migrate_cli.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/subcommand_args.h"
#include "storage/conninfo.h"
#include "storage/migrations.h"

namespace registryauth::server {
namespace {

constexpr char kUsage[] =
    "usage: registry-authd migrate [--database_url=DSN]\n"
    "Applies the schema migrations this binary carries to the database and exits, for servers\n"
    "run with --migrate=false. Safe to run again and beside running servers (advisory lock).\n"
    "flags: --database_url=DSN (env REGAUTH_DATABASE_URL)\n"
    "Exit codes: 0 the schema is current, 1 failed, 2 usage error.\n";

std::string Labels(const std::vector<storage::SchemaVersion>& versions) {
  std::vector<std::string> labels;
  for (const storage::SchemaVersion& v : versions) labels.push_back(v.Label());
  return absl::StrJoin(labels, ", ");
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
  absl::StatusOr<storage::MigrationReport> report = storage::ApplyMigrations(*conninfo);
  if (!report.ok()) return fail(report.status().message());
  if (!report->status.ok()) {
    std::string message = absl::StrCat("migration failed: ", report->status.message());
    // Report what did get applied even when a later migration failed.
    if (!report->applied.empty()) {
      absl::StrAppend(&message, " (applied before the failure: ", Labels(report->applied), ")");
    }
    return fail(message);
  }
  if (report->after.empty()) return fail("no migration recorded after migrating");

  const storage::SchemaVersion& newest = report->after.back();
  const int64_t version = newest.version;
  std::string line = absl::StrCat("schema at version ", version, " (", newest.Label(), "); ");
  if (report->applied.empty()) {
    absl::StrAppend(&line, "nothing to apply");
  } else {
    absl::StrAppend(&line, "applied ", report->applied.size(),
                    " migration(s): ", Labels(report->applied));
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
