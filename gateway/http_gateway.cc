#include "gateway/http_gateway.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "boost/asio/bind_executor.hpp"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/executor_work_guard.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "common/catch_all.h"
#include "common/log.h"
#include "gateway/client_address.h"
#include "gateway/http_message.h"
#include "gateway/rest_router.h"
#include "gateway/rest_util.h"
#include "observability/metrics.h"

namespace registryauth::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// How long a connection that is being closed after an error reply keeps draining what the
// client still sends, so the kernel does not reset the connection before it reads the reply.
constexpr auto kLingerTime = std::chrono::seconds(1);

// A failed accept (EMFILE, ENFILE, ENOBUFS, ...) is retried after this pause, doubled on each
// further failure up to the maximum and reset by a successful accept. Retrying at once would
// spin: the pending connection keeps the listening socket readable.
constexpr auto kAcceptBackoffMin = std::chrono::milliseconds(10);
constexpr auto kAcceptBackoffMax = std::chrono::seconds(1);

// Descriptors the process needs besides the HTTP connections (database pool, gRPC, logs,
// files), for the start-up warning about RLIMIT_NOFILE.
constexpr rlim_t kReservedDescriptors = 128;

absl::StatusOr<tcp::endpoint> ParseListenAddress(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", listen, "\": expected host:port"));
  }
  std::string host = listen.substr(0, colon);
  int port;
  if (!absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", listen, "\": invalid port"));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  error_code ec;
  net::ip::address address = net::ip::make_address(host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", listen, "\": host must be an IP address"));
  }
  return tcp::endpoint(address, static_cast<uint16_t>(port));
}

// The method as a metric label: the ones the gateway serves, else "other" (bounded).
const char* MethodLabel(absl::string_view method) {
  for (const char* known : {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"}) {
    if (method == known) return known;
  }
  return "other";
}

// OpenSSL's reason for a failure (a fixed library string such as "no start line"; never key
// material): from `ec` when Asio put the OpenSSL error there, else from the error queue.
// Clears the queue.
std::string OpenSslReason(const error_code& ec = {}) {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (ec && ec.category() == net::error::get_ssl_category()) {
    last = static_cast<unsigned long>(ec.value());
  } else if (ec && last == 0) {
    return ec.message();
  }
  const char* reason = last == 0 ? nullptr : ERR_reason_error_string(last);
  return reason == nullptr ? "unknown error" : reason;
}

bool IsKeyMismatch(const error_code& ec) {
  return ec.category() == net::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
}

// A server context for TLS 1.2 and 1.3 with the certificate chain (leaf first) and key read
// from PEM files. INVALID_ARGUMENT names the file and OpenSSL's reason, never file contents.
absl::StatusOr<std::shared_ptr<net::ssl::context>> LoadTlsContext(const std::string& cert_file,
                                                                  const std::string& key_file) {
  ERR_clear_error();
  std::shared_ptr<net::ssl::context> ctx;
  try {
    ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  } catch (const boost::system::system_error&) {
    return absl::InternalError(
        absl::StrCat("http gateway: cannot create a TLS context: ", OpenSslReason()));
  }
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) {
    return absl::InternalError("http gateway: cannot require TLS 1.2 or later");
  }
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("http gateway: tls_cert_file \"", cert_file,
                                                   "\": cannot load a PEM certificate chain (",
                                                   OpenSslReason(ec), ")"));
  }
  ctx->use_private_key_file(key_file, net::ssl::context::pem, ec);
  if (ec && !IsKeyMismatch(ec)) {
    return absl::InvalidArgumentError(absl::StrCat("http gateway: tls_key_file \"", key_file,
                                                   "\": cannot load a PEM private key (",
                                                   OpenSslReason(ec), ")"));
  }
  if (ec || SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("http gateway: tls_key_file \"", key_file, "\" does not match tls_cert_file"));
  }
  return ctx;
}

// Each connection holds a descriptor; past RLIMIT_NOFILE accept fails with EMFILE (and backs
// off) before the cap is reached. Not fatal: the operator may know better (e.g. few real
// connections), but it should hear about it.
void WarnIfOverDescriptorLimit(int max_connections, int threads) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  // Each I/O thread's event loop holds three (epoll, eventfd, timerfd).
  const rlim_t reserved = kReservedDescriptors + 3 * static_cast<rlim_t>(threads);
  const rlim_t needed =
      static_cast<rlim_t>(max_connections) + HttpGateway::kMetricsMaxConnections + reserved;
  if (needed <= limit.rlim_cur) return;
  Log(LogLevel::kWarning,
      "http gateway: max_connections does not fit the open-file limit (ulimit -n); raise "
      "LimitNOFILE / ulimit -n or lower max_connections, else accepts fail with EMFILE first",
      {{"max_connections", max_connections},
       {"rlimit_nofile", static_cast<int64_t>(limit.rlim_cur)},
       {"reserved", static_cast<int64_t>(reserved)}});
}

