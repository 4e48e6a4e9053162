#include "upstream/testing/scripted_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace registryauth::upstream::testing {
namespace {

constexpr std::size_t kMaxHead = 64 * 1024;

std::string ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// One accepted connection, plain or TLS.
class Conn {
 public:
  Conn(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Conn() {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);  // close_notify, so a close-delimited body ends cleanly
      SSL_free(ssl_);
    }
  }
  // Bytes read (0 on EOF or error).
  int Read(char* buf, int n) {
    if (ssl_ != nullptr) {
      const int r = SSL_read(ssl_, buf, n);
      return r > 0 ? r : 0;
    }
    const ssize_t r = recv(fd_, buf, static_cast<std::size_t>(n), 0);
    return r > 0 ? static_cast<int>(r) : 0;
  }
  bool WriteAll(absl::string_view data) {
    while (!data.empty()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(data.size(), 1 << 16));
      int w = 0;
      if (ssl_ != nullptr) {
        w = SSL_write(ssl_, data.data(), chunk);
      } else {
        const ssize_t s = send(fd_, data.data(), static_cast<std::size_t>(chunk), MSG_NOSIGNAL);
        w = s > 0 ? static_cast<int>(s) : 0;
      }
      if (w <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(w));
    }
    return true;
  }

 private:
  int fd_;
  SSL* ssl_;
};

// Reads one request into `head` and `body`, keeping any bytes past it in `pending`. Sets
// `*garbage` when the bytes cannot start an HTTP request (e.g. a TLS ClientHello).
bool ReadRequest(Conn& conn, std::string& pending, std::string* head, std::string* body,
                 bool* garbage) {
  char buf[16384];
  while (true) {
    if (!pending.empty() && !(pending[0] >= 'A' && pending[0] <= 'Z')) {
      *garbage = true;
      return false;
    }
    const std::size_t end = pending.find("\r\n\r\n");
    if (end != std::string::npos) {
      *head = pending.substr(0, end);
      std::size_t want = 0;
      for (absl::string_view line : absl::StrSplit(*head, "\r\n")) {
        const std::string l = absl::AsciiStrToLower(line);
        if (l.rfind("content-length:", 0) == 0 &&
            !absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(l).substr(15)), &want)) {
          return false;
        }
      }
      while (pending.size() < end + 4 + want) {
        const int n = conn.Read(buf, sizeof(buf));
        if (n <= 0) return false;
        pending.append(buf, static_cast<std::size_t>(n));
      }
      *body = pending.substr(end + 4, want);
      pending.erase(0, end + 4 + want);
      return true;
    }
    if (pending.size() > kMaxHead) return false;
    const int n = conn.Read(buf, sizeof(buf));
    if (n <= 0) return false;
    pending.append(buf, static_cast<std::size_t>(n));
  }
}

ScriptedRequest ParseHead(const std::string& head, std::string body, int connection) {
  ScriptedRequest r;
  r.connection = connection;
  r.body = std::move(body);
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return r;
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() >= 2) {
    r.method = std::string(parts[0]);
    r.target = std::string(parts[1]);
  }
  const std::size_t q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) {
    for (absl::string_view kv : absl::StrSplit(r.target.substr(q + 1), '&', absl::SkipEmpty())) {
      const std::size_t eq = kv.find('=');
      r.query[PercentDecode(kv.substr(0, eq))] =
          eq == absl::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
    }
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    r.headers.emplace_back(absl::AsciiStrToLower(lines[i].substr(0, colon)),
                           std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1))));
  }
  return r;
}

}  // namespace

