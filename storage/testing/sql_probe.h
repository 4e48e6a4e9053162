// Raw SQL for tests above storage/, so libpqxx stays inside storage/: QueryRows/QueryColumn
// look at what the server stored (a secret stored as ciphertext only, refused requests changed
// no row, each acknowledged call left exactly one audit row); ExecuteSql sets a database up in
// ways the stores' API does not offer (edit schema_migrations). Test-only.
//
//   absl::StatusOr<SqlRows> rows = QueryRows(db->dsn(),
//       "SELECT encode(secret_ciphertext, 'hex') FROM registry_configs WHERE id = $1", {"gh"});
//   ASSERT_TRUE(rows.ok()) << rows.status();
//   for (const std::vector<std::string>& row : *rows) ...  // every value as text, NULL as ""
//
//   ASSERT_TRUE(ExecuteSql(dsn, "UPDATE schema_migrations SET checksum = 'x'").ok());
//
// Each call opens its own connection and runs the statement in one transaction: rolled back
// for the queries (they never change anything they read), committed for ExecuteSql.
// Thread-safe.
#ifndef REGISTRY_AUTH_STORAGE_TESTING_SQL_PROBE_H_
#define REGISTRY_AUTH_STORAGE_TESTING_SQL_PROBE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace registryauth::testing {

using SqlRows = std::vector<std::vector<std::string>>;

// Every row of `sql` ($1, $2, ... bound to `params`), each value as text (NULL as "").
// The database's errors come back as a Status (storage/pq_status.h).
absl::StatusOr<SqlRows> QueryRows(const std::string& dsn, const std::string& sql,
                                  const std::vector<std::string>& params = {});

// The first column of every row of `sql` (see QueryRows).
absl::StatusOr<std::vector<std::string>> QueryColumn(const std::string& dsn, const std::string& sql,
                                                     const std::vector<std::string>& params = {});

// Runs `sql` in one committed transaction; returns the first column of the first row as text
// ("" when the statement returns no row, or a NULL).
absl::StatusOr<std::string> ExecuteSql(const std::string& dsn, const std::string& sql);

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_STORAGE_TESTING_SQL_PROBE_H_
