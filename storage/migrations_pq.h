// Migrating over a connection the caller holds: storage/'s own entry (the Postgres store applies
// migrations on a pooled connection) beside the DSN form in migrations.h. Private to storage/:
// nothing outside it sees a libpqxx type.
//
//   RETURN_IF_ERROR(ApplyMigrations(conn));
//
// Same rules and errors as migrations.h; one connection must not be used by two threads at once
// (libpq rule).
#ifndef REGISTRY_AUTH_STORAGE_MIGRATIONS_PQ_H_
#define REGISTRY_AUTH_STORAGE_MIGRATIONS_PQ_H_

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pqxx/connection"
#include "storage/migrations.h"

namespace registryauth::storage {

// Applies `migrations` that `conn`'s database lacks; appends each one it applies to `applied`
// (when not null), so a caller learns what got in before a failure.
absl::Status ApplyMigrations(pqxx::connection& conn,
                             const std::vector<Migration>& migrations = EmbeddedMigrations(),
                             std::vector<SchemaVersion>* applied = nullptr);

// The rows of schema_migrations, ascending by version; empty when the table does not exist.
absl::StatusOr<std::vector<SchemaVersion>> ReadSchemaVersions(pqxx::connection& conn);

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_MIGRATIONS_PQ_H_