std::optional<std::string> ScriptedRequest::Header(std::string_view name) const {
  const std::string lower = absl::AsciiStrToLower(absl::string_view(name.data(), name.size()));
  for (const auto& [n, v] : headers) {
    if (n == lower) return v;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<ScriptedHttpServer>> ScriptedHttpServer::Start(
    std::optional<TlsIdentity> tls) {
  signal(SIGPIPE, SIG_IGN);  // SSL_write to a client that gave up must not kill the test
  SSL_CTX* ctx = nullptr;
  if (tls.has_value()) {
    ctx = SSL_CTX_new(TLS_server_method());
    BIO* cert_bio = BIO_new_mem_buf(tls->cert_pem.data(), static_cast<int>(tls->cert_pem.size()));
    BIO* key_bio = BIO_new_mem_buf(tls->key_pem.data(), static_cast<int>(tls->key_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    const bool ok = ctx != nullptr && cert != nullptr && key != nullptr &&
                    SSL_CTX_use_certificate(ctx, cert) == 1 &&
                    SSL_CTX_use_PrivateKey(ctx, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);
    if (!ok) {
      SSL_CTX_free(ctx);
      return absl::InternalError("scripted server: bad TLS identity");
    }
  }
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    SSL_CTX_free(ctx);
    return absl::InternalError("socket failed");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 64) != 0) {
    close(fd);
    SSL_CTX_free(ctx);
    return absl::InternalError("bind/listen failed");
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::unique_ptr<ScriptedHttpServer> server(new ScriptedHttpServer(fd, ntohs(addr.sin_port), ctx));
  server->accept_thread_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

ScriptedHttpServer::~ScriptedHttpServer() {
  stopping_ = true;
  stopped_.Notify();
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  if (accept_thread_.joinable()) accept_thread_.join();
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);  // wakes blocked reads
    threads.swap(connection_threads_);
  }
  for (std::thread& t : threads) t.join();
  close(listen_fd_);
  SSL_CTX_free(static_cast<SSL_CTX*>(ssl_ctx_));
}

void ScriptedHttpServer::Route(std::string path, ScriptedHandler handler) {
  absl::MutexLock lock(&mu_);
  routes_[std::move(path)] = std::move(handler);
}

void ScriptedHttpServer::Route(std::string path, ScriptedResponse response) {
  Route(std::move(path), [response](const ScriptedRequest&) { return response; });
}

std::string ScriptedHttpServer::BaseUrl() const {
  return absl::StrCat(ssl_ctx_ != nullptr ? "https" : "http", "://127.0.0.1:", port_);
}

std::string ScriptedHttpServer::Url(std::string_view path) const {
  return absl::StrCat(BaseUrl(), absl::string_view(path.data(), path.size()));
}

std::vector<ScriptedRequest> ScriptedHttpServer::requests() const {
  absl::MutexLock lock(&mu_);
  return requests_;
}

int ScriptedHttpServer::connections() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

void ScriptedHttpServer::AcceptLoop() {
  while (!stopping_) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    timeval tv{10, 0};  // a silent client cannot hold a thread for ever
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    const int connection = ++connections_;
    open_fds_.insert(fd);
    connection_threads_.emplace_back([this, fd, connection] { Serve(fd, connection); });
  }
}

void ScriptedHttpServer::Serve(int fd, int connection) {
  SSL* ssl = nullptr;
  bool ok = true;
  if (ssl_ctx_ != nullptr) {
    ssl = SSL_new(static_cast<SSL_CTX*>(ssl_ctx_));
    ok = ssl != nullptr && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1;
    ERR_clear_error();
  }
  {
    Conn conn(fd, ssl);
    std::string pending;
    std::string head;
    std::string body;
    bool conn_bad = false;
    while (ok && !stopping_ && ReadRequest(conn, pending, &head, &body, &conn_bad)) {
      ScriptedRequest request = ParseHead(head, std::move(body), connection);
      ScriptedHandler handler;
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(request);
        auto it = routes_.find(request.path);
        if (it != routes_.end()) handler = it->second;
      }
      ScriptedResponse response =
          handler ? handler(request) : ScriptedResponse{404, {}, R"({"errors":[]})"};
      if (response.delay > absl::ZeroDuration() &&
          stopped_.WaitForNotificationWithTimeout(response.delay)) {
        break;
      }
      std::string out =
          absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\n");
      bool has_type = false;
      for (const auto& [name, value] : response.headers) {
        if (absl::AsciiStrToLower(name) == "content-type") has_type = true;
        absl::StrAppend(&out, name, ": ", value, "\r\n");
      }
      if (!has_type) absl::StrAppend(&out, "Content-Type: application/json\r\n");
      const bool client_closes =
          absl::AsciiStrToLower(request.Header("connection").value_or("")) == "close";
      if (response.close_delimited) {
        absl::StrAppend(&out, "Connection: close\r\n\r\n");
      } else {
        absl::StrAppend(&out, "Content-Length: ", response.body.size(), "\r\n",
                        client_closes ? "Connection: close\r\n" : "", "\r\n");
      }
      if (request.method != "HEAD") out += response.body;
      if (!conn.WriteAll(out) || response.close_delimited || client_closes) break;
    }
    if (conn_bad) {
      conn.WriteAll("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
  }
  absl::MutexLock lock(&mu_);
  open_fds_.erase(fd);
  close(fd);
}

std::vector<IpNetwork> LoopbackNetworks() {
  return {*ParseIpNetwork("127.0.0.0/8"), *ParseIpNetwork("::1")};
}

}  // namespace registryauth::upstream::testing
