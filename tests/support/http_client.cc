#include "tests/support/http_client.h"

#include <cctype>

#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace registryauth::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpConnection::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  bool connected = false;
};

HttpConnection::HttpConnection(int port) : impl_(std::make_unique<Impl>()) {
  boost::system::error_code ec;
  impl_->socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  impl_->connected = !ec;
}

HttpConnection::~HttpConnection() = default;

bool HttpConnection::connected() const { return impl_->connected; }

void HttpConnection::SendRaw(const std::string& bytes) {
  boost::system::error_code ec;
  net::write(impl_->socket, net::buffer(bytes), ec);
}

HttpReply HttpConnection::Read() {
  HttpReply reply;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  boost::system::error_code ec;
  http::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec) return reply;
  const auto& res = parser.get();
  reply.ok = true;
  reply.status = static_cast<int>(res.result_int());
  reply.body = res.body();
  reply.keep_alive = res.keep_alive();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  return reply;
}

HttpReply HttpConnection::Request(const std::string& method, const std::string& target,
                                  const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string raw = absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: test\r\n");
  for (const auto& [k, v] : headers) absl::StrAppend(&raw, k, ": ", v, "\r\n");
  if (!body.empty() || method == "POST" || method == "PATCH") {
    absl::StrAppend(&raw, "Content-Type: application/json\r\nContent-Length: ", body.size(),
                    "\r\n");
  }
  absl::StrAppend(&raw, "\r\n", body);
  SendRaw(raw);
  return Read();
}

bool HttpConnection::ClosedByPeer() {
  char c;
  boost::system::error_code ec;
  impl_->socket.read_some(net::buffer(&c, 1), ec);
  return static_cast<bool>(ec);
}

}  // namespace registryauth::testing
