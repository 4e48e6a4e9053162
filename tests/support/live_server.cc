#include "tests/support/live_server.h"

#include <sys/stat.h>
#include <fstream>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/ip_address.h"
#include "common/secret.h"
#include "crypto/jws.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "server/config.h"

namespace registryauth::testing {

absl::StatusOr<std::string> WriteTestSigningKeys(const std::string& dir) {
  absl::StatusOr<SecretString> pem = crypto::GenerateEs256KeyPem();
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::unique_ptr<crypto::SigningKey>> key =
      crypto::SigningKey::FromPrivateKeyPem(*pem);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> cert = (*key)->SelfSignedCertificatePem(
      {"registry-auth test signer", absl::Now() - absl::Hours(1), absl::Now() + absl::Hours(24)});
  if (!cert.ok()) return cert.status();
  auto write = [](const std::string& path, std::string_view text, mode_t mode) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    return ::chmod(path.c_str(), mode) == 0 && out.good();
  };
  const std::string set_file = dir + "/signing-keys";
  if (!write(dir + "/k1.key.pem", pem->view(), 0600) || !write(dir + "/k1.crt.pem", *cert, 0644) ||
      !write(set_file, "key k1 active private_key=k1.key.pem cert=k1.crt.pem\n", 0600)) {
    return absl::InternalError(absl::StrCat("cannot write signing keys into ", dir));
  }
  return set_file;
}

std::string RandomKeyRingText() {
  unsigned char key[32];
  RAND_bytes(key, sizeof(key));
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, key, sizeof(key));
  OPENSSL_cleanse(key, sizeof(key));
  return absl::StrCat("primary 7\nkey 7 ", std::string(reinterpret_cast<char*>(b64), n), "\n");
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return ctx;
}

registryauth::v1::ErrorDetail DetailOf(const grpc::Status& status) {
  registryauth::v1::RpcStatus rpc;
  registryauth::v1::ErrorDetail detail;
  if (rpc.ParseFromString(status.error_details()) && rpc.details_size() > 0) {
    rpc.details(0).UnpackTo(&detail);
  }
  return detail;
}

absl::StatusOr<std::unique_ptr<LiveServer>> LiveServer::Start(const std::string& dsn) {
  return Start(dsn, [](server::ServerConfig& config) { config.allow_unauthenticated = true; });
}

absl::StatusOr<std::unique_ptr<LiveServer>> LiveServer::Start(
    const std::string& dsn, const std::function<void(server::ServerConfig&)>& customize) {
  server::ServerConfig config;
  config.grpc_listen = "127.0.0.1:0";
  config.http_listen = "127.0.0.1:0";
  config.database_url = dsn;
  config.keys_text = SecretString(RandomKeyRingText());
  config.db_pool_size = 4;
  config.db_connect_timeout = absl::Seconds(2);
  config.startup_timeout = absl::Seconds(10);
  config.health_interval = absl::Seconds(60);  // tests probe explicitly
  // Tests never reach the internet: GitHub and GHCR are a loopback port where nothing listens
  // (connection refused at once) unless a test points them at its own local server.
  config.github_api_url = "http://127.0.0.1:9";
  config.ghcr_url = "http://127.0.0.1:9";
  config.test_connection_timeout = absl::Seconds(3);
  // The outbound policy refuses loopback by default; tests' stub registries, GitHub stubs and
  // the real docker-registry listen on loopback, so tests allow it (a test of the policy
  // narrows or clears this in `customize`).
  config.upstream_allowed_networks = {*ParseIpNetwork("127.0.0.0/8"), *ParseIpNetwork("::1")};
  customize(config);
  auto server = server::RegistryAuthServer::Start(config);
  if (!server.ok()) return server.status();
  std::unique_ptr<LiveServer> live(new LiveServer());
  live->server_ = *std::move(server);
  live->channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", live->server_->grpc_port()),
                                       grpc::InsecureChannelCredentials());
  live->stub_ = registryauth::v1::RegistryAuthService::NewStub(live->channel_);
  return live;
}

LiveServer::~LiveServer() {
  if (server_) server_->Shutdown(absl::Seconds(1));
}

}  // namespace registryauth::testing
