// The real registry-authd stack (server::RegistryAuthServer) on a given database, listening on
// loopback port 0, plus a gRPC stub connected over TCP. For end-to-end tests.
//
//   ASSIGN_OR_RETURN(auto live, LiveServer::Start(db->dsn()));
//   live->stub().CreateWorkspace(ctx.get(), req, &out);
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_LIVE_SERVER_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_LIVE_SERVER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"
#include "server/server.h"

namespace registryauth::testing {

// A fresh key-ring text with one random AES-256 key (id 7, primary).
std::string RandomKeyRingText();

// Writes a token signing-key set into `dir` (an existing, private folder): one active ES256 key
// with a self-signed certificate valid from an hour ago for a day, as `registry-authd
// signing-keys generate` makes them. Returns the set file's path.
absl::StatusOr<std::string> WriteTestSigningKeys(const std::string& dir);

// A client context with a 10 s deadline.
std::unique_ptr<grpc::ClientContext> Ctx();

// The ErrorDetail of a failed call (packed in grpc-status-details-bin); empty if none.
registryauth::v1::ErrorDetail DetailOf(const grpc::Status& status);

class LiveServer {
 public:
  // In the local-development mode (unauthenticated callers get every permission).
  static absl::StatusOr<std::unique_ptr<LiveServer>> Start(const std::string& dsn);
  // With `customize` applied to the configuration last (TLS files, policy file, ...). The stub
  // still uses a plaintext channel; TLS tests make their own channels to grpc_port().
  static absl::StatusOr<std::unique_ptr<LiveServer>> Start(
      const std::string& dsn, const std::function<void(server::ServerConfig&)>& customize);
  ~LiveServer();

  server::RegistryAuthServer& server() { return *server_; }
  const std::shared_ptr<grpc::Channel>& channel() { return channel_; }
  registryauth::v1::RegistryAuthService::Stub& stub() { return *stub_; }

 private:
  LiveServer() = default;
  std::unique_ptr<server::RegistryAuthServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<registryauth::v1::RegistryAuthService::Stub> stub_;
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_LIVE_SERVER_H_
