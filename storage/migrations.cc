#include "storage/migrations.h"

#include <openssl/evp.h>

#include <exception>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "pqxx/transaction"
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

}  // namespace

std::string MigrationChecksum(std::string_view sql) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(sql.data(), sql.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return "";
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), length));
}

absl::Status ApplyMigrations(pqxx::connection& conn, const std::vector<Migration>& migrations) {
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
    }
  } catch (const std::exception& e) {
    absl::Status status =
        StatusFromDbException(e, current == nullptr ? "prepare schema_migrations"
                                                    : absl::StrCat("apply migration ",
                                                                   current->version, "_",
                                                                   std::string(current->name)));
    return status;
  }
  return absl::OkStatus();
}

}  // namespace registryauth::storage
