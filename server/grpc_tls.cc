#include "server/grpc_tls.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "grpc/grpc.h"

namespace registryauth::server {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;

BioPtr MemBio(const char* data, std::size_t size) {
  return BioPtr(BIO_new_mem_buf(data, static_cast<int>(size)));
}

// Every certificate in `pem`, in order. Leaves no errors in OpenSSL's queue (gRPC reads it).
std::vector<X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemBio(pem.data(), pem.size());
  while (bio != nullptr) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    certs.push_back(std::move(cert));
  }
  ERR_clear_error();
  return certs;
}

std::string Summarize(X509* cert) {
  std::string out = "subject ";
  char* subject = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0);
  if (subject != nullptr) {
    out += subject;
    OPENSSL_free(subject);
  }
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  if (serial != nullptr) {
    char* hex = BN_bn2hex(serial);
    if (hex != nullptr) {
      absl::StrAppend(&out, ", serial ", hex);
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio != nullptr && ASN1_TIME_print(bio.get(), X509_get0_notAfter(cert)) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    if (n > 0) absl::StrAppend(&out, ", expires ", std::string(data, static_cast<std::size_t>(n)));
  }
  ERR_clear_error();
  return out;
}

// grpc::ServerCredentials over a grpc_server_credentials made with the C API (the C++ API has
// no constructor for SSL credentials with a config fetcher).
class FetcherServerCredentials final : public grpc::ServerCredentials {
 public:
  FetcherServerCredentials(grpc_ssl_client_certificate_request_type request,
                           grpc_ssl_server_certificate_config_callback fetch, void* port) {
    // The base class has initialized gRPC by now.
    grpc_ssl_server_credentials_options* options =
        grpc_ssl_server_credentials_create_options_using_config_fetcher(request, fetch, port);
    credentials_ = grpc_ssl_server_credentials_create_with_options(options);  // takes options
  }
  ~FetcherServerCredentials() override {
    if (credentials_ != nullptr) grpc_server_credentials_release(credentials_);
  }

  // registry-authd authenticates callers in the service (api/call_auth.h), never here.
  void SetAuthMetadataProcessor(const std::shared_ptr<grpc::AuthMetadataProcessor>&) override {
    LOG_ERROR("ReloadableGrpcTls credentials do not support an AuthMetadataProcessor");
    std::abort();
  }

 private:
  int AddPortToServer(const std::string& addr, grpc_server* server) override {
    if (credentials_ == nullptr) return 0;
    return grpc_server_add_http2_port(server, addr.c_str(), credentials_);
  }

  grpc_server_credentials* credentials_ = nullptr;
};

}  // namespace

absl::StatusOr<std::string> ReadPemFile(const std::string& path, const char* setting) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(setting, ": cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  if (pem.find("-----BEGIN ") == std::string::npos) {
    WipeString(pem);
    return absl::InvalidArgumentError(absl::StrCat(setting, ": ", path, " holds no PEM data"));
  }
  return pem;
}

absl::StatusOr<ReloadableGrpcTls::Material> ReloadableGrpcTls::Load(const GrpcTlsFiles& files) {
  Material m;
  absl::StatusOr<std::string> cert = ReadPemFile(files.cert_file, "tls_cert_file");
  if (!cert.ok()) return cert.status();
  m.cert_pem = *std::move(cert);
  std::vector<X509Ptr> chain = ParseCertificates(m.cert_pem);
  if (chain.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls_cert_file: ", files.cert_file, " holds no readable certificate"));
  }

  absl::StatusOr<std::string> key = ReadPemFile(files.key_file, "tls_key_file");
  if (!key.ok()) return key.status();
  m.key_pem = SecretString(*key);
  m.key_pem.append(std::string_view("\0", 1));
  WipeString(*key);
  BioPtr bio = MemBio(m.key_pem.view().data(), m.key_pem.size() - 1);
  std::unique_ptr<EVP_PKEY, PkeyFree> pkey(
      bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  const bool matches = pkey != nullptr && X509_check_private_key(chain[0].get(), pkey.get()) == 1;
  ERR_clear_error();
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls_key_file: ", files.key_file, " holds no readable private key"));
  }
  if (!matches) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls_key_file: ", files.key_file, " is not the key of ", files.cert_file));
  }

  if (!files.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile(files.client_ca_file, "tls_client_ca_file");
    if (!ca.ok()) return ca.status();
    if (ParseCertificates(*ca).empty()) {
      return absl::InvalidArgumentError(absl::StrCat("tls_client_ca_file: ", files.client_ca_file,
                                                     " holds no readable certificate"));
    }
    m.client_ca_pem = *std::move(ca);
  }
  m.summary = Summarize(chain[0].get());
  return m;
}

absl::StatusOr<std::unique_ptr<ReloadableGrpcTls>> ReloadableGrpcTls::Create(
    const GrpcTlsFiles& files) {
  absl::StatusOr<Material> material = Load(files);
  if (!material.ok()) return material.status();
  return std::unique_ptr<ReloadableGrpcTls>(new ReloadableGrpcTls(files, *std::move(material)));
}

ReloadableGrpcTls::ReloadableGrpcTls(GrpcTlsFiles files, Material material)
    : files_(std::move(files)), material_(std::move(material)) {}

ReloadableGrpcTls::~ReloadableGrpcTls() = default;

std::shared_ptr<grpc::ServerCredentials> ReloadableGrpcTls::NewCredentials() {
  Port* port = nullptr;
  {
    absl::MutexLock lock(&mu_);
    ports_.push_back(std::make_unique<Port>());
    port = ports_.back().get();
    port->owner = this;
  }
  grpc_ssl_client_certificate_request_type request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  if (!files_.client_ca_file.empty()) {
    request = files_.client_cert_optional
                  ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
                  : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return std::make_shared<FetcherServerCredentials>(request, &ReloadableGrpcTls::Fetch, port);
}

// Called by gRPC before each new handshake on the port (under the port's own lock), and once
// when the port is added, which must answer NEW.
grpc_ssl_certificate_config_reload_status ReloadableGrpcTls::Fetch(
    void* user_data, grpc_ssl_server_certificate_config** config) {
  Port* port = static_cast<Port*>(user_data);
  ReloadableGrpcTls* self = port->owner;
  absl::MutexLock lock(&self->mu_);
  if (port->generation == self->generation_) return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  const Material& m = self->material_;
  grpc_ssl_pem_key_cert_pair pair;
  pair.private_key = m.key_pem.view().data();
  pair.cert_chain = m.cert_pem.c_str();
  // gRPC copies the strings and frees the config itself. It asserts that a fetched config has
  // root certificates, even when client certificates are not requested (no client CA, port
  // made with GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE): then the server's own chain stands in,
  // and it is never used, since no client is asked for a certificate.
  const std::string& roots = m.client_ca_pem.empty() ? m.cert_pem : m.client_ca_pem;
  *config = grpc_ssl_server_certificate_config_create(roots.c_str(), &pair, 1);
  port->generation = self->generation_;
  return GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
}

absl::Status ReloadableGrpcTls::Reload() {
  absl::StatusOr<Material> material = Load(files_);
  if (!material.ok()) return material.status();
  absl::MutexLock lock(&mu_);
  material_ = *std::move(material);
  ++generation_;
  return absl::OkStatus();
}

std::string ReloadableGrpcTls::Describe() const {
  absl::MutexLock lock(&mu_);
  return material_.summary;
}

}  // namespace registryauth::server
