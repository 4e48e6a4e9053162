// A loopback TCP proxy that a test can cut and restore, to play a database outage over a real
// network path (the client sees resets and refused connections, as with a dead server).
//
//   ASSIGN_OR_RETURN(auto proxy, TcpProxy::Start(pg_port));
//   dsn += " port=" + std::to_string(proxy->port());
//   proxy->SetEnabled(false);   // drops every connection, refuses new ones
//   proxy->SetEnabled(true);    // forwards again
//
// StartHttpConnect() makes it a forward proxy of the HTTPS kind instead: each connection opens
// with `CONNECT host:port HTTP/1.1` (RFC 9110 9.3.6); the proxy resolves the host, connects,
// answers 200 and then relays bytes, as squid does for https:// URLs. Any other request gets
// 405 and is closed. connect_targets() lists the `host:port` each CONNECT asked for.
//
//   ASSIGN_OR_RETURN(auto proxy, TcpProxy::StartHttpConnect());
//   options.proxy = absl::StrCat("http://127.0.0.1:", proxy->port());
//
// Thread-safe. One thread accepts; each connection gets a pumping thread.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_TCP_PROXY_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_TCP_PROXY_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace registryauth::testing {

class TcpProxy {
 public:
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(int target_port);
  // An HTTP CONNECT proxy (see the file comment).
  static absl::StatusOr<std::unique_ptr<TcpProxy>> StartHttpConnect();
  ~TcpProxy();

  int port() const { return port_; }
  void SetEnabled(bool enabled);
  // How many client connections were forwarded so far (refused ones not counted).
  int forwarded_connections() const { return forwarded_connections_; }
  // How many client connections were accepted so far, forwarded or not.
  int accepted_connections() const { return accepted_connections_; }
  // StartHttpConnect(): the `host:port` of every CONNECT request, in order.
  std::vector<std::string> connect_targets() const;

 private:
  static constexpr int kHttpConnect = -1;  // target_port_ of a CONNECT proxy

  static absl::StatusOr<std::unique_ptr<TcpProxy>> Listen(int target_port);
  TcpProxy(int listen_fd, int port, int target_port);
  void AcceptLoop();
  // Reads the CONNECT request from `client`, connects to its target and pumps (on the
  // connection's own thread).
  void Tunnel(int client_fd);
  void Pump(int client_fd, int upstream_fd);
  void CloseAllConnections();

  const int listen_fd_;
  const int port_;
  const int target_port_;
  std::atomic<bool> enabled_{true};
  std::atomic<bool> stopping_{false};
  std::atomic<int> forwarded_connections_{0};
  std::atomic<int> accepted_connections_{0};
  std::thread accept_thread_;
  mutable absl::Mutex mu_;
  std::vector<std::string> connect_targets_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_TCP_PROXY_H_
