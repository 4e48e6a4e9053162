// Raw SQL for tests above storage/ that must set up or inspect a database in ways the stores'
// API does not offer (edit schema_migrations, count rows), without including libpqxx themselves.
//
//   ASSERT_TRUE(RunSqlForTest(dsn, "UPDATE schema_migrations SET checksum = 'x'").ok());
//   absl::StatusOr<std::string> n = RunSqlForTest(dsn, "SELECT count(*) FROM apps");
//
// Test-only; thread-safe (each call opens its own connection).
#ifndef REGISTRY_AUTH_STORAGE_TESTING_RAW_SQL_H_
#define REGISTRY_AUTH_STORAGE_TESTING_RAW_SQL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace registryauth::storage::testing {

// Runs `sql` in one committed transaction on the database `dsn` names and returns the first
// column of the first row as text ("" when the statement returns no row or a NULL).
absl::StatusOr<std::string> RunSqlForTest(std::string_view dsn, std::string_view sql);

}  // namespace registryauth::storage::testing

#endif  // REGISTRY_AUTH_STORAGE_TESTING_RAW_SQL_H_
