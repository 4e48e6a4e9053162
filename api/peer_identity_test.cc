#include "api/peer_identity.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "common/secret.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "tests/support/test_certs.h"

namespace registryauth::api {
namespace {

using ::registryauth::testing::CertKey;
using ::registryauth::testing::CertSpec;
using ::registryauth::testing::TestPki;

constexpr char kWorkerSpiffeId[] = "spiffe://example.org/build-worker";

// For test set-up that only fails if OpenSSL does: stops the test binary with the status.
template <typename T>
T Must(absl::StatusOr<T> value) {
  EXPECT_TRUE(value.ok()) << value.status();
  if (!value.ok()) std::abort();
  return *std::move(value);
}

// =============================================================================================
// IdentityFromCertificatePem

class CertificatePemTest : public ::testing::Test {
 protected:
  std::optional<std::string> IdentityOf(const CertSpec& spec) {
    return IdentityFromCertificatePem(Must(pki_.Issue(spec)).cert_pem);
  }
  CertSpec Spec(std::vector<std::string> common_names, std::vector<std::string> uris) {
    CertSpec spec;
    spec.common_names = std::move(common_names);
    spec.uris = std::move(uris);
    spec.client_auth = true;
    return spec;
  }

  TestPki pki_ = Must(TestPki::Create());
};

TEST_F(CertificatePemTest, SpiffeIdWins) {
  EXPECT_EQ(IdentityOf(Spec({"build-worker"}, {kWorkerSpiffeId})), kWorkerSpiffeId);
  EXPECT_EQ(IdentityOf(Spec({}, {kWorkerSpiffeId})), kWorkerSpiffeId);
}

TEST_F(CertificatePemTest, OtherUrisAreIgnored) {
  EXPECT_EQ(IdentityOf(Spec({"w"}, {"https://example.org/x", kWorkerSpiffeId, "urn:x:y"})),
            kWorkerSpiffeId);
  EXPECT_EQ(IdentityOf(Spec({"w"}, {"https://example.org/x"})), "cn:w");
  EXPECT_EQ(IdentityOf(Spec({"w"}, {"spiffe:/example.org/x"})), "cn:w");  // not spiffe://
}

TEST_F(CertificatePemTest, MoreThanOneSpiffeIdIsRefused) {
  EXPECT_EQ(IdentityOf(Spec({"w"}, {kWorkerSpiffeId, "spiffe://example.org/other"})), std::nullopt);
  EXPECT_EQ(IdentityOf(Spec({"w"}, {kWorkerSpiffeId, kWorkerSpiffeId})), std::nullopt);
  // The scheme compares case-insensitively, so this is a second SPIFFE ID too.
  EXPECT_EQ(IdentityOf(Spec({"w"}, {kWorkerSpiffeId, "SPIFFE://example.org/x"})), std::nullopt);
}

TEST_F(CertificatePemTest, SpiffeIdIsReturnedAsWritten) {
  // Not normalized: the policy matches exactly and only holds lower-case schemes, so this
  // certificate authenticates nobody.
  EXPECT_EQ(IdentityOf(Spec({"w"}, {"SPIFFE://example.org/x"})), "SPIFFE://example.org/x");
}

TEST_F(CertificatePemTest, EmptySpiffeIdIsRefused) {
  EXPECT_EQ(IdentityOf(Spec({"w"}, {"spiffe://"})), std::nullopt);
}

TEST_F(CertificatePemTest, CommonName) {
  EXPECT_EQ(IdentityOf(Spec({"deployer"}, {})), "cn:deployer");
  EXPECT_EQ(IdentityOf(Spec({"Build Worker"}, {})), "cn:Build Worker");
  EXPECT_EQ(IdentityOf(Spec({"b\u00fccher"}, {})), "cn:b\u00fccher");  // UTF-8
}

TEST_F(CertificatePemTest, NoIdentity) {
  CertSpec spec = Spec({}, {});
  spec.dns_names = {"host.example.org"};
  EXPECT_EQ(IdentityOf(spec), std::nullopt);                  // empty subject, no SPIFFE ID
  EXPECT_EQ(IdentityOf(Spec({"a", "b"}, {})), std::nullopt);  // two CNs: ambiguous
  EXPECT_EQ(IdentityOf(Spec({"a\001b"}, {})), std::nullopt);  // control character
  EXPECT_EQ(IdentityOf(Spec({"a\x7f"}, {})), std::nullopt);
}

TEST_F(CertificatePemTest, MalformedInput) {
  EXPECT_EQ(IdentityFromCertificatePem(""), std::nullopt);
  EXPECT_EQ(IdentityFromCertificatePem("not a certificate"), std::nullopt);
  EXPECT_EQ(
      IdentityFromCertificatePem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
      std::nullopt);
  const std::string pem = Must(pki_.IssueClient("deployer")).cert_pem;
  EXPECT_EQ(IdentityFromCertificatePem(pem.substr(0, pem.size() / 2)), std::nullopt);
  // The private key is not a certificate.
  EXPECT_EQ(IdentityFromCertificatePem(Must(pki_.IssueClient("deployer")).key_pem), std::nullopt);
  // Over 64 KiB (a valid certificate followed by padding) is refused before parsing.
  EXPECT_EQ(IdentityFromCertificatePem(pem + std::string(64 * 1024, '\n')), std::nullopt);
  EXPECT_EQ(IdentityFromCertificatePem(pem + "\n"), "cn:deployer");
}

// =============================================================================================
// CertificateIdentity with a fake AuthContext: the decisions around the certificate.

class FakeAuthContext : public grpc::AuthContext {
 public:
  bool authenticated = true;
  std::multimap<std::string, std::string> properties;

