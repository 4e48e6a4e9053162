// The gRPC port's certificate reload (server/grpc_tls.h) over real gRPC on loopback, with
// certificates made by the test (tests/support/test_certs.h): mutual TLS as before (client
// certificate required, identity read by api/peer_identity.cc), an open channel keeps working
// across a reload, new handshakes see the new certificate, and a bad file is refused.
#include "server/grpc_tls.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "api/peer_identity.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/byte_buffer.h"
#include "gtest/gtest.h"
#include "tests/support/raw_grpc.h"
#include "tests/support/subprocess.h"
#include "tests/support/test_certs.h"

namespace registryauth {
namespace {

using server::GrpcTlsFiles;
using server::ReloadableGrpcTls;
using testing::CertKey;
using testing::CertSpec;
using testing::TestPki;

using testing::FromBuffer;
using testing::ToBuffer;

// A key-file-like PEM (mode 0600), as an operator would leave it.
void WriteFile(const std::string& path, const std::string& text) {
  absl::Status s = testing::WriteFile(path, text, 0600);
  ASSERT_TRUE(s.ok()) << s;
}

// Answers every call with the caller's certificate identity as api/peer_identity.cc reads it.
class IdentityEcho final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    class Reactor final : public grpc::ServerGenericBidiReactor {
     public:
      explicit Reactor(std::string identity) : identity_(std::move(identity)) { StartRead(&in_); }
      void OnReadDone(bool ok) override {
        if (!ok) {
          Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
          return;
        }
        out_ = ToBuffer(identity_);
        StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
      }
      void OnDone() override { delete this; }

     private:
      std::string identity_;
      grpc::ByteBuffer in_;
      grpc::ByteBuffer out_;
    };
    std::shared_ptr<const grpc::AuthContext> auth = ctx->auth_context();
    std::optional<std::string> identity =
        auth != nullptr ? api::CertificateIdentity(*auth) : std::nullopt;
    return new Reactor(identity.value_or("(none)"));
  }
};

struct CallResult {
  grpc::Status status;
  std::string identity;   // the server's reading of our client certificate
  std::string server_cn;  // the certificate the server presented on this connection
};

CallResult Call(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer request = ToBuffer("ping");
  grpc::ByteBuffer response;
  CallResult result;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/test.Echo/Identity", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   result.status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (result.status.ok()) result.identity = FromBuffer(response);
  std::shared_ptr<const grpc::AuthContext> auth = ctx.auth_context();
  if (auth != nullptr) {
    for (const grpc::string_ref& cn : auth->FindPropertyValues("x509_common_name")) {
      result.server_cn.assign(cn.data(), cn.size());
    }
  }
  return result;
}

class GrpcTlsReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server_ca = TestPki::Create("grpc server CA old");
    auto next_ca = TestPki::Create("grpc server CA new");
    auto client_ca = TestPki::Create("grpc client CA");
    ASSERT_TRUE(server_ca.ok() && next_ca.ok() && client_ca.ok());
    server_ca_ = *server_ca;
    next_ca_ = *next_ca;
    auto old_cert = server_ca_->Issue(ServerSpec("grpc-old"));
    auto new_cert = next_ca_->Issue(ServerSpec("grpc-new"));
    auto worker = client_ca->IssueClient("worker", "spiffe://example.org/worker");
    ASSERT_TRUE(old_cert.ok() && new_cert.ok() && worker.ok());
    old_cert_ = *old_cert;
    new_cert_ = *new_cert;
    worker_ = *worker;

    absl::StatusOr<std::string> dir = testing::MakeTempDir("grpc-tls");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
    files_.cert_file = dir_ + "/grpc_cert.pem";
    files_.key_file = dir_ + "/grpc_key.pem";
    files_.client_ca_file = dir_ + "/grpc_client_ca.pem";
    WriteFile(files_.cert_file, old_cert_.cert_pem);
    WriteFile(files_.key_file, old_cert_.key_pem);
    WriteFile(files_.client_ca_file, client_ca->ca().cert_pem);

    auto tls = ReloadableGrpcTls::Create(files_);
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_ = *std::move(tls);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", tls_->NewCredentials(), &port_);
    builder.RegisterCallbackGenericService(&echo_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(port_, 0);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }

  static CertSpec ServerSpec(const std::string& cn) {
    CertSpec spec;
    spec.common_names = {cn};
    spec.dns_names = {"localhost"};
    spec.ip_addresses = {"127.0.0.1"};
    spec.server_auth = true;
    return spec;
  }

  // A fresh connection (own subchannel pool: no sharing with earlier channels).
  std::shared_ptr<grpc::Channel> Channel(const std::string& trusted_ca, bool client_cert = true) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = trusted_ca;
    if (client_cert) {
      options.pem_private_key = worker_.key_pem;
      options.pem_cert_chain = worker_.cert_pem;
    }
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_),
                                     grpc::SslCredentials(options), args);
  }

  std::optional<TestPki> server_ca_;
  std::optional<TestPki> next_ca_;
  CertKey old_cert_;
  CertKey new_cert_;
  CertKey worker_;
  std::string dir_;
  GrpcTlsFiles files_;
  std::unique_ptr<ReloadableGrpcTls> tls_;
  IdentityEcho echo_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(GrpcTlsReloadTest, MutualTlsIdentityAsBefore) {
  CallResult r = Call(Channel(server_ca_->ca().cert_pem));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.identity, "spiffe://example.org/worker");
  EXPECT_EQ(r.server_cn, "grpc-old");
  // The client certificate is required.
  EXPECT_FALSE(Call(Channel(server_ca_->ca().cert_pem, /*client_cert=*/false)).status.ok());
}

