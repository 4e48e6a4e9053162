#include "storage/connection_pool.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "pqxx/nontransaction"
#include "storage/testing/pg_test_db.h"

namespace registryauth::storage {
namespace {

using registryauth::testing::PgTestDb;

// A listening loopback socket that never accepts: TCP connects, the server never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 16) != 0) {
      ADD_FAILURE() << "cannot listen on a loopback port";
    }
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

int ClosedPort() {
  SilentServer server;
  return server.port();  // closed when `server` goes
}

// Records what a pool reports.
class RecordingObserver : public PoolObserver {
 public:
  struct State {
    int in_use, idle, waiting;
  };
  void OnState(int in_use, int idle, int waiting) override {
    absl::MutexLock lock(&mu_);
    states_.push_back({in_use, idle, waiting});
  }
  void OnError(Error error) override {
    absl::MutexLock lock(&mu_);
    errors_.push_back(error);
  }
  void OnAcquired(absl::Duration) override {
    absl::MutexLock lock(&mu_);
    ++acquired_;
  }
  State last() {
    absl::MutexLock lock(&mu_);
    return states_.empty() ? State{-1, -1, -1} : states_.back();
  }
  std::vector<Error> errors() {
    absl::MutexLock lock(&mu_);
    return errors_;
  }
  int acquired() {
    absl::MutexLock lock(&mu_);
    return acquired_;
  }
  // Blocks until some caller is reported waiting.
  void AwaitWaiting() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](std::vector<State>* s) { return !s->empty() && s->back().waiting > 0; }, &states_));
  }

 private:
  absl::Mutex mu_;
  std::vector<State> states_ ABSL_GUARDED_BY(mu_);
  std::vector<Error> errors_ ABSL_GUARDED_BY(mu_);
  int acquired_ ABSL_GUARDED_BY(mu_) = 0;
};

int BackendPid(pqxx::connection& conn) {
  pqxx::nontransaction txn(conn);
  return txn.exec("SELECT pg_backend_pid()")[0][0].as<int>();
}

TEST(ConnectionPoolTest, RejectsInvalidOptionsWithoutConnecting) {
  ConnectionPoolOptions options;
  options.dsn = "host=127.0.0.1 port=1";
  EXPECT_TRUE(ConnectionPool::Create(options).ok());
  options.size = 0;
  EXPECT_EQ(ConnectionPool::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.size = 2;
  options.dsn = "postgresql://[broken";
  EXPECT_EQ(ConnectionPool::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ConnectionPoolTest, ClosedPortIsUnavailableAtOnce) {
  ConnectionPoolOptions options;
  options.dsn = absl::StrCat("host=127.0.0.1 user=u password=hunter2 port=", ClosedPort());
  options.connect_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool = ConnectionPool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<ConnectionPool::Lease> lease = (*pool)->Acquire();
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(lease.status().message().find("hunter2"), std::string::npos);
  EXPECT_LT(absl::Now() - start, options.connect_timeout + absl::Seconds(1));
  EXPECT_EQ((*pool)->open_count(), 0);  // the failed slot is given back
}

TEST(ConnectionPoolTest, ObserverHearsOfFailedConnects) {
  RecordingObserver observer;
  ConnectionPoolOptions options;
  options.dsn = absl::StrCat("host=127.0.0.1 port=", ClosedPort());
  options.observer = &observer;
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool = ConnectionPool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_FALSE((*pool)->Acquire().ok());
  EXPECT_EQ(observer.errors(),
            std::vector<PoolObserver::Error>{PoolObserver::Error::kConnectFailed});
  EXPECT_EQ(observer.last().in_use, 0);  // the reserved slot was given back
  EXPECT_EQ(observer.acquired(), 0);
}

TEST(ConnectionPoolTest, SilentServerTimesOutAfterConnectTimeout) {
  SilentServer server;
  ConnectionPoolOptions options;
  options.dsn = absl::StrCat("host=127.0.0.1 user=u port=", server.port());
  options.connect_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<ConnectionPool>> pool = ConnectionPool::Create(options);
  ASSERT_TRUE(pool.ok()) << pool.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<ConnectionPool::Lease> lease = (*pool)->Acquire();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kUnavailable) << lease.status();
  EXPECT_GE(took, absl::Seconds(1));                            // it did wait for the server...
  EXPECT_LT(took, options.connect_timeout + absl::Seconds(2));  // ...but not forever
}

class ConnectionPoolDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REGAUTH_SKIP_WITHOUT_PG();
    absl::StatusOr<std::unique_ptr<PgTestDb>> db = PgTestDb::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }

  std::unique_ptr<ConnectionPool> MakePool(int size, PoolObserver* observer = nullptr) {
    ConnectionPoolOptions options;
    options.observer = observer;
    options.dsn = db_->dsn();
    options.size = size;
    options.acquire_timeout = absl::Milliseconds(300);
    options.statement_timeout = absl::Milliseconds(1500);
    absl::StatusOr<std::unique_ptr<ConnectionPool>> pool = ConnectionPool::Create(options);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? *std::move(pool) : nullptr;
  }

  std::unique_ptr<PgTestDb> db_;
};