// `threads` io_contexts, each run by one thread (hint 1: Asio then keeps completions on the
// thread that queued them instead of waking another).
std::vector<std::unique_ptr<net::io_context>> MakeContexts(int threads) {
  std::vector<std::unique_ptr<net::io_context>> contexts;
  contexts.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<net::io_context>(1));
    // A timer makes the context start its reactor (its epoll and eventfd descriptors) now.
    // Started lazily by the first connection, it could fail just when descriptors run out.
    net::steady_timer start_reactor(*contexts.back());
  }
  return contexts;
}

}  // namespace

class HttpGateway::Impl {
 public:
  Impl(const HttpGatewayOptions& options, TrustedProxies trusted_proxies,
       std::shared_ptr<grpc::Channel> channel)
      : options_(options),
        trusted_proxies_(std::move(trusted_proxies)),
        router_(
            std::move(channel),
            RestRouterOptions{options.request_timeout, options.token_basic_realm,
                              options.in_process_tokens, options.token_workers, options.token_queue,
                              // With a metrics listener, /metrics is served there only.
                              options.metrics_listen.empty() ? options.metrics : nullptr,
                              options.registry_events}),
        iocs_(MakeContexts(options.threads)),
        http_(std::make_unique<Listener>(*iocs_.front(), "http", options.max_connections)) {
    if (!options_.metrics_listen.empty()) {
      metrics_listener_ = std::make_unique<Listener>(*iocs_.front(), "metrics",
                                                     HttpGateway::kMetricsMaxConnections);
      // Create() has checked that metrics_listen comes with a registry.
      metrics_router_ = RestRouter::ForMetricsListener(*options_.metrics);
    }
    if (options_.metrics != nullptr) {
      requests_ = &options_.metrics->AddCounter(
          "http_server_requests_total",
          "HTTP requests answered by the gateway, by method, route template and status.",
          {"method", "route", "status"});
      seconds_ = &options_.metrics->AddHistogram(
          "http_server_request_duration_seconds",
          "Time from a request's headers to its reply, by method, route template and status.",
          {"method", "route", "status"}, observability::LatencyBuckets());
      observability::GaugeFamily& open = options_.metrics->AddGauge(
          "http_server_connections",
          "Open HTTP connections (TLS handshakes, idle keep-alive and busy), by listener.",
          {"listener"});
      observability::CounterFamily& refused = options_.metrics->AddCounter(
          "http_server_connections_refused_total",
          "Connections closed at once because the listener had max_connections open.",
          {"listener"});
      observability::CounterFamily& errors = options_.metrics->AddCounter(
          "http_server_accept_errors_total",
          "Failed accepts (e.g. out of file descriptors), each followed by a back-off.",
          {"listener"});
      for (Listener* l : {http_.get(), metrics_listener_.get()}) {
        if (l == nullptr) continue;
        l->open_gauge = &open.WithLabels({l->name});
        l->refused = &refused.WithLabels({l->name});
        l->accept_errors = &errors.WithLabels({l->name});
      }
    }
  }

  ~Impl() { Shutdown(); }

  // `metrics_endpoint` is set exactly when options_.metrics_listen is.
  absl::Status Start(const tcp::endpoint& endpoint,
                     const std::optional<tcp::endpoint>& metrics_endpoint) {
    if (absl::Status s = Listen(*http_, endpoint, options_.listen); !s.ok()) return s;
    if (metrics_listener_ != nullptr) {
      absl::Status s = Listen(*metrics_listener_, *metrics_endpoint, options_.metrics_listen);
      if (!s.ok()) return s;
    }
    DoAccept(*http_);
    if (metrics_listener_ != nullptr) DoAccept(*metrics_listener_);
    // Keeps every I/O thread in run() while it has no connection yet; Shutdown lets go.
    for (std::unique_ptr<net::io_context>& ioc : iocs_) work_.push_back(net::make_work_guard(*ioc));
    threads_.reserve(iocs_.size());
    for (std::unique_ptr<net::io_context>& ioc : iocs_) {
      threads_.emplace_back([this, &ioc = *ioc] { RunIoThread(ioc); });
    }
    return absl::OkStatus();
  }

  int port() const { return http_->port; }
  int metrics_port() const { return metrics_listener_ == nullptr ? 0 : metrics_listener_->port; }

  void SetTlsContext(std::shared_ptr<net::ssl::context> tls) {
    absl::MutexLock lock(&tls_mu_);
    tls_ = std::move(tls);
  }

  std::shared_ptr<net::ssl::context> CurrentTlsContext() const {
    absl::MutexLock lock(&tls_mu_);
    return tls_;
  }

