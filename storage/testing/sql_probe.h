// Raw SQL for end-to-end tests that must look at what the server stored: that a secret is
// stored as ciphertext only, that refused requests changed no row, that each acknowledged call
// left exactly one audit row. Keeps libpqxx inside storage/. Test-only.
//
//   absl::StatusOr<SqlRows> rows = QueryRows(db->dsn(),
//       "SELECT encode(secret_ciphertext, 'hex') FROM registry_configs WHERE id = $1", {"gh"});
//   ASSERT_TRUE(rows.ok()) << rows.status();
//   for (const std::vector<std::string>& row : *rows) ...  // every value as text, NULL as ""
//
// Each call opens its own connection and runs the statement in one transaction (rolled back:
// the probe never changes anything it reads). Thread-safe.
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
absl::StatusOr<std::vector<std::string>> QueryColumn(const std::string& dsn,
                                                     const std::string& sql,
                                                     const std::vector<std::string>& params = {});

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_STORAGE_TESTING_SQL_PROBE_H_
