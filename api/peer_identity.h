// Who the caller claims to be, as the transport shows it: the verified client certificate of a
// TLS connection, or an API key sent as metadata. These functions only extract; deciding
// whether that identity may call is the caller policy's job (auth/policy.h):
//
//   if (std::optional<std::string> id = CertificateIdentity(*context->auth_context())) {
//     principal = policy->FindByIdentity(*id);
//   } else if (std::optional<SecretString> key = ApiKeyFromMetadata(context->client_metadata())) {
//     principal = policy->FindByApiKey(key->view());
//   }
//   if (!principal) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid credentials");
//
// Everything here fails closed: anything ambiguous or malformed yields nullopt, never a guess.
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_API_PEER_IDENTITY_H_
#define REGISTRY_AUTH_API_PEER_IDENTITY_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/support/string_ref.h"

namespace registryauth::api {

// API keys longer than this are refused (ours are 47 bytes: "rak_" + 43 base64url).
inline constexpr std::size_t kMaxApiKeySize = 256;

// The identity proven by the peer's client certificate, or nullopt if the connection is not
// TLS with a client certificate that gRPC verified (ctx.IsPeerAuthenticated()). The certificate
// (gRPC's "x509_pem_cert" property) is parsed here with OpenSSL rather than trusting gRPC's
// derived properties alone; see IdentityFromCertificatePem for the rules. If gRPC also reports
// a "peer_spiffe_id" and it disagrees, the result is nullopt.
std::optional<std::string> CertificateIdentity(const grpc::AuthContext& ctx);

// The identity of one PEM certificate (no chain verification: the caller must only pass a
// certificate the TLS handshake verified):
//   - URI SANs whose scheme is "spiffe" (compared case-insensitively) are SPIFFE IDs. Exactly
//     one: that URI, as written. More than one: nullopt (an ambiguous certificate is refused,
//     not interpreted by its CN).
//   - No SPIFFE ID: "cn:" + the subject common name (UTF-8), if the subject has exactly one CN.
//   - Otherwise nullopt. Also nullopt for unparsable input or input over 64 KiB, more than one
//     subjectAltName extension, an empty value, one over 2048 (URI) / 256 (CN) bytes, or one
//     with a control character (so the result is always safe to log and audit).
std::optional<std::string> IdentityFromCertificatePem(std::string_view pem);

// The value of metadata `key` if it was sent exactly once; "" if it was repeated (unusable);
// nullopt if absent.
std::optional<std::string> SingleMetadataValue(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* key);

// The API key a caller sent: the value of `x-api-key`, or the token of `authorization: Bearer
// <token>` (scheme case-insensitive, one or more spaces). nullopt unless exactly one of these
// entries is present in total (so a request with both, or either twice, is refused), the
// authorization scheme is Bearer, and the key is 1..kMaxApiKeySize bytes of visible ASCII
// (0x21..0x7e). The caller then answers UNAUTHENTICATED. The key is returned in a zeroizing
// SecretString.
std::optional<SecretString> ApiKeyFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata);

}  // namespace registryauth::api

#endif  // REGISTRY_AUTH_API_PEER_IDENTITY_H_
