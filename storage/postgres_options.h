// Connection settings shared by the PostgreSQL stores (PostgresRegistryStore,
// PostgresTokenStore). Each store keeps its own ConnectionPool of `pool_size` connections, so
// a process that runs both opens up to the sum: size the database's max_connections for it.
//
//   PostgresOptions options;  options.dsn = "host=db.internal dbname=registry_auth";
//   options.pool_size = 4;
#ifndef REGISTRY_AUTH_STORAGE_POSTGRES_OPTIONS_H_
#define REGISTRY_AUTH_STORAGE_POSTGRES_OPTIONS_H_

#include <string>

#include "absl/time/time.h"
#include "storage/pool_observer.h"

namespace registryauth::storage {

struct PostgresOptions {
  std::string dsn;  // libpq keyword/value string or postgresql:// URI; may hold a password
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration acquire_timeout = absl::Seconds(5);
  absl::Duration statement_timeout = absl::Seconds(10);
  // Told about the store's connection pool (metrics); may be null. Not owned; must outlive the
  // store. Each store has its own pool, so give each its own observer.
  PoolObserver* pool_observer = nullptr;
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_POSTGRES_OPTIONS_H_