  bool IsPeerAuthenticated() const override { return authenticated; }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return ""; }
  std::vector<grpc::string_ref> FindPropertyValues(const std::string& name) const override {
    std::vector<grpc::string_ref> values;
    auto [begin, end] = properties.equal_range(name);
    for (auto it = begin; it != end; ++it) values.emplace_back(it->second);
    return values;
  }
  grpc::AuthPropertyIterator begin() const override { return EmptyIterator(); }
  grpc::AuthPropertyIterator end() const override { return EmptyIterator(); }
  void AddProperty(const std::string& key, const grpc::string_ref& value) override {
    properties.emplace(key, std::string(value.data(), value.size()));
  }
  bool SetPeerIdentityPropertyName(const std::string&) override { return false; }

 private:
  struct EmptyIterator : grpc::AuthPropertyIterator {};
};

class CertificateIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_.properties.emplace(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME,
                            GRPC_SSL_TRANSPORT_SECURITY_TYPE);
    ctx_.properties.emplace(GRPC_X509_PEM_CERT_PROPERTY_NAME, worker_.cert_pem);
  }

  TestPki pki_ = Must(TestPki::Create());
  CertKey worker_ = Must(pki_.IssueClient("build-worker", kWorkerSpiffeId));
  FakeAuthContext ctx_;
};

TEST_F(CertificateIdentityTest, VerifiedTlsPeer) {
  EXPECT_EQ(CertificateIdentity(ctx_), kWorkerSpiffeId);
  ctx_.properties.find(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME)->second =
      GRPC_TLS_TRANSPORT_SECURITY_TYPE;
  EXPECT_EQ(CertificateIdentity(ctx_), kWorkerSpiffeId);
}

TEST_F(CertificateIdentityTest, NotAuthenticated) {
  ctx_.authenticated = false;
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
}

