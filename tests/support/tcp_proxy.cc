#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace registryauth::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(int target_port) {
  return Listen(target_port);
}

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::StartHttpConnect() {
  return Listen(kHttpConnect);
}

std::vector<std::string> TcpProxy::connect_targets() const {
  absl::MutexLock lock(&mu_);
  return connect_targets_;
}

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Listen(int target_port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(0);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return absl::InternalError("bind/listen failed");
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::unique_ptr<TcpProxy> proxy(new TcpProxy(fd, ntohs(addr.sin_port), target_port));
  proxy->accept_thread_ = std::thread([p = proxy.get()] { p->AcceptLoop(); });
  return proxy;
}

TcpProxy::TcpProxy(int listen_fd, int port, int target_port)
    : listen_fd_(listen_fd), port_(port), target_port_(target_port) {}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  close(listen_fd_);
  CloseAllConnections();
  std::vector<std::thread> pumps;
  {
    absl::MutexLock lock(&mu_);
    pumps.swap(pumps_);
  }
  for (std::thread& t : pumps) t.join();
}

void TcpProxy::SetEnabled(bool enabled) {
  enabled_ = enabled;
  if (!enabled) CloseAllConnections();
}

void TcpProxy::CloseAllConnections() {
  absl::MutexLock lock(&mu_);
  // shutdown() wakes the pumps blocked in poll(); they close their own descriptors.
  for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
}

void TcpProxy::AcceptLoop() {
  while (!stopping_) {
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stopping_) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    ++accepted_connections_;
    if (!enabled_) {
      // An outage: the connection is reset at once.
      linger lg{1, 0};
      setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
      close(client);
      continue;
    }
    if (target_port_ == kHttpConnect) {
      absl::MutexLock lock(&mu_);
      open_fds_.push_back(client);
      pumps_.emplace_back([this, client] { Tunnel(client); });
      continue;
    }
    int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in target = Loopback(target_port_);
    if (upstream < 0 ||
        connect(upstream, reinterpret_cast<sockaddr*>(&target), sizeof(target)) != 0) {
      if (upstream >= 0) close(upstream);
      close(client);
      continue;
    }
    ++forwarded_connections_;
    absl::MutexLock lock(&mu_);
    open_fds_.push_back(client);
    open_fds_.push_back(upstream);
    pumps_.emplace_back([this, client, upstream] { Pump(client, upstream); });
  }
}

void TcpProxy::Tunnel(int client) {
  // The request head, up to its blank line; a CONNECT carries no body.
  std::string head;
  char c = 0;
  while (head.size() < 8192 && !absl::EndsWith(head, "\r\n\r\n") && read(client, &c, 1) == 1) {
    head.push_back(c);
  }
  const std::vector<std::string> words =
      absl::StrSplit(head.substr(0, head.find("\r\n")), ' ', absl::SkipEmpty());
  int upstream = -1;
  if (words.size() == 3 && words[0] == "CONNECT") {
    {
      absl::MutexLock lock(&mu_);
      connect_targets_.push_back(words[1]);
    }
    const size_t colon = words[1].rfind(':');
    std::string host = words[1].substr(0, colon);
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (colon != std::string::npos &&
        getaddrinfo(host.c_str(), words[1].substr(colon + 1).c_str(), &hints, &found) == 0) {
      upstream = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (upstream >= 0 && connect(upstream, found->ai_addr, found->ai_addrlen) != 0) {
        close(upstream);
        upstream = -1;
      }
      freeaddrinfo(found);
    }
  }
  std::string reply = "HTTP/1.1 200 Connection established\r\n\r\n";
  if (words.size() != 3 || words[0] != "CONNECT") {
    reply = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n";
  } else if (upstream < 0) {
    reply = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
  }
  const bool sent = write(client, reply.data(), reply.size()) == static_cast<ssize_t>(reply.size());
  if (upstream < 0 || !sent) {
    absl::MutexLock lock(&mu_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), client), open_fds_.end());
    close(client);
    if (upstream >= 0) close(upstream);
    return;
  }
  ++forwarded_connections_;
  {
    absl::MutexLock lock(&mu_);
    open_fds_.push_back(upstream);
  }
  Pump(client, upstream);
}

void TcpProxy::Pump(int a, int b) {
  char buf[16384];
  pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  bool open = true;
  while (open) {
    if (poll(fds, 2, 200) < 0 && errno != EINTR) break;
    if (stopping_) break;
    for (int i = 0; i < 2 && open; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        open = false;
        break;
      }
      const int out = fds[1 - i].fd;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(out, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) {
          open = false;
          break;
        }
        off += w;
      }
    }
  }
  absl::MutexLock lock(&mu_);
  for (int fd : {a, b}) {
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
    close(fd);
  }
}

}  // namespace registryauth::testing
