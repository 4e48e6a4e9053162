// A throwaway X.509 PKI for TLS tests, generated in memory with the OpenSSL 3 C API: a
// self-signed CA (ECDSA P-256, SHA-256 signatures) that issues server and client certificates.
// Every key is fresh per Create()/Issue*() call, so nothing is committed to the repository and
// nothing expires between runs (certificates are valid from one hour ago for one day).
//
//   ASSIGN_OR_RETURN(TestPki pki, TestPki::Create());
//   ASSIGN_OR_RETURN(CertKey server, pki.IssueServer());        // localhost + 127.0.0.1
//   ASSIGN_OR_RETURN(CertKey worker,
//                    pki.IssueClient("build-worker", "spiffe://example.org/build-worker"));
//   grpc::SslServerCredentialsOptions options;
//   options.pem_root_certs = pki.ca().cert_pem;
//   options.pem_key_cert_pairs.push_back({server.key_pem, server.cert_pem});
//
// An unrelated PKI (for "certificate from the wrong CA" tests) is simply a second TestPki.
// Keys are test-only: they are returned as plain std::string, as gRPC's options want them.
//
// TestPki is a copyable value (it holds only the CA's PEM text); Issue* are const and
// thread-safe.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_TEST_CERTS_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_TEST_CERTS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace registryauth::testing {

// A certificate and its private key, both PEM ("CERTIFICATE", PKCS#8 "PRIVATE KEY").
struct CertKey {
  std::string cert_pem;
  std::string key_pem;
};

// The contents of a leaf (end-entity) certificate. Issue() adds basicConstraints CA:FALSE,
// keyUsage digitalSignature (critical), subject and authority key identifiers.
struct CertSpec {
  // Subject CN attributes, in order; normally one. Empty = an empty subject (the SAN extension
  // is then marked critical, as RFC 5280 requires).
  std::vector<std::string> common_names;
  // subjectAltName entries; the extension is left out when all three are empty.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // textual IPv4 or IPv6, e.g. "127.0.0.1", "::1"
  std::vector<std::string> uris;          // e.g. "spiffe://example.org/build-worker"
  // extendedKeyUsage; the extension is left out when both are false.
  bool server_auth = false;
  bool client_auth = false;
};

class TestPki {
 public:
  // A new CA: subject CN = `ca_common_name`, basicConstraints CA:TRUE pathlen:0 (critical),
  // keyUsage keyCertSign + cRLSign (critical). INTERNAL if OpenSSL fails.
  static absl::StatusOr<TestPki> Create(
      const std::string& ca_common_name = "registry-auth test CA");

  // The CA certificate (what a peer puts in its trust roots) and the CA key.
  const CertKey& ca() const { return ca_; }

  // A leaf certificate signed by this CA, with a fresh P-256 key. INVALID_ARGUMENT for an IP
  // address that does not parse; INTERNAL if OpenSSL fails.
  absl::StatusOr<CertKey> Issue(const CertSpec& spec) const;

  // A TLS server certificate: CN and DNS SAN `dns_name`, IP SAN `ip_address`, EKU serverAuth.
  absl::StatusOr<CertKey> IssueServer(const std::string& dns_name = "localhost",
                                      const std::string& ip_address = "127.0.0.1") const;

  // A TLS client certificate: subject CN `common_name`, EKU clientAuth, and if given one URI SAN
  // `spiffe_uri`.
  absl::StatusOr<CertKey> IssueClient(
      const std::string& common_name,
      const std::optional<std::string>& spiffe_uri = std::nullopt) const;

 private:
  explicit TestPki(CertKey ca) : ca_(std::move(ca)) {}

  CertKey ca_;
};

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_TEST_CERTS_H_
