#include "server/db_health.h"

namespace registryauth::server {

DbHealthMonitor::DbHealthMonitor(storage::RegistryStore& store,
                                 grpc::HealthCheckServiceInterface* health, absl::Duration interval)
    : store_(store), health_(health), interval_(interval) {}

DbHealthMonitor::~DbHealthMonitor() { Stop(); }

void DbHealthMonitor::Start() {
  ProbeNow();
  thread_ = std::thread([this] { Run(); });
}

void DbHealthMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool DbHealthMonitor::ProbeNow() {
  const bool ok = store_.Ping().ok();
  if (health_ != nullptr) {
    health_->SetServingStatus("", ok);
    health_->SetServingStatus(kServiceName, ok);
  }
  return ok;
}

void DbHealthMonitor::Run() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    // Wakes early when Stop() flips stopping_.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
    if (stopping_) break;
    mu_.Unlock();
    ProbeNow();
    mu_.Lock();
  }
}

}  // namespace registryauth::server
