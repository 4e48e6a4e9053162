// HttpGateway with TLS: HTTPS against a throwaway CA (tests/support/test_certs), certificate
// reload, handshake failures, and the plain-HTTP-on-loopback rule.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <openssl/ssl.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/testing/in_memory_stack.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "boost/beast/ssl.hpp"
#include "gateway/http_gateway.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/support/http_client.h"
#include "tests/support/test_certs.h"

namespace registryauth::gateway {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using ::registryauth::testing::CertKey;
using ::registryauth::testing::TestPki;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

struct Reply {
  bool ok = false;
  int status = 0;
  std::string body;
};

// A blocking HTTPS client on one connection that trusts `ca_pem` and checks the name
// "localhost". `max_version` (e.g. TLS1_1_VERSION) caps the protocol for downgrade tests.
class TlsConnection {
 public:
  TlsConnection(int port, const std::string& ca_pem, int max_version = 0)
      : ctx_(ssl::context::tls_client) {
    boost::system::error_code ec;
    ctx_.set_verify_mode(ssl::verify_peer);
    ctx_.add_certificate_authority(net::buffer(ca_pem), ec);
    if (max_version != 0) {
      SSL_CTX_set_security_level(ctx_.native_handle(), 0);
      SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_.native_handle(), max_version);
      SSL_CTX_set_cipher_list(ctx_.native_handle(), "DEFAULT:@SECLEVEL=0");
    }
    stream_ = std::make_unique<beast::ssl_stream<tcp::socket>>(ioc_, ctx_);
    SSL_set_tlsext_host_name(stream_->native_handle(), "localhost");
    stream_->set_verify_callback(ssl::host_name_verification("localhost"));
    stream_->next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return;
    stream_->handshake(ssl::stream_base::client, ec);
    handshake_ok_ = !ec;
  }

  bool handshake_ok() const { return handshake_ok_; }

  Reply Get(const std::string& target) {
    Reply reply;
    if (!handshake_ok_) return reply;
    http::request<http::empty_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "localhost");
    boost::system::error_code ec;
    http::write(*stream_, req, ec);
    if (ec) return reply;
    http::response<http::string_body> res;
    http::read(*stream_, buffer_, res, ec);
    if (ec) return reply;
    reply.ok = true;
    reply.status = static_cast<int>(res.result_int());
    reply.body = res.body();
    return reply;
  }

  // True once the server has ended the connection (close_notify, EOF or reset).
  bool ClosedByPeer() {
    char c;
    boost::system::error_code ec;
    stream_->read_some(net::buffer(&c, 1), ec);
    return static_cast<bool>(ec);
  }

 private:
  net::io_context ioc_;
  ssl::context ctx_;
  std::unique_ptr<beast::ssl_stream<tcp::socket>> stream_;
  beast::flat_buffer buffer_;
  bool handshake_ok_ = false;
};

class HttpsGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    stack_.RegisterOn(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    absl::StatusOr<TestPki> pki = TestPki::Create();
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = std::make_unique<TestPki>(*std::move(pki));
    absl::StatusOr<CertKey> server_cert = pki_->IssueServer();
    ASSERT_TRUE(server_cert.ok()) << server_cert.status();
    cert_file_ = TempPath("server.crt");
    key_file_ = TempPath("server.key");
    WriteFile(cert_file_, server_cert->cert_pem);
    WriteFile(key_file_, server_cert->key_pem);
  }

  void TearDown() override {
    if (gateway_ != nullptr) gateway_->Shutdown();
    server_->Shutdown();
  }

  HttpGatewayOptions TlsOptions() const {
    HttpGatewayOptions options;
    options.listen = "127.0.0.1:0";
    options.tls_cert_file = cert_file_;
    options.tls_key_file = key_file_;
    return options;
  }

  void Start(const HttpGatewayOptions& options) {
    auto gw = HttpGateway::Create(options, server_->InProcessChannel(grpc::ChannelArguments()));
    ASSERT_TRUE(gw.ok()) << gw.status();
    gateway_ = *std::move(gw);
  }

  api::testing::InMemoryStack stack_;  // the real service over in-memory stores
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<TestPki> pki_;
  std::string cert_file_;
  std::string key_file_;
  std::unique_ptr<HttpGateway> gateway_;
};

TEST_F(HttpsGatewayTest, ServesHttpsWithKeepAlive) {
  Start(TlsOptions());
  EXPECT_TRUE(gateway_->tls());
  TlsConnection c(gateway_->port(), pki_->ca().cert_pem);
  ASSERT_TRUE(c.handshake_ok());
  Reply health = c.Get("/healthz");
  ASSERT_TRUE(health.ok);
  EXPECT_EQ(health.status, 200);
  Reply token = c.Get("/token?service=registry.test");  // anonymous, same connection
  ASSERT_TRUE(token.ok);
  EXPECT_EQ(token.status, 200) << token.body;
  EXPECT_TRUE(absl::StrContains(token.body, R"("access_token":)"));
  // Connection: close ends with the TLS shutdown.
  EXPECT_EQ(c.Get("/v1/workspaces/none").status, 404);
}

