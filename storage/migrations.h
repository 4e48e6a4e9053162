// Schema migrations of the Postgres store.
//
// The SQL files in storage/migrations/ (NNNN_name.sql) are compiled into the binary by a genrule
// (EmbeddedMigrations()). ApplyMigrations brings a database up to date:
// - each pending migration runs in its own transaction together with its row in
//   `schema_migrations(version, name, checksum, applied_at)`;
// - every transaction first takes pg_advisory_xact_lock(kMigrationLockKey), so replicas starting
//   at once apply each migration exactly once (the others wait, then see it applied);
// - applied versions are skipped; an applied version whose SQL changed since (checksum
//   mismatch) is FAILED_PRECONDITION and nothing further is applied;
// - versions the database has but the binary does not know (a newer release ran) are left alone.
//
//   pqxx::connection conn(dsn);
//   RETURN_IF_ERROR(ApplyMigrations(conn));
//
// Thread-safe in the sense that concurrent callers on different connections are serialised by
// the advisory lock; one connection must not be used by two threads at once (libpq rule).
// Errors: UNAVAILABLE (database unreachable), FAILED_PRECONDITION (checksum mismatch, bad
// migration list), INTERNAL (a migration failed; the message names it, never echoes data).
#ifndef REGISTRY_AUTH_STORAGE_MIGRATIONS_H_
#define REGISTRY_AUTH_STORAGE_MIGRATIONS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pqxx/connection"

namespace registryauth::storage {

struct Migration {
  int64_t version;        // from the NNNN prefix of the file name
  std::string_view name;  // the rest of the file name, without ".sql"
  std::string_view sql;   // file contents, may hold several statements
};

// Key of the advisory lock that serialises migrations across processes.
inline constexpr int64_t kMigrationLockKey = 0x7265676175746831;  // "regauth1"

// The migrations compiled into this binary, ordered by version.
const std::vector<Migration>& EmbeddedMigrations();

// Hex SHA-256 of a migration's SQL, as recorded in schema_migrations.checksum.
std::string MigrationChecksum(std::string_view sql);

// Applies `migrations` (strictly increasing versions) that `conn`'s database lacks.
absl::Status ApplyMigrations(pqxx::connection& conn,
                             const std::vector<Migration>& migrations = EmbeddedMigrations());

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_MIGRATIONS_H_
