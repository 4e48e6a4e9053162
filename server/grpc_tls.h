// The gRPC port's TLS credentials, reloadable while the server runs (SIGHUP).
//
// gRPC's SSL server credentials can ask a certificate-config fetcher, before each new
// handshake, whether the certificate changed (grpc_ssl_server_credentials_create_options_
// using_config_fetcher in grpc/grpc_security.h, a stable C API in gRPC 1.51). ReloadableGrpcTls
// answers "unchanged" until Reload() has read and checked new files, then hands gRPC the new
// PEM once per listening port. Open connections keep the TLS session they negotiated; new
// handshakes use the new certificate. Everything else is what grpc::SslServerCredentials gave:
// the client certificate is required (or optional) and verified against the client CA when one
// is set, and the auth context carries the same properties (transport security type "ssl",
// x509_pem_cert, x509_common_name), which api/peer_identity.cc reads.
//
// Reload() re-reads the certificate chain, the key and the client CA. It refuses (and the
// certificate in force stays) if a file cannot be read, holds no parseable PEM, or if the key
// does not belong to the certificate.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<ReloadableGrpcTls> tls, ReloadableGrpcTls::Create(files));
//   builder.AddListeningPort(config.grpc_listen, tls->NewCredentials(), &port);
//   ... on SIGHUP: absl::Status s = tls->Reload();
//
// Thread-safe. Must outlive every grpc::Server it serves: gRPC calls into it on each handshake.
#ifndef REGISTRY_AUTH_SERVER_GRPC_TLS_H_
#define REGISTRY_AUTH_SERVER_GRPC_TLS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/secret.h"
#include "grpc/grpc_security.h"
#include "grpcpp/security/server_credentials.h"

namespace registryauth::server {

// Reads a PEM file; errors name the setting and the path, never the content. INVALID_ARGUMENT
// if it cannot be read or holds no "-----BEGIN " line.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, const char* setting);

struct GrpcTlsFiles {
  std::string cert_file;              // certificate chain, leaf first (tls_cert_file)
  std::string key_file;               // its private key (tls_key_file)
  std::string client_ca_file;         // empty: no client certificate asked for (tls_client_ca_file)
  bool client_cert_optional = false;  // with a client CA: "optional" instead of "require"
};

class ReloadableGrpcTls {
 public:
  // Reads and checks the files (as Reload does). INVALID_ARGUMENT naming the setting.
  static absl::StatusOr<std::unique_ptr<ReloadableGrpcTls>> Create(const GrpcTlsFiles& files);
  ~ReloadableGrpcTls();
  ReloadableGrpcTls(const ReloadableGrpcTls&) = delete;
  ReloadableGrpcTls& operator=(const ReloadableGrpcTls&) = delete;

  // Credentials for one listening port (call once per AddListeningPort).
  std::shared_ptr<grpc::ServerCredentials> NewCredentials();

  // Re-reads the files. On success the next handshake on every port uses them; on error the
  // certificate in force stays and the error says why (no key material).
  absl::Status Reload();

  // "subject CN=..., serial 0A1B..., expires ..." of the certificate in force (for logs).
  std::string Describe() const;

 private:
  struct Material {
    std::string cert_pem;
    SecretString key_pem;  // NUL-terminated for gRPC's C API
    std::string client_ca_pem;
    std::string summary;
  };
  // One per NewCredentials(): which generation that port's gRPC connector has.
  struct Port {
    ReloadableGrpcTls* owner = nullptr;
    std::uint64_t generation = 0;
  };

  ReloadableGrpcTls(GrpcTlsFiles files, Material material);
  static absl::StatusOr<Material> Load(const GrpcTlsFiles& files);
  static grpc_ssl_certificate_config_reload_status Fetch(
      void* port, grpc_ssl_server_certificate_config** config);

  const GrpcTlsFiles files_;
  mutable absl::Mutex mu_;
  Material material_ ABSL_GUARDED_BY(mu_);
  std::uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  std::vector<std::unique_ptr<Port>> ports_ ABSL_GUARDED_BY(mu_);
};

}  // namespace registryauth::server

#endif  // REGISTRY_AUTH_SERVER_GRPC_TLS_H_
