#include "gateway/http_message.h"

#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace registryauth::gateway {
namespace {

namespace http = boost::beast::http;

// RFC 9110 token characters, for header names the router supplies.
bool IsHeaderToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    absl::string_view("!#$%&'*+-.^_`|~").find(ch) != absl::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Visible ASCII and spaces: no CR/LF or other control bytes that could split a header.
bool IsHeaderValue(absl::string_view s) {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c >= 0x7F) return false;
  }
  return true;
}

std::string Text(boost::beast::string_view v) { return std::string(v.data(), v.size()); }

}  // namespace

RestRequest ToRestRequest(http::request<http::string_body>& req, const TrustedProxies& proxies,
                          std::string_view tcp_peer) {
  RestRequest request;
  request.method = Text(req.method_string());
  request.target = Text(req.target());
  request.body = std::move(req.body());
  request.request_id = Text(req["x-request-id"]);
  request.content_type = Text(req[http::field::content_type]);
  request.api_key = Text(req["x-api-key"]);
  request.authorization = Text(req[http::field::authorization]);
  request.user = Text(req["x-registryauth-user"]);
  if (!tcp_peer.empty()) {
    // Every X-Forwarded-For line, in order (read only when a proxy is trusted).
    std::vector<absl::string_view> forwarded;
    if (!proxies.empty()) {
      for (auto [it, end] = req.equal_range("x-forwarded-for"); it != end; ++it) {
        forwarded.emplace_back(it->value().data(), it->value().size());
      }
    }
    request.forwarded_for = ResolveClientAddress(
        proxies, absl::string_view(tcp_peer.data(), tcp_peer.size()), forwarded);
  }
  return request;
}

void ToHttpResponse(RestReply reply, std::string_view request_id, bool keep_alive,
                    http::response<http::string_body>* res) {
  res->result(static_cast<http::status>(reply.status));
  res->set(http::field::server, "registry-auth");
  res->set(http::field::content_type, reply.content_type);
  if (!reply.allow.empty()) res->set(http::field::allow, reply.allow);
  for (const auto& [name, value] : reply.headers) {
    if (IsHeaderToken(name) && IsHeaderValue(value)) res->set(name, value);
  }
  if (!request_id.empty()) {
    res->set("x-request-id", boost::beast::string_view(request_id.data(), request_id.size()));
  }
  res->keep_alive(keep_alive);
  res->body() = std::move(reply.body);
  res->prepare_payload();
}

std::string PrintableRequestId(const std::string& id) {
  bool printable = !id.empty() && id.size() <= 128;
  for (char c : id) printable = printable && c >= 0x21 && c <= 0x7E;
  return printable ? id : std::string();
}

}  // namespace registryauth::gateway
