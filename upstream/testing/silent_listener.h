// A bare TCP listener that never accepts or answers: it only tells whether anyone tried to
// connect. Tests of the outbound policy put it where a refused request would have gone (an
// address such as 127.0.0.2, which Linux routes to lo, or the proxy a client must not use) and
// check afterwards that nothing reached it; the kernel completes the handshake in the listen
// backlog, so an attempted connection shows even though nobody accepts it.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<SilentListener> target, SilentListener::Start("127.0.0.2"));
//   ... send a request to target->Url() that the policy must refuse ...
//   EXPECT_FALSE(target->SawConnection());
//
// Thread-safe (SawConnection only polls). Test-only.
#ifndef REGISTRY_AUTH_UPSTREAM_TESTING_SILENT_LISTENER_H_
#define REGISTRY_AUTH_UPSTREAM_TESTING_SILENT_LISTENER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace registryauth::upstream::testing {

class SilentListener {
 public:
  // Listens on `ipv4` (a literal), port 0.
  static absl::StatusOr<std::unique_ptr<SilentListener>> Start(const std::string& ipv4);
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return port_; }
  // "http://<ip>:<port>/".
  std::string Url() const;
  // True if a connection attempt is waiting in the backlog; waits up to 200 ms for one.
  bool SawConnection() const;

 private:
  SilentListener(int fd, std::string ip, int port) : fd_(fd), ip_(std::move(ip)), port_(port) {}

  const int fd_;
  const std::string ip_;
  const int port_;
};

}  // namespace registryauth::upstream::testing

#endif  // REGISTRY_AUTH_UPSTREAM_TESTING_SILENT_LISTENER_H_
