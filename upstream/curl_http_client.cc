#include "upstream/curl_http_client.h"

#include <curl/curl.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/strings.h"
#include "upstream/redirect_policy.h"

namespace registryauth::upstream {

// Each easy handle keeps its own connection cache, and curl_easy_reset keeps it, so a pool of
// idle handles is what reuses connections. (A share handle with CURL_LOCK_DATA_CONNECT would
// also share connections, but with the easy interface libcurl caps that cache at 4 connections
// and closes the rest, so concurrent callers would reconnect nearly every time.) The share
// handle holds the DNS cache and TLS sessions for all handles.
struct CurlHttpClient::Shared {
  CURLSH* share = nullptr;
  absl::Mutex locks[CURL_LOCK_DATA_LAST];
  absl::Mutex pool_mu;
  std::vector<CURL*> idle ABSL_GUARDED_BY(pool_mu);
  std::size_t max_idle = 0;

  CURL* Acquire() {
    {
      absl::MutexLock lock(&pool_mu);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }

  void Release(CURL* handle) {
    curl_easy_reset(handle);  // keeps the handle's live connections
    {
      absl::MutexLock lock(&pool_mu);
      if (idle.size() < max_idle) {
        idle.push_back(handle);
        return;
      }
    }
    curl_easy_cleanup(handle);
  }

  ~Shared() {
    for (CURL* handle : idle) curl_easy_cleanup(handle);  // before the share they use
    if (share != nullptr) curl_share_cleanup(share);
  }
};

namespace {

// curl_global_init is not thread-safe and must run once, before any other libcurl call.
CURLcode GlobalInitOnce() {
  static const CURLcode result = curl_global_init(CURL_GLOBAL_DEFAULT);
  return result;
}

void LockShared(CURL* /*handle*/, curl_lock_data data, curl_lock_access /*access*/, void* user) {
  static_cast<absl::Mutex*>(user)[data].Lock();
}

void UnlockShared(CURL* /*handle*/, curl_lock_data data, void* user) {
  static_cast<absl::Mutex*>(user)[data].Unlock();
}

// State the libcurl callbacks write into during one transfer.
struct Transfer {
  const std::vector<IpNetwork>* allowed_networks = nullptr;
  bool via_proxy = false;           // every socket goes to the configured proxy
  bool plain_http = false;          // the current URL is http://: only allowed addresses
  bool blocked = false;             // the outbound policy refused an address
  bool blocked_plain_http = false;  // ... only because the URL was plain http
  std::size_t max_body = 0;
  std::size_t max_headers = 0;
  std::size_t header_bytes = 0;
  bool too_large = false;
  HttpResponse response;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * nmemb;
  if (t->response.body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * nmemb;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a redirect or a 1xx): keep only the final one's headers.
    t->response.headers.clear();
    t->header_bytes = 0;
    return n;
  }
  t->header_bytes += n;
  if (t->header_bytes > t->max_headers) {
    t->too_large = true;
    return 0;
  }
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return n;
  if ((line.front() == ' ' || line.front() == '\t') && !t->response.headers.empty()) {
    // obs-fold: a continuation of the previous header's value.
    std::string& value = t->response.headers.back().second;
    value += ' ';
    value += std::string(absl::StripAsciiWhitespace(ToAbsl(line)));
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;  // not a header: ignore
  std::string name = absl::AsciiStrToLower(ToAbsl(line.substr(0, colon)));
  std::string value(absl::StripAsciiWhitespace(ToAbsl(line.substr(colon + 1))));
  t->response.headers.emplace_back(std::move(name), std::move(value));
  return n;
}

// The outbound policy's verdict on one address: nullopt if the client may connect to it, else
// whether it was refused only because the URL is plain http (true) or because it is internal.
std::optional<bool> PolicyRefuses(const std::optional<IpAddress>& ip, bool plain_http,
                                  const std::vector<IpNetwork>& allowed_networks) {
  const bool allowed = ip.has_value() && InAnyNetwork(*ip, allowed_networks);
  const bool internal = !ip.has_value() || IsInternalAddress(*ip);
  if (allowed || !(internal || plain_http)) return std::nullopt;
  return !internal;
}

// libcurl's open-socket callback: runs after the host name resolved, once per address tried,
// before connect(). Refusing here (CURL_SOCKET_BAD) means an internal address is never
// contacted, whichever name led to it and whenever it was resolved. With a proxy every socket
// goes to the proxy the operator named (CURLOPT_NOPROXY is ""), which is not judged: the
// target was checked before the transfer (CheckProxiedTarget).
curl_socket_t OnOpenSocket(void* user, curlsocktype /*purpose*/, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (address == nullptr) return CURL_SOCKET_BAD;
  if (!t->via_proxy) {
    const std::optional<bool> refused =
        PolicyRefuses(IpAddressFromSockaddr(&address->addr), t->plain_http, *t->allowed_networks);
    if (refused.has_value()) {
      t->blocked = true;
      t->blocked_plain_http = *refused;
      return CURL_SOCKET_BAD;
    }
  }
  return socket(address->family, address->socktype, address->protocol);
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || std::strchr("\"(),/:;<=>?@[\\]{}", c) != nullptr) {
      return false;
    }
  }
  return true;
}

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// The parts of `url` the client judges, as libcurl reads it; nullopt if it does not parse.
// Never the user info, path or query, which may hold credentials.
struct UrlParts {
  std::string scheme;
  std::string host;  // an IPv6 literal in brackets, as libcurl gives it
  std::string port;  // "" when the URL names none
};

std::optional<UrlParts> ParseUrlParts(const std::string& url) {
  CURLU* u = curl_url();
  if (u == nullptr) return std::nullopt;
  std::optional<UrlParts> out;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
      out = UrlParts{scheme, host, ""};
      if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK) out->port = port;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(u);
  return out;
}