  // Loads the configured files again; on success new connections use the new context while
  // existing ones keep theirs.
  absl::Status ReloadCertificate() {
    if (CurrentTlsContext() == nullptr) {
      return absl::FailedPreconditionError(
          "http gateway: TLS is not configured (tls_cert_file, tls_key_file)");
    }
    absl::StatusOr<std::shared_ptr<net::ssl::context>> tls =
        LoadTlsContext(options_.tls_cert_file, options_.tls_key_file);
    if (!tls.ok()) return tls.status();
    SetTlsContext(*std::move(tls));
    return absl::OkStatus();
  }

  // A token held by every gRPC callback that will post back to this gateway; Shutdown waits
  // until all are released.
  std::shared_ptr<void> BeginInflight() {
    {
      absl::MutexLock lock(&inflight_mu_);
      ++inflight_;
    }
    return std::shared_ptr<void>(nullptr, [this](void*) {
      absl::MutexLock lock(&inflight_mu_);
      --inflight_;
    });
  }

  // Must not be called from one of the gateway's own threads.
  void Shutdown() {
    absl::MutexLock join_lock(&join_mu_);
    if (joined_) return;
    joined_ = true;
    shutting_down_ = true;
    // work_ keeps the I/O threads in run() until every close below is posted: otherwise they
    // may leave run() as soon as the acceptors close (no other work left), and a close posted
    // after that (for a session only `live` still holds) is never run; the io_context then
    // destroys it with the gateway, after the listener its session counts against is freed.
    //
    // The acceptors close on their strands, and Shutdown waits until they have: an accept
    // handler running right now (past its shutting_down_ check in StartSession) has then
    // registered its session, for the snapshot below, and queued the session's start on that
    // session's own io_context while work_ still keeps its thread in run(). Without the wait
    // the start could be queued after that thread left run(): the session would outlive
    // Shutdown in a stopped io_context and be destroyed with it, after its Listener is freed.
    // (With no I/O thread started, nothing runs the close; nothing accepts either.)
    for (Listener* l : {http_.get(), metrics_listener_.get()}) {
      if (l == nullptr) continue;
      auto closed = std::make_shared<absl::Notification>();
      net::post(l->acceptor.get_executor(), [l, closed] {
        error_code ec;
        l->acceptor.close(ec);
        l->backoff_timer.cancel();
        closed->Notify();
      });
      if (!threads_.empty()) closed->WaitForNotification();
    }
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      absl::MutexLock lock(&sessions_mu_);
      for (auto& [ptr, weak] : sessions_) {
        if (std::shared_ptr<SessionBase> s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (std::shared_ptr<SessionBase>& s : live) {
      SessionBase* session = s.get();
      session->CloseIfIdle(std::move(s));
    }
    live.clear();
    work_.clear();
    // gRPC calls in flight end within their deadline (request_timeout).
    {
      absl::MutexLock lock(&inflight_mu_);
      inflight_mu_.Await(absl::Condition(
          +[](int* n) { return *n == 0; }, &inflight_));
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  // One listening socket and its accept loop: the main listener ("http") or the metrics one
  // ("metrics"). The acceptor, the back-off timer and the back-off state are touched only on
  // the acceptor's strand; `open` by every session of the listener.
  struct Listener {
    Listener(net::io_context& ioc, const char* name, int max_connections)
        : name(name),
          max_connections(max_connections),
          acceptor(net::make_strand(ioc)),
          backoff_timer(acceptor.get_executor()) {}

    const char* const name;  // the `listener` label
    const int max_connections;
    tcp::acceptor acceptor;
    net::steady_timer backoff_timer;
    std::chrono::milliseconds backoff{0};  // 0: the last accept succeeded
    std::chrono::steady_clock::time_point last_error_log{};
    int errors_not_logged = 0;
    int port = 0;
    std::atomic<int> open{0};
    observability::Gauge* open_gauge = nullptr;  // with options_.metrics
    observability::Counter* refused = nullptr;
    observability::Counter* accept_errors = nullptr;
  };

  // A session's place under its listener's cap: taken when the session is built, given back
  // when it is destroyed (also when its constructor throws).
  class ConnectionSlot {
   public:
    explicit ConnectionSlot(Listener& l) : listener_(l) {
      listener_.open.fetch_add(1);
      if (listener_.open_gauge != nullptr) listener_.open_gauge->Add(1);
    }
    ~ConnectionSlot() {
      listener_.open.fetch_sub(1);
      if (listener_.open_gauge != nullptr) listener_.open_gauge->Add(-1);
    }
    ConnectionSlot(const ConnectionSlot&) = delete;
    ConnectionSlot& operator=(const ConnectionSlot&) = delete;

   private:
    Listener& listener_;
  };

  absl::Status Listen(Listener& l, const tcp::endpoint& endpoint, const std::string& address) {
    error_code ec;
    l.acceptor.open(endpoint.protocol(), ec);
    if (!ec) l.acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) l.acceptor.bind(endpoint, ec);
    if (!ec) l.acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat(l.name, ": cannot listen on ", address, ": ", ec.message()));
    }
    l.port = l.acceptor.local_endpoint(ec).port();
    return absl::OkStatus();
  }

  // An I/O thread. The handlers have their own barriers; whatever still escapes one (an
  // exception thrown inside Asio itself, say) is logged and the thread goes back into run(),
  // as the Asio documentation recommends, instead of reaching std::terminate. run() returns
  // normally once the io_context runs out of work (after Shutdown).
  void RunIoThread(net::io_context& ioc) {
    while (std::optional<std::string> what = CatchAll([&] { ioc.run(); })) {
      Log(LogLevel::kError, "http gateway: exception escaped an I/O handler", {{"what", *what}});
    }
  }

  // What Shutdown needs of a connection, whatever its stream type.
  class SessionBase {
   public:
    virtual ~SessionBase() = default;
    // A connection waiting for its next request (or in its TLS handshake) is closed now; one
    // with a request in flight closes after sending the reply. `self` is this session; it
    // moves into the handler posted to the session's io_context, so the last reference is never
    // dropped on the calling (non-gateway) thread.
    virtual void CloseIfIdle(std::shared_ptr<SessionBase> self) = 0;
  };

  // One TCP connection, plain (`Stream` = beast::tcp_stream) or TLS (beast::ssl_stream over
  // one). Lives as long as an asynchronous operation or a pending gRPC call holds a
  // reference. All members are touched only on the connection's I/O thread (the one thread
  // that runs its io_context).
  //
  // Every completion handler runs its step through Guard(): an exception (from the router,
  // the in-process token issuer, a bad_alloc, ...) is logged in one line, answered with a 500
  // when the request has had no reply yet, and ends the connection; it never unwinds into
  // Asio (where it would leave run() and, uncaught, terminate the process).
  template <class Stream>
  class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
    static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

   public:
    // `tls` is the context of a TLS connection (null for plain ones); the session keeps it
    // alive, so ReloadCertificate can swap the gateway's context under a live connection.
    Session(Impl& gw, Listener& listener, net::io_context& ioc, tcp::socket socket,
            std::shared_ptr<net::ssl::context> tls)
        : gw_(gw),
          listener_(listener),
          ioc_(ioc),
          slot_(listener),
          tls_(std::move(tls)),
          stream_(MakeStream(std::move(socket), tls_.get())) {}

    ~Session() override {
      absl::MutexLock lock(&gw_.sessions_mu_);
      gw_.sessions_.erase(this);
    }

    void Run() {
      {
        absl::MutexLock lock(&gw_.sessions_mu_);
        gw_.sessions_[this] = std::weak_ptr<SessionBase>(this->shared_from_this());
      }
      net::dispatch(stream_.get_executor(), Guarded("start", [](Session& s) {
                      if constexpr (kTls) {
                        s.Handshake();
                      } else {
                        s.DoRead();
                      }
                    }));
    }

    void CloseIfIdle(std::shared_ptr<SessionBase> base) override {
      auto self = std::static_pointer_cast<Session>(std::move(base));
      net::post(stream_.get_executor(), [self = std::move(self)] {
        if (self->reading_) {
          error_code ec;
          self->Tcp().socket().close(ec);
        }
      });
    }

   private:
    static Stream MakeStream(tcp::socket socket, net::ssl::context* tls) {
      if constexpr (kTls) {
        return Stream(std::move(socket), *tls);
      } else {
        (void)tls;
        return Stream(std::move(socket));
      }
    }

    beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

    // The TCP peer's address as text, asked of the kernel once per connection (it cannot
    // change); "" when the socket has no peer (already reset).
    const std::string& TcpPeer() {
      if (tcp_peer_.empty()) {
        error_code ec;
        const tcp::endpoint remote = Tcp().socket().remote_endpoint(ec);
        if (!ec) tcp_peer_ = remote.address().to_string();
      }
      return tcp_peer_;
    }

    // A completion handler that keeps this session alive and runs `step(*this, args...)`
    // behind the barrier. `where` names the step in the log line.
    template <class Step>
    auto Guarded(const char* where, Step step) {
      return
          [self = this->shared_from_this(), where, step = std::move(step)](auto&&... args) mutable {
            Session& s = *self;
            s.Guard(where, [&] { step(s, std::forward<decltype(args)>(args)...); });
          };
    }

    template <class F>
    void Guard(const char* where, F&& f) noexcept {
      try {
        f();
      } catch (const std::exception& e) {
        OnException(where, e.what());
      } catch (...) {
        OnException(where, "unknown exception");
      }
    }

    // One log line (the request id and what() cut short: never a header value or a body),
    // then a 500 if a request is being served and nothing was sent for it yet, else a close.
    void OnException(const char* where, const char* what) noexcept {
      try {
        Log(LogLevel::kError, "http handler exception",
            {{"request_id", PrintableRequestId(request_id_)},
             {"where", where},
             {"what", ExceptionText(what)}});
        if (in_request_ && !replied_) {
          in_request_ = false;
          return SendError(500, grpc::StatusCode::INTERNAL, "internal error");
        }
      } catch (...) {
        // Nothing more to try: the close below needs no allocation.
      }
      DoClose();
    }

    // TLS only: the handshake is bounded by request_timeout like an idle connection, and
    // counts as idle for Shutdown. A failed handshake (plain HTTP, an old protocol version, an
    // untrusted certificate on the client side) just closes the connection.
    void Handshake() {
      if constexpr (kTls) {
        if (gw_.shutting_down_) return DoClose();
        reading_ = true;
        Tcp().expires_after(absl::ToChronoMilliseconds(gw_.options_.request_timeout));
        stream_.async_handshake(net::ssl::stream_base::server,
                                Guarded("tls handshake", [](Session& s, error_code ec) {
                                  s.reading_ = false;
                                  if (ec) return s.DoClose();
                                  s.DoRead();
                                }));
      }
    }

    // The idle timeout runs from here: before the first byte of a request (and, with TLS,
    // after the handshake, which has its own), so a connection that says nothing is closed
    // after request_timeout; the whole request (headers and body) has to arrive within it.
    void DoRead() {
      if (gw_.shutting_down_) return CloseAfterReply();
      parser_.emplace();
      parser_->header_limit(
          static_cast<uint32_t>(std::min<size_t>(gw_.options_.max_header_bytes, UINT32_MAX)));
      parser_->body_limit(gw_.options_.max_body_bytes);
      reading_ = true;
      in_request_ = false;
      replied_ = false;
      request_id_.clear();
      Tcp().expires_after(absl::ToChronoMilliseconds(gw_.options_.request_timeout));
      http::async_read_header(
          stream_, buffer_, *parser_,
          Guarded("read header", [](Session& s, error_code ec, size_t) { s.OnHeader(ec); }));
    }

    // Answers `Expect: 100-continue` (curl sends it for bodies over 1 KiB) before the body is
    // read; a too-large Content-Length has already failed with body_limit at this point.
    void OnHeader(error_code ec) {
      start_ = std::chrono::steady_clock::now();
      method_ = "other";
      if (ec) return OnRead(ec);
      const auto verb = parser_->get().method_string();
      method_ = MethodLabel(absl::string_view(verb.data(), verb.size()));
      if (parser_->is_done()) return OnRead(ec);
      if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
        auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
        http::async_write(stream_, *cont,
                          Guarded("write 100-continue", [cont](Session& s, error_code ec, size_t) {
                            if (ec) return s.DoClose();
                            s.ReadBody();
                          }));
        return;
      }
      ReadBody();
    }