TEST_F(GrpcTlsReloadTest, ReloadServesNewHandshakesAndKeepsOpenChannels) {
  std::shared_ptr<grpc::Channel> old_channel = Channel(server_ca_->ca().cert_pem);
  ASSERT_TRUE(Call(old_channel).status.ok());
  // Before the reload a client trusting only the new CA cannot connect.
  EXPECT_EQ(Call(Channel(next_ca_->ca().cert_pem)).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);

  WriteFile(files_.cert_file, new_cert_.cert_pem);
  WriteFile(files_.key_file, new_cert_.key_pem);
  ASSERT_TRUE(tls_->Reload().ok());
  EXPECT_NE(tls_->Describe().find("grpc-new"), std::string::npos) << tls_->Describe();

  // The open channel keeps its connection (and the certificate it was handshaken with).
  CallResult kept = Call(old_channel);
  ASSERT_TRUE(kept.status.ok()) << kept.status.error_message();
  EXPECT_EQ(kept.server_cn, "grpc-old");
  EXPECT_EQ(kept.identity, "spiffe://example.org/worker");

  // New handshakes see the new certificate, still with mutual TLS.
  CallResult fresh = Call(Channel(next_ca_->ca().cert_pem));
  ASSERT_TRUE(fresh.status.ok()) << fresh.status.error_message();
  EXPECT_EQ(fresh.server_cn, "grpc-new");
  EXPECT_EQ(fresh.identity, "spiffe://example.org/worker");
  EXPECT_FALSE(Call(Channel(next_ca_->ca().cert_pem, /*client_cert=*/false)).status.ok());
  EXPECT_EQ(Call(Channel(server_ca_->ca().cert_pem)).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcTlsReloadTest, BadFilesAreRefusedAndTheOldCertificateStays) {
  // Not PEM at all.
  WriteFile(files_.cert_file, "not a certificate\n");
  absl::Status s = tls_->Reload();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tls_cert_file"), std::string::npos) << s;

  // PEM framing around garbage.
  WriteFile(files_.cert_file, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(tls_->Reload().code(), absl::StatusCode::kInvalidArgument);

  // A certificate with somebody else's key; the message carries no key material.
  WriteFile(files_.cert_file, new_cert_.cert_pem);
  WriteFile(files_.key_file, old_cert_.key_pem);
  s = tls_->Reload();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("is not the key of"), std::string::npos) << s;
  EXPECT_EQ(s.message().find("PRIVATE KEY"), std::string::npos);

  // A missing client CA.
  WriteFile(files_.key_file, new_cert_.key_pem);
  std::remove(files_.client_ca_file.c_str());
  s = tls_->Reload();
  EXPECT_NE(s.message().find("tls_client_ca_file"), std::string::npos) << s;

  EXPECT_NE(tls_->Describe().find("grpc-old"), std::string::npos) << tls_->Describe();
  CallResult r = Call(Channel(server_ca_->ca().cert_pem));
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.server_cn, "grpc-old");
  EXPECT_EQ(r.identity, "spiffe://example.org/worker");
}

// Server-only TLS (no --tls_client_ca_file: callers identify with API keys) is a documented
// setup. gRPC's certificate-config fetcher asserts that a config carries root certificates, so
// one without them aborted the process when the port came up, and again after each reload.
TEST(GrpcTlsWithoutClientCa, ServesCallsAndReloadsWithoutClientCertificates) {
  auto server_ca = TestPki::Create("grpc server CA");
  ASSERT_TRUE(server_ca.ok());
  CertSpec spec;
  spec.common_names = {"grpc-server"};
  spec.ip_addresses = {"127.0.0.1"};
  spec.server_auth = true;
  auto cert = server_ca->Issue(spec);
  ASSERT_TRUE(cert.ok());
  absl::StatusOr<std::string> dir = testing::MakeTempDir("grpc-tls-no-ca");
  ASSERT_TRUE(dir.ok()) << dir.status();
  GrpcTlsFiles files;
  files.cert_file = *dir + "/cert.pem";
  files.key_file = *dir + "/key.pem";
  WriteFile(files.cert_file, cert->cert_pem);
  WriteFile(files.key_file, cert->key_pem);
  auto tls = ReloadableGrpcTls::Create(files);
  ASSERT_TRUE(tls.ok()) << tls.status();
  IdentityEcho echo;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", (*tls)->NewCredentials(), &port);
  builder.RegisterCallbackGenericService(&echo);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto channel = [&] {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = server_ca->ca().cert_pem;
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::SslCredentials(options), args);
  };
  CallResult r = Call(channel());
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.identity, "(none)");  // no client certificate asked for, none seen
  EXPECT_EQ(r.server_cn, "grpc-server");
  ASSERT_TRUE((*tls)->Reload().ok());
  r = Call(channel());  // a new handshake fetches the reloaded config
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  server->Shutdown(std::chrono::system_clock::now());
}

TEST(ReloadableGrpcTlsCreate, RefusesMissingFiles) {
  GrpcTlsFiles files;
  files.cert_file = ::testing::TempDir() + "/does-not-exist.pem";
  files.key_file = files.cert_file;
  auto tls = ReloadableGrpcTls::Create(files);
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace registryauth
