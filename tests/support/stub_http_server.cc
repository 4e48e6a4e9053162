#include "tests/support/stub_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace registryauth::testing {
namespace {

std::string ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = 0;
    int lo = 0;
    auto hex = [](char c, int* v) {
      if (c >= '0' && c <= '9')
        *v = c - '0';
      else if (c >= 'a' && c <= 'f')
        *v = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        *v = c - 'A' + 10;
      else
        return false;
      return true;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1], &hi) && hex(s[i + 2], &lo)) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// Reads until `fd` has given a full request head (and Content-Length body) or 5 s pass.
bool ReadRequest(int fd, std::string* head, std::string* body) {
  std::string data;
  char buf[8192];
  std::size_t head_end = std::string::npos;
  std::size_t want = 0;
  while (true) {
    if (head_end == std::string::npos) {
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        *head = data.substr(0, head_end);
        for (absl::string_view line : absl::StrSplit(*head, "\r\n")) {
          const std::string l = absl::AsciiStrToLower(std::string(line));
          if (l.rfind("content-length:", 0) == 0) {
            std::size_t n = 0;
            if (absl::SimpleAtoi(absl::StripAsciiWhitespace(l.substr(15)), &n)) want = n;
          }
        }
      }
    }
    if (head_end != std::string::npos && data.size() >= head_end + 4 + want) {
      *body = data.substr(head_end + 4, want);
      return true;
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return false;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    data.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<StubHttpServer>> StubHttpServer::Start(
    int status, std::string body, std::vector<std::pair<std::string, std::string>> headers) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 16) != 0) {
    close(fd);
    return absl::InternalError("bind/listen failed");
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  bool has_type = false;
  std::string response = absl::StrCat("HTTP/1.1 ", status, " ", ReasonPhrase(status), "\r\n");
  for (const auto& [name, value] : headers) {
    if (absl::AsciiStrToLower(name) == "content-type") has_type = true;
    absl::StrAppend(&response, name, ": ", value, "\r\n");
  }
  if (!has_type) absl::StrAppend(&response, "Content-Type: application/json\r\n");
  absl::StrAppend(&response, "Content-Length: ", body.size(), "\r\nConnection: close\r\n\r\n",
                  body);
  std::unique_ptr<StubHttpServer> server(
      new StubHttpServer(fd, ntohs(addr.sin_port), std::move(response)));
  server->thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

StubHttpServer::~StubHttpServer() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
}

std::string StubHttpServer::Url(const std::string& path) const {
  return absl::StrCat("http://127.0.0.1:", port_, path);
}

std::vector<RecordedRequest> StubHttpServer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

void StubHttpServer::AcceptLoop() {
  while (!stopping_) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    Serve(fd);
    close(fd);
  }
}

void StubHttpServer::Serve(int fd) {
  std::string head;
  std::string body;
  if (!ReadRequest(fd, &head, &body)) return;
  RecordedRequest request;
  std::vector<std::string> lines = absl::StrSplit(head, "\r\n");
  std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
  if (first.size() >= 2) {
    request.method = first[0];
    request.target = first[1];
  }
  const std::size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  if (q != std::string::npos) {
    for (absl::string_view pair : absl::StrSplit(request.target.substr(q + 1), '&')) {
      std::vector<std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
      const std::string key = PercentDecode(kv[0]);
      const std::string value = kv.size() > 1 ? PercentDecode(kv[1]) : "";
      request.query[key] = value;
      if (key == "scope") request.scopes.push_back(value);
    }
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    request.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  request.body = std::move(body);
  {
    absl::MutexLock lock(&mu_);
    requests_.push_back(std::move(request));
  }
  std::size_t sent = 0;
  while (sent < response_.size()) {
    const ssize_t n = send(fd, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

}  // namespace registryauth::testing
