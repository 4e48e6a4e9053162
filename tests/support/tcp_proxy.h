// A loopback TCP proxy that a test can cut and restore, to play a database outage over a real
// network path (the client sees resets and refused connections, as with a dead server).
//
//   ASSIGN_OR_RETURN(auto proxy, TcpProxy::Start(pg_port));
//   dsn += " port=" + std::to_string(proxy->port());
//   proxy->SetEnabled(false);   // drops every connection, refuses new ones
//   proxy->SetEnabled(true);    // forwards again
//
// Thread-safe. One thread accepts; each connection gets a pumping thread.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_TCP_PROXY_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_TCP_PROXY_H_

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace registryauth::testing {

class TcpProxy {
 public:
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int target_port);
  ~TcpProxy();

  int port() const { return port_; }
  void SetEnabled(bool enabled);
  // How many client connections were forwarded so far (refused ones not counted).
  int forwarded_connections() const { return forwarded_connections_; }

 private:
  TcpProxy(int listen_fd, int port, int target_port);
  void AcceptLoop();
  void Pump(int client_fd, int upstream_fd);
  void CloseAllConnections();

  const int listen_fd_;
  const int port_;
  const int target_port_;
  std::atomic<bool> enabled_{true};
  std::atomic<bool> stopping_{false};
  std::atomic<int> forwarded_connections_{0};
  std::thread accept_thread_;
  absl::Mutex mu_;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_TCP_PROXY_H_