// "scheme://host[:port]".
std::string OriginOf(const UrlParts& parts) {
  return parts.port.empty() ? absl::StrCat(parts.scheme, "://", parts.host)
                            : absl::StrCat(parts.scheme, "://", parts.host, ":", parts.port);
}

// `host` without the brackets of an IPv6 literal.
std::string_view Unbracketed(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

bool HasHttpScheme(const std::string& url) {
  const std::string lower = absl::AsciiStrToLower(ToAbsl(std::string_view(url).substr(0, 8)));
  return lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0;
}

// The address a URL's host (as ParseUrlParts gives it) names literally (`10.0.0.5`,
// `10.0.0.5.`, `[::1]`, and the numeric and percent-encoded forms libcurl normalizes, such as
// `2852039166` or `%31%30.0.0.5`), or nullopt for a host name.
std::optional<IpAddress> HostLiteral(std::string_view host) {
  std::string_view h = Unbracketed(host);
  if (h.size() != host.size()) {
    h = h.substr(0, h.find('%'));  // a zone id ("fe80::1%25eth0") does not change the range
  } else if (!h.empty() && h.back() == '.') {
    h.remove_suffix(1);  // "10.0.0.5." (a proxy may read it as the address)
  }
  return ParseIpAddress(h);
}

// libcurl's error text, kept only if it is short printable ASCII and quotes nothing the
// caller sent (a header value or the body could be a credential).
std::string SafeCurlDetail(const char* errbuf, const HttpRequest& request) {
  std::string detail(errbuf);
  if (detail.empty() || detail.size() > 300) return "";
  for (char c : detail) {
    if (c < 0x20 || c > 0x7e) return "";
  }
  for (const auto& [name, value] : request.headers) {
    if (value.size() >= 4 && detail.find(value) != std::string::npos) return "";
  }
  if (request.body.size() >= 4 && detail.find(request.body) != std::string::npos) return "";
  return detail;
}

// Why a TCP connect failed, from the socket's errno, without naming the address.
const char* ConnectFailure(long os_errno) {
  switch (os_errno) {
    case ECONNREFUSED:
      return "connection refused";
    case ENETUNREACH:
      return "network unreachable";
    case EHOSTUNREACH:
      return "host unreachable";
    case ETIMEDOUT:
      return "timed out";
    case ECONNRESET:
      return "connection reset";
    default:
      return "no connection";
  }
}

// Not the address, nor libcurl's text (which may quote it): the host resolved to an internal
// address, and which one is none of the caller's business.
absl::Status BlockedError(const std::string& what, bool plain_http_only) {
  return MakeHttpError(
      absl::StatusCode::kPermissionDenied, HttpErrorKind::kBlocked,
      absl::StrCat(what, plain_http_only
                             ? ": blocked by outbound policy (plain http only to allowed "
                               "networks; use https)"
                             : ": blocked by outbound policy (the host's address is loopback, "
                               "private, link-local or otherwise internal)"));
}

// With a proxy the open-socket callback sees only the proxy's address, so the target host of
// `url` is resolved here and every address it has must pass the policy before the request is
// handed to the proxy. The proxy resolves the name again when it connects: a name whose
// answers change between the two lookups (DNS rebinding) can still lead it elsewhere, so the
// proxy must apply its own policy too (README, docs/security.md). nullopt: go ahead.
std::optional<absl::Status> CheckProxiedTarget(const std::string& url, const std::string& what,
                                               const std::vector<IpNetwork>& allowed_networks) {
  const std::optional<UrlParts> parts = ParseUrlParts(url);
  const std::string host = parts.has_value() ? std::string(Unbracketed(parts->host)) : "";
  if (host.empty()) {
    return MakeHttpError(absl::StatusCode::kInvalidArgument, HttpErrorKind::kBadRequest,
                         absl::StrCat(what, ": malformed URL"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    return MakeHttpError(absl::StatusCode::kUnavailable, HttpErrorKind::kDns,
                         absl::StrCat(what, ": host name did not resolve"));
  }
  const bool plain_http = absl::AsciiStrToLower(parts->scheme) == "http";
  std::optional<absl::Status> refused;
  for (const addrinfo* a = found; a != nullptr && !refused.has_value(); a = a->ai_next) {
    const std::optional<bool> verdict =
        PolicyRefuses(IpAddressFromSockaddr(a->ai_addr), plain_http, allowed_networks);
    if (verdict.has_value()) refused = BlockedError(what, *verdict);
  }
  freeaddrinfo(found);
  return refused;
}

absl::Status MapCurlError(CURLcode code, const Transfer& transfer, long redirects,
                          const std::string& what, const std::string& detail,
                          absl::Duration timeout, long os_errno) {
  const std::string suffix = detail.empty() ? "" : absl::StrCat(" (", detail, ")");
  if (transfer.blocked && code != CURLE_OK) {
    return BlockedError(what, transfer.blocked_plain_http);
  }
  if (transfer.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return MakeHttpError(absl::StatusCode::kResourceExhausted, HttpErrorKind::kTooLarge,
                         absl::StrCat(what, ": response larger than the client accepts"));
  }
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return MakeHttpError(absl::StatusCode::kUnavailable, HttpErrorKind::kDns,
                           absl::StrCat(what, ": host name did not resolve", suffix));
    case CURLE_COULDNT_CONNECT:
      // Our own words, not libcurl's text: what failed, never which address was tried.
      return MakeHttpError(
          absl::StatusCode::kUnavailable, HttpErrorKind::kConnect,
          absl::StrCat(what, ": could not connect (", ConnectFailure(os_errno), ")"));
    case CURLE_OPERATION_TIMEDOUT:
      return MakeHttpError(
          absl::StatusCode::kDeadlineExceeded, HttpErrorKind::kTimeout,
          absl::StrCat(what, ": no complete answer within ", absl::FormatDuration(timeout)));
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return MakeHttpError(absl::StatusCode::kUnavailable, HttpErrorKind::kConnectionLost,
                           absl::StrCat(what, ": connection lost", suffix));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return MakeHttpError(
          absl::StatusCode::kFailedPrecondition, HttpErrorKind::kTls,
          absl::StrCat("tls: ", what, ": ",
                       code == CURLE_PEER_FAILED_VERIFICATION ? "server certificate not trusted"
                                                              : "TLS handshake failed",
                       suffix));
    case CURLE_TOO_MANY_REDIRECTS:
      return MakeHttpError(absl::StatusCode::kFailedPrecondition, HttpErrorKind::kRedirect,
                           absl::StrCat(what, ": too many redirects"));
    case CURLE_UNSUPPORTED_PROTOCOL:
      if (redirects > 0) {
        return MakeHttpError(absl::StatusCode::kFailedPrecondition, HttpErrorKind::kRedirect,
                             absl::StrCat(what, ": redirected to a URL that is not http(s)"));
      }
      return MakeHttpError(absl::StatusCode::kInvalidArgument, HttpErrorKind::kBadRequest,
                           absl::StrCat(what, ": unsupported URL scheme"));
    case CURLE_URL_MALFORMAT:
      return MakeHttpError(absl::StatusCode::kInvalidArgument, HttpErrorKind::kBadRequest,
                           absl::StrCat(what, ": malformed URL"));
    default:
      return MakeHttpError(
          absl::StatusCode::kUnknown, HttpErrorKind::kProtocol,
          absl::StrCat(what, ": request failed: ", curl_easy_strerror(code), suffix));
  }
}

// Frees a header list after wiping its strings (they may hold an Authorization value).
void WipeAndFree(curl_slist* list) {
  for (curl_slist* p = list; p != nullptr; p = p->next) {
    if (p->data != nullptr) OPENSSL_cleanse(p->data, std::strlen(p->data));
  }
  curl_slist_free_all(list);
}

long ToMillis(absl::Duration d) {
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(d, absl::Milliseconds(1)));
  return static_cast<long>(std::max<int64_t>(1, std::min<int64_t>(ms, 24LL * 3600 * 1000)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(Options options) {
  if (options.connect_timeout <= absl::ZeroDuration() ||
      options.default_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("http client: timeouts must be positive");
  }
  if (options.max_redirects < 0 || options.max_redirects > 20) {
    return absl::InvalidArgumentError("http client: max_redirects must be 0..20");
  }
  if (options.max_body_bytes == 0 || options.max_header_bytes == 0) {
    return absl::InvalidArgumentError("http client: size limits must be positive");
  }
  if (!options.proxy.empty() &&
      (!HasHttpScheme(options.proxy) || !ParseUrlParts(options.proxy).has_value() ||
       HasLineBreakOrNul(options.proxy))) {
    return absl::InvalidArgumentError("http client: proxy must be an http:// or https:// URL");
  }
  if (!options.ca_bundle_path.empty()) {
    std::FILE* f = std::fopen(options.ca_bundle_path.c_str(), "rb");
    if (f == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("http client: cannot read CA bundle ", options.ca_bundle_path));
    }
    std::fclose(f);
  }
  if (GlobalInitOnce() != CURLE_OK) {
    return absl::InternalError("http client: curl_global_init failed");
  }
  auto shared = std::make_unique<Shared>();
  shared->share = curl_share_init();
  if (shared->share == nullptr) return absl::InternalError("http client: curl_share_init failed");
  bool ok = curl_share_setopt(shared->share, CURLSHOPT_LOCKFUNC, LockShared) == CURLSHE_OK &&
            curl_share_setopt(shared->share, CURLSHOPT_UNLOCKFUNC, UnlockShared) == CURLSHE_OK &&
            curl_share_setopt(shared->share, CURLSHOPT_USERDATA, shared->locks) == CURLSHE_OK;
  shared->max_idle = options.max_idle_connections;
  for (curl_lock_data data : {CURL_LOCK_DATA_DNS, CURL_LOCK_DATA_SSL_SESSION}) {
    ok = ok && curl_share_setopt(shared->share, CURLSHOPT_SHARE, data) == CURLSHE_OK;
  }
  if (!ok) return absl::InternalError("http client: curl share setup failed");
  return std::unique_ptr<CurlHttpClient>(new CurlHttpClient(std::move(options), std::move(shared)));
}

CurlHttpClient::CurlHttpClient(Options options, std::unique_ptr<Shared> shared)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? *options_.clock : real_clock_),
      shared_(std::move(shared)) {}

CurlHttpClient::~CurlHttpClient() = default;

absl::StatusOr<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  const std::optional<UrlParts> parts = ParseUrlParts(request.url);
  const std::string origin = parts.has_value() ? OriginOf(*parts) : "";
  const std::string what = absl::StrCat(IsToken(request.method) ? request.method : "request", " ",
                                        origin.empty() ? "(bad URL)" : origin);
  if (!IsToken(request.method)) {
    return MakeHttpError(absl::StatusCode::kInvalidArgument, HttpErrorKind::kBadRequest,
                         "http client: bad method");
  }
  if (origin.empty() || !HasHttpScheme(request.url) || HasLineBreakOrNul(request.url)) {
    return MakeHttpError(absl::StatusCode::kInvalidArgument, HttpErrorKind::kBadRequest,
                         absl::StrCat(what, ": URL must be an absolute http(s) URL"));
  }
  // A host written as an address (also in the numeric forms libcurl normalizes, or with a
  // trailing dot a proxy may read as the address) is judged at once, before any lookup or
  // connection. Host names: the open-socket check, or CheckProxiedTarget with a proxy.
  // (Redirects stay on this host: see the loop below.)
  if (const std::optional<IpAddress> literal = HostLiteral(parts->host)) {
    const bool plain_http_url = absl::AsciiStrToLower(parts->scheme) == "http";
    if (const std::optional<bool> refused =
            PolicyRefuses(literal, plain_http_url, options_.allowed_networks)) {
      return BlockedError(what, *refused);
    }
  }
  const absl::Duration left = request.deadline - clock_.Now();
  if (left <= absl::ZeroDuration()) {
    return MakeHttpError(absl::StatusCode::kDeadlineExceeded, HttpErrorKind::kTimeout,
                         absl::StrCat(what, ": deadline passed before the request was sent"));
  }
  const absl::Duration timeout = std::min(
      request.timeout > absl::ZeroDuration() ? request.timeout : options_.default_timeout, left);
  const absl::Duration connect_timeout = std::min(options_.connect_timeout, timeout);

  curl_slist* headers = nullptr;
  bool has_user_agent = false;
  for (const auto& [name, value] : request.headers) {
    if (!IsToken(name) || HasLineBreakOrNul(value)) {
      WipeAndFree(headers);
      return MakeHttpError(absl::StatusCode::kInvalidArgument, HttpErrorKind::kBadRequest,
                           absl::StrCat(what, ": bad request header"));
    }
    if (absl::AsciiStrToLower(ToAbsl(name)) == "user-agent") has_user_agent = true;
    // "Name;" sends an empty header; "Name:" would remove it.
    const std::string line =
        value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value);
    curl_slist* next = curl_slist_append(headers, line.c_str());
    if (next == nullptr) {
      WipeAndFree(headers);
      return absl::ResourceExhaustedError("http client: out of memory");
    }
    headers = next;
  }
  // No "Expect: 100-continue" round trip for bodies.
  if (curl_slist* next = curl_slist_append(headers, "Expect:"); next != nullptr) headers = next;

  CURL* curl = shared_->Acquire();
  if (curl == nullptr) {
    WipeAndFree(headers);
    return absl::InternalError("http client: curl_easy_init failed");
  }
  Transfer transfer;
  transfer.allowed_networks = &options_.allowed_networks;
  transfer.via_proxy = !options_.proxy.empty();
  transfer.max_body = options_.max_body_bytes;
  transfer.max_headers = options_.max_header_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(curl, CURLOPT_SHARE, shared_->share);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // followed below, hop by hop
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ToMillis(timeout));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ToMillis(connect_timeout));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_bundle_path.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle_path.c_str());
  }
  // Always set, so libcurl never reads http_proxy / https_proxy / all_proxy / no_proxy from
  // the environment: "" means no proxy, and with one every host goes through it.
  curl_easy_setopt(curl, CURLOPT_PROXY, options_.proxy.c_str());
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "");
  if (!has_user_agent) curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_body_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &transfer);
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    if (request.method != "POST") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.method == "POST" || !request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }

  // Redirects are followed here, not by libcurl, so each hop can be checked first
  // (DecideRedirect, upstream/redirect_policy.h): the same scheme, host and port only
  // (credentials in the request's headers never go elsewhere).
  const absl::Time give_up = clock_.Now() + timeout;
  std::string url = request.url;
  CURLcode code = CURLE_OK;
  long status = 0;
  std::optional<absl::Status> refused;
  for (int hop = 0;; ++hop) {
    transfer.response = HttpResponse();
    transfer.header_bytes = 0;
    transfer.plain_http =
        absl::AsciiStrToLower(ToAbsl(std::string_view(url).substr(0, 5))) == "http:";
    if (transfer.via_proxy) {
      refused = CheckProxiedTarget(url, what, options_.allowed_networks);
      if (refused.has_value()) break;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    code = curl_easy_perform(curl);
    status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (code != CURLE_OK || options_.max_redirects == 0 ||
        !(status == 301 || status == 302 || status == 303 || status == 307 || status == 308)) {
      break;
    }
    // libcurl's resolution of the Location header against `url` (it does not follow it);
    // DecideRedirect resolves it again, which leaves an absolute URL as it is.
    char* location = nullptr;
    curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
    if (location == nullptr) break;  // a 3xx without Location: the caller gets it as is
    if (hop >= options_.max_redirects) {
      refused = MakeHttpError(absl::StatusCode::kFailedPrecondition, HttpErrorKind::kRedirect,
                              absl::StrCat(what, ": too many redirects"));
      break;
    }
    RedirectDecision next = DecideRedirect(url, location);
    if (next.refusal == RedirectRefusal::kOtherOrigin) {
      refused = MakeHttpError(absl::StatusCode::kPermissionDenied, HttpErrorKind::kBlocked,
                              absl::StrCat(what,
                                           ": blocked by outbound policy (redirected to another "
                                           "scheme, host or port; not followed)"));
      break;
    }
    if (next.refusal.has_value()) {
      refused = MakeHttpError(absl::StatusCode::kFailedPrecondition, HttpErrorKind::kRedirect,
                              absl::StrCat(what, next.refusal == RedirectRefusal::kNotHttp
                                                     ? ": redirected to a URL that is not http(s)"
                                                     : ": redirected to a URL that is not valid"));
      break;
    }
    const absl::Duration left_now = give_up - clock_.Now();
    if (left_now <= absl::ZeroDuration()) {
      code = CURLE_OPERATION_TIMEDOUT;
      break;
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ToMillis(left_now));
    // As browsers and libcurl do: 303 turns any method into GET, 301/302 turn POST into GET.
    if (status == 303 || ((status == 301 || status == 302) && request.method == "POST")) {
      if (request.method != "HEAD") {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, nullptr);
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
      }
    }
    url = std::move(next.next_url);
  }
  const std::string detail = code == CURLE_OK ? "" : SafeCurlDetail(errbuf, request);
  long os_errno = 0;
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
  shared_->Release(curl);
  WipeAndFree(headers);

  if (refused.has_value()) return *std::move(refused);
  if (code != CURLE_OK) return MapCurlError(code, transfer, 0, what, detail, timeout, os_errno);
  transfer.response.status = static_cast<int>(status);
  return std::move(transfer.response);
}

}  // namespace registryauth::upstream
