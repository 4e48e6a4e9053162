// Caller identity facts from a gRPC call: the verified client certificate's identity and an
// API key from metadata.
//
//   std::optional<std::string> id = CertificateIdentity(*context->auth_context());
//   // "spiffe://example.org/build-worker", or "cn:deployer", or nullopt (no verified cert)
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_API_PEER_IDENTITY_H_
#define REGISTRY_AUTH_API_PEER_IDENTITY_H_

#include <map>
#include <optional>
#include <string>

#include "grpcpp/security/auth_context.h"
#include "grpcpp/support/string_ref.h"

namespace registryauth::api {

// The identity of a TLS-verified client certificate: its one `spiffe://` URI SAN if it has
// exactly one, else "cn:" + its subject common name. nullopt if the peer is not authenticated
// by a certificate (plaintext, in-process, or TLS without a client certificate).
std::optional<std::string> CertificateIdentity(const grpc::AuthContext& context);

// The value of metadata `key` if it was sent exactly once; "" if it was repeated (unusable);
// nullopt if absent.
std::optional<std::string> SingleMetadataValue(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* key);

// The API key of a call: the single `x-api-key` value, or the token of a single
// `authorization: Bearer <token>` (scheme case-insensitive). nullopt when absent, repeated,
// empty, longer than 256 bytes or not printable ASCII.
std::optional<std::string> ApiKeyFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata);

}  // namespace registryauth::api

#endif  // REGISTRY_AUTH_API_PEER_IDENTITY_H_
