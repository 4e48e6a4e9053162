#include "server/db_health.h"

#include <map>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "storage/memory_store.h"
#include "storage/testing/failing_registry_store.h"

namespace registryauth::server {
namespace {

// Records what the monitor publishes.
class RecordingHealth : public grpc::HealthCheckServiceInterface {
 public:
  void SetServingStatus(const std::string& service_name, bool serving) override {
    status[service_name] = serving;
  }
  void SetServingStatus(bool serving) override { all = serving; }

  std::map<std::string, bool> status;
  bool all = true;
};

// PostgresRegistryStore::Ping answers UNAVAILABLE for a read-only standby
// (`pg_is_in_recovery()`; storage/postgres_store_test.cc checks that against a real standby):
// the monitor then reports NOT_SERVING for "" and the service, which /readyz follows.
TEST(DbHealthMonitorTest, NotServingWhileThePingFailsServingWhenItIsBack) {
  storage::InMemoryRegistryStore memory;
  storage::testing::FailingRegistryStore store{memory};
  RecordingHealth health;
  DbHealthMonitor monitor(store, &health, absl::Hours(1));
  EXPECT_TRUE(monitor.ProbeNow());
  EXPECT_TRUE(health.status[""]);
  EXPECT_TRUE(health.status[kServiceName]);

  store.set_next_error(absl::UnavailableError("database is a read-only standby"));
  EXPECT_FALSE(monitor.ProbeNow());
  EXPECT_FALSE(health.status[""]);
  EXPECT_FALSE(health.status[kServiceName]);

  EXPECT_TRUE(monitor.ProbeNow());
  EXPECT_TRUE(health.status[""]);
  EXPECT_TRUE(health.status[kServiceName]);
}

}  // namespace
}  // namespace registryauth::server
