// A fixed-size pool of libpqxx connections to one PostgreSQL database.
//
// Connections are opened lazily, on the first Acquire that finds no idle one, so creating the
// pool never touches the network and a pool made while the database is down works once it is
// back. Every connection gets libpq's connect_timeout, TCP keepalives and a session
// statement_timeout. A lease whose connection broke (MarkBroken, or found closed on return) is
// discarded together with the idle connections (a database restart breaks them all), and the
// next Acquire opens a fresh one: the pool heals itself after an outage, failing at most the
// call that discovered it.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<ConnectionPool> pool, ConnectionPool::Create(options));
//   ASSIGN_OR_RETURN(ConnectionPool::Lease lease, pool->Acquire());
//   pqxx::work txn(lease.conn());
//
// Thread-safe. A Lease (and its connection) belongs to one thread at a time and must be
// destroyed before the pool.
#ifndef REGISTRY_AUTH_STORAGE_CONNECTION_POOL_H_
#define REGISTRY_AUTH_STORAGE_CONNECTION_POOL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/connection"
#include "storage/pool_observer.h"

namespace registryauth::storage {

struct ConnectionPoolOptions {
  // libpq keyword/value string or postgresql:// URI. Keys the pool sets itself
  // (connect_timeout, keepalives*, application_name) are kept when the DSN sets them.
  std::string dsn;
  int size = 8;                                          // at most this many connections
  absl::Duration connect_timeout = absl::Seconds(3);     // per connection attempt (libpq >= 2s)
  absl::Duration acquire_timeout = absl::Seconds(5);     // waiting for a free connection
  absl::Duration statement_timeout = absl::Seconds(10);  // server-side, per statement
  // Runs on every new connection before first use, e.g. to prepare statements. May throw
  // libpqxx exceptions (the connection is then discarded and Acquire fails).
  std::function<void(pqxx::connection&)> on_connect;
  // Told about the pool's counts and failures (metrics); may be null. Must outlive the pool.
  PoolObserver* observer = nullptr;
};

class ConnectionPool {
 public:
  // Exclusive use of one pooled connection; returns it to the pool when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    pqxx::connection& conn() { return *conn_; }
    // The connection failed (e.g. broken_connection): discard it instead of reusing it.
    void MarkBroken() { broken_ = true; }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    void Release();

    ConnectionPool* pool_ = nullptr;
    std::unique_ptr<pqxx::connection> conn_;
    bool broken_ = false;
  };

  // INVALID_ARGUMENT if the DSN does not parse or an option is out of range. Never connects.
  static absl::StatusOr<std::unique_ptr<ConnectionPool>> Create(ConnectionPoolOptions options);

  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  ~ConnectionPool();

  // An idle connection, or a new one while fewer than `size` are open. Waits at most
  // acquire_timeout for one to be returned, then UNAVAILABLE; UNAVAILABLE too when a new
  // connection cannot be opened (within about connect_timeout).
  absl::StatusOr<Lease> Acquire();

  // Connections currently open (idle + leased), and idle ones; for tests and metrics.
  int open_count() const;
  int idle_count() const;

 private:
  ConnectionPool(ConnectionPoolOptions options, std::string conninfo);
  bool CanAcquireLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect();
  void Return(std::unique_ptr<pqxx::connection> conn, bool broken);
  void NotifyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ConnectionPoolOptions options_;
  const std::string conninfo_;  // dsn with the pool's settings; holds the password

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;     // idle + leased + being opened
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;  // Acquire calls waiting for a free slot
};

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_CONNECTION_POOL_H_
