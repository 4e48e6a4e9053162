// How the helper gets a new pull token: MintPullToken of registry-auth, behind a one-method
// interface so the protocol logic is tested without a server. The gRPC implementation connects
// with TLS (the configured CA, optionally a client certificate) and/or sends the API key read
// from a private file; one call, bounded by the configured timeout, no retries (the kubelet
// and docker retry the pull).
//
//   ASSIGN_OR_RETURN(std::unique_ptr<PullTokenMinter> minter, GrpcPullTokenMinter::Create(cfg));
//   ASSIGN_OR_RETURN(CachedToken token, minter->Mint("acme", "web", absl::Hours(1)));
//
// Errors keep the gRPC code as the absl code (NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED,
// UNAVAILABLE, DEADLINE_EXCEEDED, ...) with the server's message, never a secret.
// Implementations are thread-compatible.
#ifndef REGISTRY_AUTH_HELPERS_PULL_TOKEN_MINTER_H_
#define REGISTRY_AUTH_HELPERS_PULL_TOKEN_MINTER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "helpers/helper_config.h"
#include "helpers/token_cache.h"

namespace registryauth::helpers {

class PullTokenMinter {
 public:
  virtual ~PullTokenMinter() = default;
  virtual absl::StatusOr<CachedToken> Mint(const std::string& workspace, const std::string& app,
                                           absl::Duration ttl) = 0;
};

// Builds the gRPC minter from the configuration: reads the CA, client certificate and key, and
// the API key file (FAILED_PRECONDITION when group or others may read it). Nothing connects
// until the first Mint.
absl::StatusOr<std::unique_ptr<PullTokenMinter>> CreateGrpcPullTokenMinter(
    const HelperConfig& config);

}  // namespace registryauth::helpers

#endif  // REGISTRY_AUTH_HELPERS_PULL_TOKEN_MINTER_H_
