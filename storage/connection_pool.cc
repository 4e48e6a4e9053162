#include "storage/connection_pool.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "pqxx/except"
#include "pqxx/nontransaction"
#include "storage/conninfo.h"
#include "storage/pq_status.h"

namespace registryauth::storage {
namespace {

// libpq takes whole seconds and treats values below 2 as 2.
int64_t ConnectTimeoutSeconds(absl::Duration d) {
  return std::max<int64_t>(2, static_cast<int64_t>(std::ceil(absl::ToDoubleSeconds(d))));
}

// First line of a libpq connection error ("connection to server at ... failed: ..."). libpq
// never puts the password into these messages.
std::string FirstLine(std::string_view message) {
  size_t end = message.find('\n');
  std::string_view line = message.substr(0, end);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  return std::string(line);
}

}  // namespace

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      conn_(std::move(other.conn_)),
      broken_(other.broken_) {}

ConnectionPool::Lease& ConnectionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    pool_ = std::exchange(other.pool_, nullptr);
    conn_ = std::move(other.conn_);
    broken_ = other.broken_;
  }
  return *this;
}

ConnectionPool::Lease::~Lease() { Release(); }

void ConnectionPool::Lease::Release() {
  if (pool_ != nullptr) pool_->Return(std::move(conn_), broken_);
  pool_ = nullptr;
}

absl::StatusOr<std::unique_ptr<ConnectionPool>> ConnectionPool::Create(
    ConnectionPoolOptions options) {
  if (options.size < 1) return absl::InvalidArgumentError("pool size must be at least 1");
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.acquire_timeout < absl::ZeroDuration() ||
      options.statement_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("database timeouts must not be negative");
  }
  absl::StatusOr<std::string> conninfo = RewriteConnInfo(
      options.dsn, /*overrides=*/{},
      /*defaults=*/
      {
          {"connect_timeout", absl::StrCat(ConnectTimeoutSeconds(options.connect_timeout))},
          {"keepalives", "1"},
          {"keepalives_idle", "15"},
          {"keepalives_interval", "5"},
          {"keepalives_count", "3"},
          {"application_name", "registry-auth"},
      });
  if (!conninfo.ok()) return conninfo.status();
  return std::unique_ptr<ConnectionPool>(
      new ConnectionPool(std::move(options), *std::move(conninfo)));
}

ConnectionPool::ConnectionPool(ConnectionPoolOptions options, std::string conninfo)
    : options_(std::move(options)), conninfo_(std::move(conninfo)) {}

ConnectionPool::~ConnectionPool() = default;

bool ConnectionPool::CanAcquireLocked() const { return !idle_.empty() || open_ < options_.size; }

int ConnectionPool::open_count() const {
  absl::MutexLock lock(&mu_);
  return open_;
}

int ConnectionPool::idle_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(idle_.size());
}

void ConnectionPool::NotifyLocked() const {
  if (options_.observer == nullptr) return;
  const int idle = static_cast<int>(idle_.size());
  options_.observer->OnState(open_ - idle, idle, waiting_);
}

absl::StatusOr<ConnectionPool::Lease> ConnectionPool::Acquire() {
  const auto start = std::chrono::steady_clock::now();
  PoolObserver* const observer = options_.observer;
  auto acquired = [&] {
    if (observer != nullptr) {
      observer->OnAcquired(absl::FromChrono(std::chrono::steady_clock::now() - start));
    }
  };
  {
    absl::MutexLock lock(&mu_);
    if (!CanAcquireLocked()) {
      ++waiting_;
      NotifyLocked();
      const bool free = mu_.AwaitWithTimeout(
          absl::Condition(this, &ConnectionPool::CanAcquireLocked), options_.acquire_timeout);
      --waiting_;
      NotifyLocked();
      if (!free) {
        if (observer != nullptr) observer->OnError(PoolObserver::Error::kAcquireTimeout);
        return absl::UnavailableError("no database connection became free within acquire_timeout");
      }
    }
    if (!idle_.empty()) {
      std::unique_ptr<pqxx::connection> conn = std::move(idle_.back());
      idle_.pop_back();
      NotifyLocked();
      acquired();
      return Lease(this, std::move(conn));
    }
    ++open_;  // reserve the slot while connecting without the lock
    NotifyLocked();
  }
  absl::StatusOr<std::unique_ptr<pqxx::connection>> conn = Connect();
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    NotifyLocked();
    if (observer != nullptr) observer->OnError(PoolObserver::Error::kConnectFailed);
    return conn.status();
  }
  acquired();
  return Lease(this, *std::move(conn));
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> ConnectionPool::Connect() {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(conninfo_);
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the database: ", FirstLine(e.what())));
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "connect to the database");
  }
  try {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    // libpqxx 6 would otherwise silently reconnect a broken connection; the pool replaces it.
    conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    pqxx::nontransaction session(*conn, "session setup");
    session.exec(absl::StrCat("SET statement_timeout = ",
                              absl::ToInt64Milliseconds(options_.statement_timeout)));
    session.commit();
    if (options_.on_connect) options_.on_connect(*conn);
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "set up database connection");
  }
  return conn;
}

void ConnectionPool::Return(std::unique_ptr<pqxx::connection> conn, bool broken) {
  std::vector<std::unique_ptr<pqxx::connection>> discard;
  {
    absl::MutexLock lock(&mu_);
    if (conn != nullptr && !broken && conn->is_open()) {
      idle_.push_back(std::move(conn));
      NotifyLocked();
      return;
    }
    --open_;
    if (options_.observer != nullptr) {
      options_.observer->OnError(PoolObserver::Error::kConnectionBroken);
    }
    if (broken) {
      // The usual cause is a restart or failover, which broke the idle connections too.
      open_ -= static_cast<int>(idle_.size());
      discard.swap(idle_);
    }
    NotifyLocked();
  }
  // Closing happens outside the lock; `conn` and `discard` are destroyed here.
}

}  // namespace registryauth::storage