TEST_F(CertificateIdentityTest, NotTls) {
  ctx_.properties.erase(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
  ctx_.properties.emplace(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME, "insecure");
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
  ctx_.properties.emplace(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME, "ssl");  // and two values
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
}

TEST_F(CertificateIdentityTest, CertificateMissingOrRepeated) {
  ctx_.properties.emplace(GRPC_X509_PEM_CERT_PROPERTY_NAME, worker_.cert_pem);
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
  ctx_.properties.erase(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
  ctx_.properties.emplace(GRPC_X509_PEM_CERT_PROPERTY_NAME, "garbage");
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
}

TEST_F(CertificateIdentityTest, GrpcSpiffeIdMustAgree) {
  ctx_.properties.emplace(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME, kWorkerSpiffeId);
  EXPECT_EQ(CertificateIdentity(ctx_), kWorkerSpiffeId);
  ctx_.properties.find(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME)->second = "spiffe://example.org/x";
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
}

TEST_F(CertificateIdentityTest, GrpcSpiffeIdWithoutOneInTheCertificateIsRefused) {
  ctx_.properties.find(GRPC_X509_PEM_CERT_PROPERTY_NAME)->second =
      Must(pki_.IssueClient("deployer")).cert_pem;
  EXPECT_EQ(CertificateIdentity(ctx_), "cn:deployer");
  ctx_.properties.emplace(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME, kWorkerSpiffeId);
  EXPECT_EQ(CertificateIdentity(ctx_), std::nullopt);
}

// =============================================================================================
// ApiKeyFromMetadata

class Metadata {
 public:
  Metadata& Add(std::string key, std::string value) {
    storage_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  // The map gRPC would hand over (views into storage_, which must not change afterwards).
  std::multimap<grpc::string_ref, grpc::string_ref> Map() const {
    std::multimap<grpc::string_ref, grpc::string_ref> map;
    for (const auto& [k, v] : storage_) map.emplace(k, v);
    return map;
  }

 private:
  std::vector<std::pair<std::string, std::string>> storage_;
};

std::string KeyOf(const Metadata& md) {
  std::optional<SecretString> key = ApiKeyFromMetadata(md.Map());
  return key.has_value() ? std::string(key->view()) : "<none>";
}

TEST(ApiKeyFromMetadataTest, XApiKey) {
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", "rak_abc")), "rak_abc");
  EXPECT_EQ(KeyOf(Metadata().Add("user-agent", "grpc").Add("x-api-key", "rak_abc")), "rak_abc");
  EXPECT_EQ(KeyOf(Metadata().Add("X-Api-Key", "rak_abc")), "rak_abc");
}

TEST(ApiKeyFromMetadataTest, BearerToken) {
  for (const char* value :
       {"Bearer rak_abc", "bearer rak_abc", "BEARER rak_abc", "bEaReR   rak_abc"}) {
    EXPECT_EQ(KeyOf(Metadata().Add("authorization", value)), "rak_abc") << value;
  }
}

TEST(ApiKeyFromMetadataTest, MalformedAuthorization) {
  for (const char* value :
       {"", "Bearer", "Bearer ", "Bearer   ", "Bearerrak_abc", "Bearer\trak_abc", " Bearer rak_abc",
        "Bearer rak_abc ", "Bearer rak abc", "Basic dXNlcjpwYXNz", "rak_abc", "Token rak_abc",
        "Bear rak_abc"}) {
    EXPECT_EQ(KeyOf(Metadata().Add("authorization", value)), "<none>") << '"' << value << '"';
  }
}

TEST(ApiKeyFromMetadataTest, ExactlyOneCredential) {
  EXPECT_EQ(KeyOf(Metadata()), "<none>");
  EXPECT_EQ(KeyOf(Metadata().Add("user-agent", "x")), "<none>");
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", "a").Add("x-api-key", "a")), "<none>");
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", "a").Add("x-api-key", "b")), "<none>");
  EXPECT_EQ(KeyOf(Metadata().Add("authorization", "Bearer a").Add("authorization", "Bearer a")),
            "<none>");
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", "a").Add("authorization", "Bearer a")), "<none>");
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", "a").Add("authorization", "Basic eA==")), "<none>");
}

TEST(ApiKeyFromMetadataTest, Length) {
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", "")), "<none>");
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", "a")), "a");
  const std::string max(kMaxApiKeySize, 'k');
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", max)), max);
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", max + "k")), "<none>");
  EXPECT_EQ(KeyOf(Metadata().Add("authorization", "Bearer " + max)), max);
  EXPECT_EQ(KeyOf(Metadata().Add("authorization", "Bearer " + max + "k")), "<none>");
}

TEST(ApiKeyFromMetadataTest, OnlyVisibleAscii) {
  EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", "!~azAZ09-_.+/=")), "!~azAZ09-_.+/=");
  for (const std::string& bad :
       {std::string("a b"), std::string("a\tb"), std::string("a\x01"), std::string("a\x7f"),
        std::string("a\x80"), std::string("\xc3\xa9"), std::string("a\0b", 3),
        std::string("a\n")}) {
    EXPECT_EQ(KeyOf(Metadata().Add("x-api-key", bad)), "<none>");
    EXPECT_EQ(KeyOf(Metadata().Add("authorization", "Bearer " + bad)), "<none>");
  }
}

// =============================================================================================
// A real gRPC server over TLS on 127.0.0.1:0. Its one generic method answers with what the
// server sees: "1<identity>" or "0", a newline, then "1<api key>" or "0".

class IdentityEchoService : public grpc::CallbackGenericService {
 public:
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    return new Reactor(ctx);
  }

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(grpc::GenericCallbackServerContext* ctx) {
      const std::optional<std::string> identity = CertificateIdentity(*ctx->auth_context());
      const std::optional<SecretString> key = ApiKeyFromMetadata(ctx->client_metadata());
      const std::string payload =
          (identity ? "1" + *identity : "0") + "\n" + (key ? "1" + std::string(key->view()) : "0");
      grpc::Slice slice(payload);
      response_ = grpc::ByteBuffer(&slice, 1);
      StartRead(&request_);
    }
    void OnReadDone(bool /*ok*/) override {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }
    void OnDone() override { delete this; }

   private:
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };
};

class EchoServer {
 public:
  // TLS with the given server certificate, trusting client certificates of `client_ca`.
  static std::unique_ptr<EchoServer> StartTls(const CertKey& server_cert, const CertKey& client_ca,
                                              grpc_ssl_client_certificate_request_type mode) {
    grpc::SslServerCredentialsOptions options(mode);
    options.pem_root_certs = client_ca.cert_pem;
    options.pem_key_cert_pairs.push_back({server_cert.key_pem, server_cert.cert_pem});
    return Start(grpc::SslServerCredentials(options));
  }

  static std::unique_ptr<EchoServer> StartInsecure() {
    return Start(grpc::InsecureServerCredentials());
  }

  ~EchoServer() {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_->Wait();
  }

  int port() const { return port_; }

 private:
  static std::unique_ptr<EchoServer> Start(std::shared_ptr<grpc::ServerCredentials> creds) {
    auto server = std::unique_ptr<EchoServer>(new EchoServer());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", std::move(creds), &server->port_);
    builder.RegisterCallbackGenericService(&server->service_);
    server->server_ = builder.BuildAndStart();
    EXPECT_NE(server->server_, nullptr);
    EXPECT_GT(server->port_, 0);
    if (server->server_ == nullptr || server->port_ <= 0) return nullptr;
    return server;
  }

  EchoServer() = default;
  IdentityEchoService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

struct EchoResult {
  grpc::Status status;
  std::optional<std::string> identity;
  std::optional<std::string> api_key;
};

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

// One unary call on a fresh channel (its own subchannel pool, so its own TLS handshake).
EchoResult Call(int port, const std::shared_ptr<grpc::ChannelCredentials>& creds,
                const grpc::ChannelArguments& base_args,
                const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  grpc::ChannelArguments args = base_args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), creds, args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
  grpc::Slice slice(std::string("ping"));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  EchoResult result;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/registryauth.test.IdentityEcho/Get", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   result.status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!result.status.ok()) return result;
  const std::string payload = ToString(response);
  const std::size_t newline = payload.find('\n');
  EXPECT_NE(newline, std::string::npos) << payload;
  if (newline == std::string::npos) return result;
  const std::string identity = payload.substr(0, newline);
  const std::string key = payload.substr(newline + 1);
  if (!identity.empty() && identity[0] == '1') result.identity = identity.substr(1);
  if (!key.empty() && key[0] == '1') result.api_key = key.substr(1);
  return result;
}

// TLS to the server, checking its certificate against `server_ca` and the name "localhost"
// (override_name) or the IP address 127.0.0.1 (nullopt); presenting `client` if given.
EchoResult CallTls(int port, const CertKey& server_ca, const std::optional<CertKey>& client,
                   const std::optional<std::string>& override_name = "localhost",
                   const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = server_ca.cert_pem;
  if (client.has_value()) {
    options.pem_private_key = client->key_pem;
    options.pem_cert_chain = client->cert_pem;
  }
  grpc::ChannelArguments args;
  if (override_name.has_value()) args.SetSslTargetNameOverride(*override_name);
  return Call(port, grpc::SslCredentials(options), args, metadata);
}

class TlsTest : public ::testing::Test {
 protected:
  TestPki pki_ = Must(TestPki::Create("registry-auth test CA"));
  TestPki other_pki_ = Must(TestPki::Create("unrelated CA"));
  CertKey server_ = Must(pki_.IssueServer("localhost", "127.0.0.1"));
  CertKey worker_ = Must(pki_.IssueClient("build-worker", kWorkerSpiffeId));
  CertKey deployer_ = Must(pki_.IssueClient("deployer"));
  CertKey stranger_ = Must(other_pki_.IssueClient("build-worker", kWorkerSpiffeId));
};

TEST_F(TlsTest, RequiredClientCertificate) {
  std::unique_ptr<EchoServer> server = EchoServer::StartTls(
      server_, pki_.ca(), GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ASSERT_NE(server, nullptr);

  EchoResult spiffe = CallTls(server->port(), pki_.ca(), worker_);
  ASSERT_TRUE(spiffe.status.ok()) << spiffe.status.error_message();
  EXPECT_EQ(spiffe.identity, kWorkerSpiffeId);

  EchoResult cn = CallTls(server->port(), pki_.ca(), deployer_);
  ASSERT_TRUE(cn.status.ok()) << cn.status.error_message();
  EXPECT_EQ(cn.identity, "cn:deployer");

  // A certificate from another CA: the server refuses the handshake.
  EchoResult stranger = CallTls(server->port(), pki_.ca(), stranger_);
  EXPECT_EQ(stranger.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << stranger.status.error_message();
  EXPECT_EQ(stranger.identity, std::nullopt);

  // No client certificate at all.
  EchoResult anonymous = CallTls(server->port(), pki_.ca(), std::nullopt);
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << anonymous.status.error_message();
}

TEST_F(TlsTest, OptionalClientCertificate) {
  std::unique_ptr<EchoServer> server =
      EchoServer::StartTls(server_, pki_.ca(), GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ASSERT_NE(server, nullptr);

  EchoResult anonymous = CallTls(server->port(), pki_.ca(), std::nullopt);
  ASSERT_TRUE(anonymous.status.ok()) << anonymous.status.error_message();
  EXPECT_EQ(anonymous.identity, std::nullopt);

  EchoResult spiffe = CallTls(server->port(), pki_.ca(), worker_);
  ASSERT_TRUE(spiffe.status.ok()) << spiffe.status.error_message();
  EXPECT_EQ(spiffe.identity, kWorkerSpiffeId);

  EchoResult cn = CallTls(server->port(), pki_.ca(), deployer_);
  ASSERT_TRUE(cn.status.ok()) << cn.status.error_message();
  EXPECT_EQ(cn.identity, "cn:deployer");

  // Optional, but still verified when one is sent.
  EchoResult stranger = CallTls(server->port(), pki_.ca(), stranger_);
  EXPECT_EQ(stranger.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << stranger.status.error_message();
}

TEST_F(TlsTest, ServerCertificateMatchesTheIpAddress) {
  std::unique_ptr<EchoServer> server = EchoServer::StartTls(
      server_, pki_.ca(), GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ASSERT_NE(server, nullptr);
  EchoResult by_ip = CallTls(server->port(), pki_.ca(), worker_, std::nullopt);
  ASSERT_TRUE(by_ip.status.ok()) << by_ip.status.error_message();
  EXPECT_EQ(by_ip.identity, kWorkerSpiffeId);
  // A name the certificate does not carry fails the client's check.
  EchoResult wrong_name = CallTls(server->port(), pki_.ca(), worker_, "other.example.org");
  EXPECT_EQ(wrong_name.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  // So does a server certificate the client does not trust.
  EchoResult untrusted = CallTls(server->port(), other_pki_.ca(), worker_);
  EXPECT_EQ(untrusted.status.error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, ApiKeyMetadataOverTls) {
  std::unique_ptr<EchoServer> server =
      EchoServer::StartTls(server_, pki_.ca(), GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  ASSERT_NE(server, nullptr);
  EchoResult bearer = CallTls(server->port(), pki_.ca(), std::nullopt, "localhost",
                              {{"authorization", "Bearer rak_test-key"}});
  ASSERT_TRUE(bearer.status.ok()) << bearer.status.error_message();
  EXPECT_EQ(bearer.identity, std::nullopt);
  EXPECT_EQ(bearer.api_key, "rak_test-key");

  EchoResult header = CallTls(server->port(), pki_.ca(), std::nullopt, "localhost",
                              {{"x-api-key", "rak_test-key"}});
  ASSERT_TRUE(header.status.ok()) << header.status.error_message();
  EXPECT_EQ(header.api_key, "rak_test-key");

  EchoResult both = CallTls(server->port(), pki_.ca(), deployer_, "localhost",
                            {{"x-api-key", "rak_a"}, {"authorization", "Bearer rak_a"}});
  ASSERT_TRUE(both.status.ok()) << both.status.error_message();
  EXPECT_EQ(both.identity, "cn:deployer");
  EXPECT_EQ(both.api_key, std::nullopt);
}

TEST(PlaintextTest, NoIdentityWithoutTls) {
  std::unique_ptr<EchoServer> server = EchoServer::StartInsecure();
  ASSERT_NE(server, nullptr);
  EchoResult result = Call(server->port(), grpc::InsecureChannelCredentials(),
                           grpc::ChannelArguments(), {{"x-api-key", "rak_plain"}});
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.identity, std::nullopt);
  EXPECT_EQ(result.api_key, "rak_plain");
}

}  // namespace
}  // namespace registryauth::api