TEST_F(HttpsGatewayTest, HandshakeFailuresCloseTheConnectionAndNothingElse) {
  HttpGatewayOptions options = TlsOptions();
  options.request_timeout = absl::Milliseconds(500);
  Start(options);
  const int port = gateway_->port();
  for (int i = 0; i < 20; ++i) {
    // Plain HTTP to the TLS port.
    ::registryauth::testing::HttpConnection plain(port);
    ASSERT_TRUE(plain.connected());
    plain.SendRaw("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_FALSE(plain.Read().ok);
    EXPECT_TRUE(plain.ClosedByPeer());
  }
  // A client that does not trust the server's CA gives up; one capped at TLS 1.1 is refused.
  absl::StatusOr<TestPki> other = TestPki::Create("unrelated CA");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(TlsConnection(port, other->ca().cert_pem).handshake_ok());
  EXPECT_FALSE(TlsConnection(port, pki_->ca().cert_pem, TLS1_1_VERSION).handshake_ok());
  // A connection that never starts its handshake is closed after request_timeout.
  {
    ::registryauth::testing::HttpConnection silent(port);
    ASSERT_TRUE(silent.connected());
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(silent.ClosedByPeer());
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  }
  TlsConnection good(port, pki_->ca().cert_pem);
  ASSERT_TRUE(good.handshake_ok());
  EXPECT_EQ(good.Get("/healthz").status, 200);

  // One connection idle after a request and one stuck before its handshake: Shutdown closes
  // both promptly (nothing leaked holds it up).
  ::registryauth::testing::HttpConnection stuck(port);
  const auto start = std::chrono::steady_clock::now();
  gateway_->Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(good.ClosedByPeer());
  EXPECT_TRUE(stuck.ClosedByPeer());
}

TEST_F(HttpsGatewayTest, ReloadCertificateKeepsOpenConnections) {
  Start(TlsOptions());
  const int port = gateway_->port();
  TlsConnection before(port, pki_->ca().cert_pem);
  ASSERT_TRUE(before.handshake_ok());
  EXPECT_EQ(before.Get("/healthz").status, 200);

  absl::StatusOr<TestPki> next = TestPki::Create("next CA");
  ASSERT_TRUE(next.ok());
  absl::StatusOr<CertKey> renewed = next->IssueServer();
  ASSERT_TRUE(renewed.ok());
  WriteFile(cert_file_, renewed->cert_pem);
  WriteFile(key_file_, renewed->key_pem);
  ASSERT_TRUE(gateway_->ReloadCertificate().ok());

  EXPECT_EQ(before.Get("/healthz").status, 200);  // the old connection lives on
  EXPECT_FALSE(TlsConnection(port, pki_->ca().cert_pem).handshake_ok());
  TlsConnection after(port, next->ca().cert_pem);
  ASSERT_TRUE(after.handshake_ok());
  EXPECT_EQ(after.Get("/healthz").status, 200);

  // A broken file is refused and the renewed certificate stays in use.
  WriteFile(key_file_, "not a key");
  absl::Status bad = gateway_->ReloadCertificate();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.message(), "tls_key_file")) << bad;
  EXPECT_TRUE(TlsConnection(port, next->ca().cert_pem).handshake_ok());
}

TEST_F(HttpsGatewayTest, CreateChecksTlsAndPlaintextOptions) {
  auto channel = server_->InProcessChannel(grpc::ChannelArguments());
  HttpGatewayOptions options;
  options.listen = "0.0.0.0:0";
  absl::Status refused = HttpGateway::Create(options, channel).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.message(), "plaintext_behind_proxy")) << refused;
  options.listen = "[::]:0";
  EXPECT_EQ(HttpGateway::Create(options, channel).status().code(),
            absl::StatusCode::kInvalidArgument);

  options.listen = "0.0.0.0:0";
  options.plaintext_behind_proxy = true;
  auto behind_proxy = HttpGateway::Create(options, channel);
  ASSERT_TRUE(behind_proxy.ok()) << behind_proxy.status();
  EXPECT_FALSE((*behind_proxy)->tls());
  EXPECT_EQ((*behind_proxy)->ReloadCertificate().code(), absl::StatusCode::kFailedPrecondition);
  (*behind_proxy)->Shutdown();

  HttpGatewayOptions tls = TlsOptions();
  tls.listen = "0.0.0.0:0";  // TLS needs no extra permission off loopback
  auto remote = HttpGateway::Create(tls, channel);
  ASSERT_TRUE(remote.ok()) << remote.status();
  (*remote)->Shutdown();

  tls = TlsOptions();
  tls.tls_key_file.clear();
  EXPECT_EQ(HttpGateway::Create(tls, channel).status().code(), absl::StatusCode::kInvalidArgument);
  tls = TlsOptions();
  tls.tls_cert_file = TempPath("missing.crt");
  absl::Status missing = HttpGateway::Create(tls, channel).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(missing.message(), "missing.crt")) << missing;
  // A key that does not belong to the certificate.
  absl::StatusOr<CertKey> other = pki_->IssueServer();
  ASSERT_TRUE(other.ok());
  const std::string other_key = TempPath("other.key");
  WriteFile(other_key, other->key_pem);
  tls = TlsOptions();
  tls.tls_key_file = other_key;
  absl::Status mismatch = HttpGateway::Create(tls, channel).status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(mismatch.message(), "does not match")) << mismatch;
  EXPECT_FALSE(absl::StrContains(mismatch.message(), "PRIVATE KEY"));
}

}  // namespace
}  // namespace registryauth::gateway
