#include "helpers/pull_token_minter.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "common/file_io.h"
#include "common/secret.h"
#include "common/strings.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "proto/registryauth/v1/registry_auth.grpc.pb.h"

namespace registryauth::helpers {
namespace {

class GrpcPullTokenMinter final : public PullTokenMinter {
 public:
  GrpcPullTokenMinter(std::unique_ptr<v1::RegistryAuthService::Stub> stub, SecretString api_key,
                      absl::Duration timeout)
      : stub_(std::move(stub)), api_key_(std::move(api_key)), timeout_(timeout) {}

  absl::StatusOr<CachedToken> Mint(const std::string& workspace, const std::string& app,
                                   absl::Duration ttl) override {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout_));
    if (!api_key_.empty()) {
      std::string key(api_key_.view());
      context.AddMetadata("x-api-key", key);
      WipeString(key);
    }
    v1::MintPullTokenRequest request;
    request.set_app(Cat("workspaces/", workspace, "/apps/", app));
    request.mutable_ttl()->set_seconds(absl::ToInt64Seconds(ttl));
    v1::MintPullTokenResponse response;
    grpc::Status status = stub_->MintPullToken(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    CachedToken token;
    token.username = response.username();
    token.password = SecretString(response.password());
    WipeString(*response.mutable_password());
    token.registry = absl::AsciiStrToLower(ToAbsl(response.registry()));
    token.expire_time = absl::FromUnixSeconds(response.expire_time().seconds());
    if (token.username.empty() || token.password.empty()) {
      return absl::InternalError("MintPullToken answered without a credential");
    }
    return token;
  }

 private:
  std::unique_ptr<v1::RegistryAuthService::Stub> stub_;
  SecretString api_key_;
  absl::Duration timeout_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PullTokenMinter>> CreateGrpcPullTokenMinter(
    const HelperConfig& config) {
  SecretString api_key;
  if (!config.api_key_file.empty()) {
    absl::StatusOr<SecretString> text = ReadPrivateFile(config.api_key_file, "api_key_file");
    if (!text.ok()) return text.status();
    std::string_view key = ToStd(absl::StripAsciiWhitespace(ToAbsl(text->view())));
    if (key.empty()) {
      return absl::FailedPreconditionError(Cat("api_key_file ", config.api_key_file, " is empty"));
    }
    api_key = SecretString(key);
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (config.tls_ca_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions options;
    absl::StatusOr<std::string> ca = ReadSmallFile(config.tls_ca_file, "tls_ca file");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
    if (!config.tls_cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadSmallFile(config.tls_cert_file, "tls_cert file");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<SecretString> key = ReadPrivateFile(config.tls_key_file, "tls_key file");
      if (!key.ok()) return key.status();
      options.pem_cert_chain = *std::move(cert);
      options.pem_private_key = std::string(key->view());
    }
    credentials = grpc::SslCredentials(options);
    WipeString(options.pem_private_key);
  }
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(config.address, credentials);
  return std::make_unique<GrpcPullTokenMinter>(v1::RegistryAuthService::NewStub(channel),
                                               std::move(api_key), config.timeout);
}

}  // namespace registryauth::helpers