TEST_F(ConnectionPoolDbTest, ReusesConnectionsAndSetsStatementTimeout) {
  std::unique_ptr<ConnectionPool> pool = MakePool(2);
  ASSERT_NE(pool, nullptr);
  int first_pid = 0;
  {
    absl::StatusOr<ConnectionPool::Lease> lease = pool->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    first_pid = BackendPid(lease->conn());
    pqxx::nontransaction txn(lease->conn());
    EXPECT_EQ(txn.exec("SHOW statement_timeout")[0][0].as<std::string>(), "1500ms");
  }
  EXPECT_EQ(pool->idle_count(), 1);
  absl::StatusOr<ConnectionPool::Lease> again = pool->Acquire();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(BackendPid(again->conn()), first_pid);
  EXPECT_EQ(pool->open_count(), 1);
}

TEST_F(ConnectionPoolDbTest, ExhaustedPoolIsUnavailableAfterAcquireTimeout) {
  std::unique_ptr<ConnectionPool> pool = MakePool(1);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<ConnectionPool::Lease> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  const absl::Time start = absl::Now();
  absl::StatusOr<ConnectionPool::Lease> second = pool->Acquire();
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_GE(waited, absl::Milliseconds(250));
  EXPECT_LT(waited, absl::Seconds(5));
  // Once the lease is back, the connection is available again.
  held = absl::CancelledError("released");  // destroys the held lease
  EXPECT_EQ(pool->idle_count(), 1);
  absl::StatusOr<ConnectionPool::Lease> third = pool->Acquire();
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST_F(ConnectionPoolDbTest, TerminatedConnectionIsReplacedAfterAtMostOneFailure) {
  std::unique_ptr<ConnectionPool> pool = MakePool(1);
  ASSERT_NE(pool, nullptr);
  int old_pid = 0;
  {
    absl::StatusOr<ConnectionPool::Lease> lease = pool->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    old_pid = BackendPid(lease->conn());
  }
  {
    pqxx::connection admin(db_->admin_dsn());
    pqxx::nontransaction txn(admin);
    ASSERT_TRUE(txn.exec_params("SELECT pg_terminate_backend($1)", old_pid)[0][0].as<bool>());
  }
  int failures = 0;
  int new_pid = 0;
  for (int attempt = 0; attempt < 2 && new_pid == 0; ++attempt) {
    absl::StatusOr<ConnectionPool::Lease> lease = pool->Acquire();
    ASSERT_TRUE(lease.ok()) << lease.status();
    try {
      new_pid = BackendPid(lease->conn());
    } catch (const std::exception&) {
      ++failures;
      lease->MarkBroken();
    }
  }
  EXPECT_LE(failures, 1);
  EXPECT_NE(new_pid, 0);
  EXPECT_NE(new_pid, old_pid);
  EXPECT_EQ(pool->open_count(), 1);
}

TEST_F(ConnectionPoolDbTest, ObserverSeesInUseWaitingAndErrors) {
  RecordingObserver observer;
  std::unique_ptr<ConnectionPool> pool = MakePool(1, &observer);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<ConnectionPool::Lease> held = pool->Acquire();
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(observer.last().in_use, 1);
  EXPECT_EQ(observer.last().idle, 0);
  EXPECT_EQ(observer.acquired(), 1);

  // A second caller waits (reported), and gets the connection once it comes back.
  absl::StatusOr<ConnectionPool::Lease> second = absl::UnknownError("not yet");
  std::thread waiter([&] { second = pool->Acquire(); });
  observer.AwaitWaiting();
  EXPECT_EQ(observer.last().waiting, 1);
  held = absl::CancelledError("released");
  waiter.join();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(observer.last().waiting, 0);
  EXPECT_EQ(observer.last().in_use, 1);
  EXPECT_EQ(observer.acquired(), 2);
  EXPECT_TRUE(observer.errors().empty());

  // Nobody gives it back in time: an acquire timeout.
  EXPECT_FALSE(pool->Acquire().ok());
  EXPECT_EQ(observer.errors(),
            std::vector<PoolObserver::Error>{PoolObserver::Error::kAcquireTimeout});
  // A broken lease is reported and discarded.
  second->MarkBroken();
  second = absl::CancelledError("released");
  EXPECT_EQ(observer.errors().back(), PoolObserver::Error::kConnectionBroken);
  EXPECT_EQ(observer.last().in_use, 0);
  EXPECT_EQ(observer.last().idle, 0);
  EXPECT_EQ(observer.last().waiting, 0);
}

TEST_F(ConnectionPoolDbTest, StatementTimeoutCancelsLongQueries) {
  std::unique_ptr<ConnectionPool> pool = MakePool(1);
  ASSERT_NE(pool, nullptr);
  absl::StatusOr<ConnectionPool::Lease> lease = pool->Acquire();
  ASSERT_TRUE(lease.ok()) << lease.status();
  pqxx::nontransaction txn(lease->conn());
  const absl::Time start = absl::Now();
  EXPECT_THROW(txn.exec("SELECT pg_sleep(30)"), pqxx::sql_error);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

}  // namespace
}  // namespace registryauth::storage
