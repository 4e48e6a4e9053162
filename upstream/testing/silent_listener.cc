#include "upstream/testing/silent_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace registryauth::upstream::testing {

absl::StatusOr<std::unique_ptr<SilentListener>> SilentListener::Start(const std::string& ipv4) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (inet_pton(AF_INET, ipv4.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 literal: ", ipv4));
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 8) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("cannot listen on ", ipv4));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<SilentListener>(new SilentListener(fd, ipv4, ntohs(addr.sin_port)));
}

SilentListener::~SilentListener() { close(fd_); }

std::string SilentListener::Url() const { return absl::StrCat("http://", ip_, ":", port_, "/"); }

bool SilentListener::SawConnection() const {
  pollfd p{fd_, POLLIN, 0};
  return poll(&p, 1, 200) > 0;
}

}  // namespace registryauth::upstream::testing