    void ReadBody() {
      http::async_read(
          stream_, buffer_, *parser_,
          Guarded("read body", [](Session& s, error_code ec, size_t) { s.OnRead(ec); }));
    }

    void OnRead(error_code ec) {
      reading_ = false;
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == net::error::operation_aborted) {
        return DoClose();
      }
      if (ec == http::error::body_limit) {
        return SendError(413, grpc::StatusCode::RESOURCE_EXHAUSTED, "request body too large");
      }
      if (ec == http::error::header_limit) {
        return SendError(431, grpc::StatusCode::RESOURCE_EXHAUSTED,
                         "request header fields too large");
      }
      if (ec) {
        if (&ec.category() == &http::make_error_code(http::error::bad_target).category()) {
          return SendError(400, grpc::StatusCode::INVALID_ARGUMENT, "malformed HTTP request");
        }
        return DoClose();  // Connection reset and the like: nobody to answer.
      }
      in_request_ = true;
      Dispatch();
    }

    void Dispatch() {
      http::request<http::string_body>& req = parser_->get();
      version_ = req.version();
      keep_alive_ = req.keep_alive();
      const RestRequest request = ToRestRequest(req, gw_.trusted_proxies_, TcpPeer());
      request_id_ = request.request_id;
      peer_ = request.forwarded_for;
      // The metrics listener has a router of its own: /metrics and /healthz only.
      const RestRouter& router =
          &listener_ == gw_.metrics_listener_.get() ? *gw_.metrics_router_ : gw_.router_;
      // The reply comes on a gRPC thread or a token worker, or inline on this connection's I/O
      // thread (errors found before any call): dispatch runs it at once in the latter case and
      // hops back onto this connection's io_context in the former.
      // Everything the callback holds lives in one ReplyTarget so the order of destruction is
      // fixed: the session and the work guard move into the posted handler (the gRPC thread
      // must never drop the last Session reference), and the in-flight token goes last, after
      // every asio temporary of the call is gone. Shutdown waits for the tokens before it lets
      // the io_contexts go, so no other thread posts to a destroyed io_context.
      struct ReplyTarget {
        std::shared_ptr<void> inflight;  // Declared first: released last.
        std::shared_ptr<Session> session;
        std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
      };
      ReplyTarget target{gw_.BeginInflight(), this->shared_from_this(), net::make_work_guard(ioc_)};
      // The router may throw (inline, on this thread): Guard around Dispatch catches it. The
      // callback may run on a gRPC thread, where nothing must escape either.
      router.Handle(request, [target = std::move(target)](RestReply reply) mutable {
        if (target.session == nullptr) return;  // The router calls done once; be safe anyway.
        if (std::optional<std::string> what = CatchAll([&] {
              Session* s = target.session.get();
              net::dispatch(s->stream_.get_executor(),
                            [session = std::move(target.session), work = std::move(target.work),
                             reply = std::move(reply)]() mutable {
                              Session& s = *session;
                              s.Guard("write", [&] { s.Write(std::move(reply)); });
                            });
            })) {
          Log(LogLevel::kError, "http gateway: cannot hand a reply to its connection",
              {{"what", *what}});
        }
      });
    }

    void Write(RestReply reply) {
      // A reply that arrives after the barrier already answered (or closed) this request.
      if (replied_) return;
      replied_ = true;
      // The id the service used (it keeps a usable client id, else generates one); when no
      // call reached the service, the client's own id if it is printable.
      const std::string id =
          PrintableRequestId(reply.request_id.empty() ? request_id_ : reply.request_id);
      gw_.Record(method_, reply.route.empty() ? "other" : reply.route, reply.status, id, peer_,
                 start_);
      auto res = std::make_shared<http::response<http::string_body>>();
      res->version(version_);
      ToHttpResponse(std::move(reply), id, keep_alive_ && !gw_.shutting_down_, res.get());
      Tcp().expires_after(absl::ToChronoMilliseconds(gw_.options_.request_timeout));
      http::async_write(stream_, *res, Guarded("write", [res](Session& s, error_code ec, size_t) {
                          if (ec) return s.DoClose();
                          if (res->need_eof()) return s.CloseAfterReply();
                          s.DoRead();
                        }));
    }

    // Replies to a request that could not be read or could not be served (500 from the
    // barrier), then closes the connection gracefully.
    void SendError(int http_status, grpc::StatusCode code, absl::string_view message) {
      replied_ = true;
      version_ = 11;
      const std::string id = PrintableRequestId(request_id_);
      gw_.Record(method_, "other", http_status, id, TcpPeer(), start_);
      auto res = std::make_shared<http::response<http::string_body>>(
          static_cast<http::status>(http_status), version_);
      res->set(http::field::server, "registry-auth");
      res->set(http::field::content_type, "application/json");
      if (!id.empty()) res->set("x-request-id", id);
      res->keep_alive(false);
      res->body() = ErrorJson(code, message);
      res->prepare_payload();
      Tcp().expires_after(absl::ToChronoMilliseconds(gw_.options_.request_timeout));
      http::async_write(
          stream_, *res,
          Guarded("write error", [res](Session& s, error_code, size_t) { s.DoLingeringClose(); }));
    }

    // Closes the connection now (errors, timeouts, a peer that went away).
    void DoClose() noexcept {
      error_code ec;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
      Tcp().socket().close(ec);
    }

    // Closes after a complete reply: a TLS connection first sends its close_notify (and waits
    // up to kLingerTime for the peer's), so the client sees a clean end of the stream.
    void CloseAfterReply() {
      if constexpr (kTls) {
        Tcp().expires_after(kLingerTime);
        stream_.async_shutdown(
            Guarded("tls shutdown", [](Session& s, error_code) { s.DoClose(); }));
      } else {
        DoClose();
      }
    }

    // Half-closes, then discards input until the peer closes or kLingerTime passes. (TLS: the
    // shutdown exchange does the same.)
    void DoLingeringClose() {
      if constexpr (kTls) {
        return CloseAfterReply();
      } else {
        error_code ec;
        Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec) return DoClose();
        Tcp().expires_after(kLingerTime);
        Drain();
      }
    }

    void Drain() {
      drain_.resize(4096);
      stream_.async_read_some(net::buffer(drain_),
                              Guarded("drain", [](Session& s, error_code ec, size_t) {
                                if (ec) return s.DoClose();
                                s.Drain();
                              }));
    }

    Impl& gw_;
    Listener& listener_;
    net::io_context& ioc_;                    // the I/O thread this connection runs on
    ConnectionSlot slot_;                     // Before the stream: given back after it closes.
    std::shared_ptr<net::ssl::context> tls_;  // Null for plain connections.
    Stream stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::vector<char> drain_;
    std::string request_id_;  // the client's x-request-id of the current request, as sent
    std::string tcp_peer_;    // TcpPeer()
    std::string peer_;
    const char* method_ = "other";
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    unsigned version_ = 11;
    bool keep_alive_ = false;
    bool reading_ = false;
    bool in_request_ = false;  // a complete request is being served
    bool replied_ = false;     // its reply (or an error reply) has been started
  };

  // One finished request: its metrics and its access-log line. `route` is a route template
  // (bounded), never the raw path; nothing from the headers but the request id goes in.
  void Record(const char* method, const std::string& route, int status,
              const std::string& request_id, const std::string& peer,
              std::chrono::steady_clock::time_point start) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (requests_ != nullptr) {
      const std::string code = std::to_string(status);
      requests_->WithLabels({method, route, code}).Increment();
      seconds_->WithLabels({method, route, code}).Observe(seconds);
    }
    const LogLevel level = status >= 500 ? LogLevel::kWarning : LogLevel::kInfo;
    if (!LogEnabled(level)) return;
    Log(level, "http request",
        {{"request_id", request_id},
         {"method", method},
         {"route", route},
         {"status", status},
         {"peer", peer},
         {"duration_ms", seconds * 1000.0}});
  }

  void DoAccept(Listener& l) {
    // Each connection lives on one I/O thread's own io_context, taken in turn: its handlers
    // run on that thread only, so it needs no strand, and no handler is handed between
    // threads (a shared io_context wakes another thread for nearly every completion).
    net::io_context& ioc = *iocs_[next_ioc_++ % iocs_.size()];
    // Starting the accept may throw (Asio allocates; a service it needs may fail to start when
    // descriptors run out): then it is retried after a back-off, never given up.
    std::optional<std::string> what = CatchAll([&] {
      l.acceptor.async_accept(ioc, [this, &l, &ioc](error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !l.acceptor.is_open()) return;
        if (ec) return OnAcceptError(l, ec);
        l.backoff = std::chrono::milliseconds(0);
        // On an exception the connection is lost (its socket closes with it); accepting goes
        // on.
        if (std::optional<std::string> what =
                CatchAll([&] { StartSession(l, ioc, std::move(socket)); })) {
          Log(LogLevel::kError, "http gateway: cannot start a connection",
              {{"listener", l.name}, {"what", *what}});
        }
        DoAccept(l);
      });
    });
    if (what.has_value()) OnAcceptError(l, net::error::no_descriptors);
  }

  // At the cap, the new connection is accepted and closed at once (with a reset: no
  // TIME_WAIT kept for it) rather than left in the kernel's backlog by pausing accept. A
  // client then learns at once that this replica is full and can retry or go elsewhere,
  // instead of waiting in a queue that an attacker holding idle connections keeps full; the
  // backlog stays drained, so a freed slot serves a live client, not one that gave up long
  // ago; and each refusal can be counted. The cost is one accept() per refused connection and
  // one descriptor for an instant, so the cap has to stay below RLIMIT_NOFILE.
  void StartSession(Listener& l, net::io_context& ioc, tcp::socket socket) {
    if (l.open.load() >= l.max_connections || shutting_down_) {
      error_code ignored;
      socket.set_option(net::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
      if (l.refused != nullptr) l.refused->Increment();
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::shared_ptr<net::ssl::context> tls =
        &l == metrics_listener_.get() ? nullptr : CurrentTlsContext();
    if (tls != nullptr) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          *this, l, ioc, std::move(socket), std::move(tls))
          ->Run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(*this, l, ioc, std::move(socket), nullptr)
          ->Run();
    }
  }

  // Accepting failed (EMFILE when out of descriptors, ENFILE, ENOBUFS, ...): try again after a
  // pause that doubles up to kAcceptBackoffMax. Logged at most once per kAcceptBackoffMax,
  // with the number of failures since the last line.
  void OnAcceptError(Listener& l, error_code ec) {
    if (l.accept_errors != nullptr) l.accept_errors->Increment();
    l.backoff = l.backoff.count() == 0
                    ? kAcceptBackoffMin
                    : std::min<std::chrono::milliseconds>(l.backoff * 2, kAcceptBackoffMax);
    const auto now = std::chrono::steady_clock::now();
    if (now - l.last_error_log >= kAcceptBackoffMax) {
      Log(LogLevel::kError, "http gateway: accept failed, backing off",
          {{"listener", l.name},
           {"error", ec.message()},
           {"backoff_ms", static_cast<int>(l.backoff.count())},
           {"failures_not_logged", l.errors_not_logged}});
      l.last_error_log = now;
      l.errors_not_logged = 0;
    } else {
      ++l.errors_not_logged;
    }
    l.backoff_timer.expires_after(l.backoff);
    l.backoff_timer.async_wait([this, &l](error_code wait_ec) {
      if (wait_ec == net::error::operation_aborted || !l.acceptor.is_open()) return;
      DoAccept(l);
    });
  }

  const HttpGatewayOptions options_;
  const TrustedProxies trusted_proxies_;
  RestRouter router_;
  std::unique_ptr<RestRouter> metrics_router_;        // with options_.metrics_listen
  observability::CounterFamily* requests_ = nullptr;  // with options_.metrics
  observability::HistogramFamily* seconds_ = nullptr;
  absl::Mutex sessions_mu_;
  std::map<SessionBase*, std::weak_ptr<SessionBase>> sessions_ ABSL_GUARDED_BY(sessions_mu_);
  // The TLS context for new connections (null: plain HTTP); ReloadCertificate swaps it.
  mutable absl::Mutex tls_mu_;
  std::shared_ptr<net::ssl::context> tls_ ABSL_GUARDED_BY(tls_mu_);
  absl::Mutex join_mu_;
  bool joined_ ABSL_GUARDED_BY(join_mu_) = false;
  std::atomic<bool> shutting_down_{false};
  absl::Mutex inflight_mu_;
  int inflight_ ABSL_GUARDED_BY(inflight_mu_) = 0;
  // One io_context per I/O thread (each run by that thread alone); the listeners accept on
  // the first.
  std::vector<std::unique_ptr<net::io_context>> iocs_;
  std::atomic<size_t> next_ioc_{0};
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::unique_ptr<Listener> http_;
  std::unique_ptr<Listener> metrics_listener_;  // with options_.metrics_listen
  std::vector<std::thread> threads_;
};

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Create(
    const HttpGatewayOptions& options, std::shared_ptr<grpc::Channel> channel) {
  if (channel == nullptr) return absl::InvalidArgumentError("http gateway: channel is null");
  if (options.threads < 1 || options.threads > 256) {
    return absl::InvalidArgumentError("http gateway: threads must be in [1, 256]");
  }
  if (options.token_workers < 0 || options.token_workers > 256 || options.token_queue > 100000) {
    return absl::InvalidArgumentError(
        "http gateway: token_workers must be in [0, 256] and token_queue at most 100000");
  }
  if (options.max_body_bytes == 0 || options.max_header_bytes < 1024) {
    return absl::InvalidArgumentError(
        "http gateway: max_body_bytes must be > 0 and max_header_bytes >= 1024");
  }
  if (options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http gateway: request_timeout must be positive");
  }
  if (options.token_basic_realm.empty() || options.token_basic_realm.size() > 128 ||
      !std::all_of(options.token_basic_realm.begin(), options.token_basic_realm.end(),
                   [](char c) { return c >= 0x20 && c <= 0x7E && c != '"' && c != '\\'; })) {
    return absl::InvalidArgumentError(
        "http gateway: token_basic_realm must be 1..128 printable ASCII characters without "
        "'\"' or '\\'");
  }
  if (options.max_connections < 1 || options.max_connections > 1000000) {
    return absl::InvalidArgumentError("http gateway: max_connections must be in [1, 1000000]");
  }
  absl::StatusOr<tcp::endpoint> endpoint = ParseListenAddress(options.listen);
  if (!endpoint.ok()) return endpoint.status();
  std::optional<tcp::endpoint> metrics_endpoint;
  if (!options.metrics_listen.empty()) {
    if (options.metrics == nullptr) {
      return absl::InvalidArgumentError("http gateway: metrics_listen needs a metrics registry");
    }
    absl::StatusOr<tcp::endpoint> parsed = ParseListenAddress(options.metrics_listen);
    if (!parsed.ok()) return parsed.status();
    metrics_endpoint = *parsed;
  }
  WarnIfOverDescriptorLimit(options.max_connections, options.threads);
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "http gateway: tls_cert_file and tls_key_file must be set together");
  }
  std::shared_ptr<net::ssl::context> tls;
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::shared_ptr<net::ssl::context>> loaded =
        LoadTlsContext(options.tls_cert_file, options.tls_key_file);
    if (!loaded.ok()) return loaded.status();
    tls = *std::move(loaded);
  } else if (!endpoint->address().is_loopback() && !options.plaintext_behind_proxy) {
    return absl::InvalidArgumentError(absl::StrCat(
        "http gateway: refusing plain HTTP on the non-loopback address ", options.listen,
        ": set tls_cert_file and tls_key_file to serve HTTPS, or plaintext_behind_proxy when a "
        "TLS-terminating proxy sits in front"));
  }
  absl::StatusOr<TrustedProxies> trusted = TrustedProxies::Parse(options.trusted_proxies);
  if (!trusted.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("http gateway: trusted_proxies: ", trusted.status().message()));
  }
  auto impl = std::make_unique<Impl>(options, *std::move(trusted), std::move(channel));
  impl->SetTlsContext(std::move(tls));
  if (absl::Status s = impl->Start(*endpoint, metrics_endpoint); !s.ok()) return s;
  return std::unique_ptr<HttpGateway>(new HttpGateway(std::move(impl)));
}

HttpGateway::HttpGateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpGateway::~HttpGateway() { Shutdown(); }

int HttpGateway::port() const { return impl_->port(); }

int HttpGateway::metrics_port() const { return impl_->metrics_port(); }

void HttpGateway::Shutdown() { impl_->Shutdown(); }

absl::Status HttpGateway::ReloadCertificate() { return impl_->ReloadCertificate(); }

bool HttpGateway::tls() const { return impl_->CurrentTlsContext() != nullptr; }

}  // namespace registryauth::gateway
