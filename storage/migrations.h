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
//   ASSIGN_OR_RETURN(MigrationReport report, ApplyMigrations(dsn));
//   RETURN_IF_ERROR(report.status);
//   // report.applied: what this call applied; report.after.back(): the schema's version now.
//
// Callers outside storage/ see no libpq type: the server migrates through
// PostgresRegistryStore::ApplyMigrations, `registry-authd migrate` through this function.
// Thread-safe: concurrent callers (threads or processes) are serialised by the advisory lock.
#ifndef REGISTRY_AUTH_STORAGE_MIGRATIONS_H_
#define REGISTRY_AUTH_STORAGE_MIGRATIONS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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

// One row of schema_migrations: a version the database has.
struct SchemaVersion {
  int64_t version = 0;
  std::string name;

  // "NNNN_name", as the migration's file is called (e.g. "0001_init").
  std::string Label() const;
  bool operator==(const SchemaVersion& other) const {
    return version == other.version && name == other.name;
  }
};

// What one ApplyMigrations call found and did.
struct MigrationReport {
  std::vector<SchemaVersion> before;   // recorded before the call, ascending (empty: fresh db)
  std::vector<SchemaVersion> applied;  // applied by this call, ascending; kept when a later fails
  std::vector<SchemaVersion> after;    // recorded after the call, ascending; may be empty when
                                       // `status` is an error and the table could not be read
  // OK when every migration is in place; otherwise why applying stopped: FAILED_PRECONDITION
  // (checksum mismatch, bad migration list), INTERNAL (a migration failed; the message names it,
  // never echoes data), UNAVAILABLE / ABORTED (the database went away or the transaction lost).
  absl::Status status;
};

// Connects to the database `dsn` names (libpq keyword or URI form) and applies `migrations`
// (strictly increasing versions) that it lacks. The error is the call's own when nothing could
// be attempted or reported: UNAVAILABLE "cannot connect to the database: <libpq's reason>" (the
// DSN's password never appears), or the error of reading schema_migrations. Once migrating has
// begun, its outcome is `report.status`.
absl::StatusOr<MigrationReport> ApplyMigrations(
    std::string_view dsn, const std::vector<Migration>& migrations = EmbeddedMigrations());

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_MIGRATIONS_H_
