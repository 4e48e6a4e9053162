// What the PostgreSQL stores (PostgresRegistryStore, PostgresTokenStore) share: how times
// travel to and from the database, the connection pool set-up, and the edge where libpqxx
// exceptions become absl::Status (WithConnection). Internal to storage/.
//
// Times travel as text in (`$n::timestamptz`, TimeParam) and as bigint microseconds since the
// epoch out (MicrosColumn, TimeFromField), so they are exact to the microsecond; infinite times
// map to INT64_MIN / INT64_MAX.
//
//   return WithConnection(pool, "get app", [&](pqxx::connection& conn) -> absl::StatusOr<App> {
//     pqxx::nontransaction txn(conn);
//     ...
//   });
#ifndef REGISTRY_AUTH_STORAGE_PG_INTERNAL_H_
#define REGISTRY_AUTH_STORAGE_PG_INTERNAL_H_

#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/model.h"
#include "pqxx/connection"
#include "pqxx/field"
#include "pqxx/result"
#include "pqxx/row"
#include "storage/connection_pool.h"
#include "storage/postgres_options.h"
#include "storage/pq_status.h"
#include "storage/store_internal.h"

namespace registryauth::storage::internal {

inline constexpr int64_t kMicrosPast = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMicrosFuture = std::numeric_limits<int64_t>::max();

// SQL expression: `column` in microseconds since the epoch (bigint); NULL stays NULL.
std::string Micros(std::string_view column);

// A time as a timestamptz parameter; sub-microsecond parts are truncated toward the past.
std::string TimeParam(absl::Time t);

// A filter bound for a microsecond column: `column >= t` and `column < t` hold exactly when
// they hold against t rounded up to the next whole microsecond.
std::string BoundParam(absl::Time t);

// A column read through Micros(); must not be NULL.
absl::Time TimeFromField(const pqxx::field& f);

// A prepared statement of a store.
struct Statement {
  const char* name;
  std::string sql;
};

// The pool of a store: `options` plus `on_connect` (which prepares the store's statements).
ConnectionPoolOptions MakePoolOptions(PostgresOptions options,
                                      std::function<void(pqxx::connection&)> on_connect);

template <typename T>
Page<T> PageFromResult(const pqxx::result& result, int page_size, T (*from_row)(const pqxx::row&)) {
  Page<T> page;
  for (const pqxx::row& row : result) {
    if (static_cast<int>(page.items.size()) == page_size) {
      page.has_more = true;
      break;
    }
    page.items.push_back(from_row(row));
  }
  return page;
}

// After a versioned UPDATE/DELETE matched no row: NOT_FOUND if the row is gone, else ABORTED.
template <typename Txn, typename... Key>
absl::Status MissOrStale(Txn& txn, const char* version_statement, absl::Status not_found,
                         std::string_view what, const Key&... key) {
  if (txn.exec_prepared(version_statement, key...).empty()) return not_found;
  return VersionMismatch(what);
}

// Runs `fn(connection)` on a pooled connection; the edge where libpqxx exceptions become Status
// (pq_status.h). A connection that broke is discarded rather than returned to the pool.
template <typename Fn>
auto WithConnection(ConnectionPool& pool, std::string_view operation, Fn&& fn)
    -> decltype(fn(std::declval<pqxx::connection&>())) {
  absl::StatusOr<ConnectionPool::Lease> lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  try {
    return fn(lease->conn());
  } catch (const std::exception& e) {
    if (IsConnectionLost(e)) lease->MarkBroken();
    return StatusFromDbException(e, operation);
  }
}

}  // namespace registryauth::storage::internal

#endif  // REGISTRY_AUTH_STORAGE_PG_INTERNAL_H_
