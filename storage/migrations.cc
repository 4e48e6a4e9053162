#include "storage/migrations.h"

#include <openssl/evp.h>

#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "pqxx/nontransaction"
#include "pqxx/result"
#include "pqxx/transaction"
#include "storage/conninfo.h"
#include "storage/migrations_pq.h"
#include "storage/pq_status.h"

namespace registryauth::storage {
namespace {

constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version bigint PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

void LockMigrations(pqxx::work& txn) {
  txn.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
}

// libpq's reason for a failed connection on one line, without the DSN's password. libpq does
// not echo passwords in connection errors; this is the second belt.
std::string ConnectReason(const std::exception& e, std::string_view dsn) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(e.what(), '\n', absl::SkipWhitespace())) {
    lines.emplace_back(absl::StripAsciiWhitespace(line));
  }
  std::string reason = absl::StrJoin(lines, "; ");
  if (std::optional<std::string> password = ConnInfoValue(dsn, "password")) {
    reason = absl::StrReplaceAll(reason, {{*password, "<password>"}});
  }
  return reason;
}

}  // namespace

std::string SchemaVersion::Label() const {
  std::string digits = absl::StrCat(version);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return absl::StrCat(digits, "_", name);
}

std::string MigrationChecksum(std::string_view sql) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(sql.data(), sql.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return "";
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

absl::Status ApplyMigrations(pqxx::connection& conn, const std::vector<Migration>& migrations,
                             std::vector<SchemaVersion>* applied_now) {
  for (size_t i = 1; i < migrations.size(); ++i) {
    if (migrations[i].version <= migrations[i - 1].version) {
      return absl::FailedPreconditionError("migration versions are not strictly increasing");
    }
  }
  const Migration* current = nullptr;
  try {
    {
      pqxx::work txn(conn, "schema_migrations");
      LockMigrations(txn);
      txn.exec(kCreateTable);
      txn.commit();
    }
    for (const Migration& m : migrations) {
      current = &m;
      const std::string checksum = MigrationChecksum(m.sql);
      if (checksum.empty()) return absl::InternalError("cannot hash migration");
      pqxx::work txn(conn, "migration");
      LockMigrations(txn);
      pqxx::result applied =
          txn.exec_params("SELECT checksum FROM schema_migrations WHERE version = $1", m.version);
      if (!applied.empty()) {
        if (applied[0][0].as<std::string>() != checksum) {
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", m.version, "_", absl::string_view(m.name.data(), m.name.size()),
              " was applied with different contents (checksum mismatch)"));
        }
        continue;  // txn aborts on scope exit: nothing to do
      }
      txn.exec(std::string(m.sql));
      txn.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                      m.version, std::string(m.name), checksum);
      txn.commit();
      if (applied_now != nullptr) applied_now->push_back({m.version, std::string(m.name)});
    }
  } catch (const std::exception& e) {
    absl::Status status = StatusFromDbException(
        e, current == nullptr ? "prepare schema_migrations"
                              : absl::StrCat("apply migration ", current->version, "_",
                                             std::string(current->name)));
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SchemaVersion>> ReadSchemaVersions(pqxx::connection& conn) {
  try {
    pqxx::nontransaction txn(conn);
    std::vector<SchemaVersion> versions;
    if (txn.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>()) {
      pqxx::result rows = txn.exec("SELECT version, name FROM schema_migrations ORDER BY version");
      for (pqxx::result::size_type i = 0; i < rows.size(); ++i) {
        versions.push_back({rows[i][0].as<int64_t>(), rows[i][1].as<std::string>()});
      }
    }
    return versions;
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "read schema_migrations");
  }
}

absl::StatusOr<MigrationReport> ApplyMigrations(std::string_view dsn,
                                                const std::vector<Migration>& migrations) {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(std::string(dsn));
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the database: ", ConnectReason(e, dsn)));
  }
  MigrationReport report;
  absl::StatusOr<std::vector<SchemaVersion>> before = ReadSchemaVersions(*conn);
  if (!before.ok()) return before.status();
  report.before = *std::move(before);
  report.status = ApplyMigrations(*conn, migrations, &report.applied);
  absl::StatusOr<std::vector<SchemaVersion>> after = ReadSchemaVersions(*conn);
  if (after.ok()) {
    report.after = *std::move(after);
  } else if (report.status.ok()) {
    return after.status();
  }
  return report;
}

}  // namespace registryauth::storage
