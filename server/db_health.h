// Keeps the gRPC health service in step with the database.
//
// A background thread probes RegistryStore::Ping() every `interval` and sets the serving status
// of "" and of "registryauth.v1.RegistryAuthService": SERVING while the database answers and
// accepts writes (PostgreSQL: a primary, not a read-only standby), NOT_SERVING otherwise. The
// store reconnects by itself, so the status comes back on its own when the database returns.
//
//   DbHealthMonitor monitor(store, server->GetHealthCheckService(), absl::Seconds(2));
//   monitor.Start();  ...  monitor.Stop();
//
// Thread-safe. Stop() is idempotent and also runs from the destructor.
#ifndef REGISTRY_AUTH_SERVER_DB_HEALTH_H_
#define REGISTRY_AUTH_SERVER_DB_HEALTH_H_

#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/health_check_service_interface.h"
#include "storage/registry_store.h"

namespace registryauth::server {

inline constexpr char kServiceName[] = "registryauth.v1.RegistryAuthService";

class DbHealthMonitor {
 public:
  DbHealthMonitor(storage::RegistryStore& store, grpc::HealthCheckServiceInterface* health,
                  absl::Duration interval);
  ~DbHealthMonitor();
  DbHealthMonitor(const DbHealthMonitor&) = delete;
  DbHealthMonitor& operator=(const DbHealthMonitor&) = delete;

  void Start();
  void Stop();
  // Probes once now and publishes the result; returns whether the database answered.
  bool ProbeNow();

 private:
  void Run();

  storage::RegistryStore& store_;
  grpc::HealthCheckServiceInterface* health_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_DB_HEALTH_H_
