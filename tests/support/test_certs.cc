#include "tests/support/test_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace registryauth::testing {
namespace {

constexpr long kValidFromSeconds = -3600;     // one hour ago: tolerates clock skew
constexpr long kValidForSeconds = 24 * 3600;  // a test run never takes a day

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesFree>;

// INTERNAL naming the step, with OpenSSL's error queue (which never holds key bytes).
absl::Status OpenSslError(absl::string_view step) {
  std::string detail;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", buf);
  }
  return absl::InternalError(
      absl::StrCat("test PKI: ", step, " failed", detail.empty() ? "" : ": ", detail));
}

absl::StatusOr<PkeyPtr> NewP256Key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return OpenSslError("P-256 key generation");
  return key;
}

// Copies the contents of a memory BIO. (Private keys are written to a BIO_s_secmem(), whose
// buffer OpenSSL wipes when it is freed.)
absl::StatusOr<std::string> Drain(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size < 0 || (size > 0 && data == nullptr)) return OpenSslError("PEM encoding");
  return std::string(data, static_cast<std::size_t>(size));
}

absl::StatusOr<std::string> CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("certificate PEM encoding");
  }
  return Drain(bio.get());
}

absl::StatusOr<std::string> KeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("private key PEM encoding");
  }
  return Drain(bio.get());
}

absl::StatusOr<X509Ptr> CertFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio == nullptr ? nullptr : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return OpenSslError("CA certificate PEM decoding");
  return cert;
}

absl::StatusOr<PkeyPtr> KeyFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio == nullptr ? nullptr
                             : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) return OpenSslError("CA key PEM decoding");
  return key;
}

// A version 3 certificate for `key` with a random positive 63-bit serial number, the subject
// CNs, and the validity window; issuer name, extensions and signature are the caller's.
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key,
                                       const std::vector<std::string>& common_names) {
  X509Ptr cert(X509_new());
  BnPtr serial(BN_new());
  if (cert == nullptr || serial == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), kValidFromSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidForSeconds) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("certificate set-up");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  for (const std::string& cn : common_names) {
    if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.data()),
                                   static_cast<int>(cn.size()), -1, 0) != 1) {
      return OpenSslError("subject common name");
    }
  }
  return cert;
}

// Adds one extension given in OpenSSL's config syntax ("critical,CA:TRUE").
absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) return OpenSslError(absl::StrCat("extension ", OBJ_nid2sn(nid)));
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) return OpenSslError(absl::StrCat("extension ", OBJ_nid2sn(nid)));
  return absl::OkStatus();
}

// Appends an IA5String general name (DNS or URI); built directly rather than through the
// config syntax, so values with commas or colons are taken literally.
bool PushIa5Name(GENERAL_NAMES* names, int type, const std::string& value) {
  ASN1_IA5STRING* text = ASN1_IA5STRING_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  if (text == nullptr || name == nullptr ||
      ASN1_STRING_set(text, value.data(), static_cast<int>(value.size())) != 1) {
    ASN1_IA5STRING_free(text);
    GENERAL_NAME_free(name);
    return false;
  }
  GENERAL_NAME_set0_value(name, type, text);
  if (sk_GENERAL_NAME_push(names, name) == 0) {
    GENERAL_NAME_free(name);
    return false;
  }
  return true;
}

absl::Status AddSubjectAltNames(X509* cert, const CertSpec& spec) {
  if (spec.dns_names.empty() && spec.ip_addresses.empty() && spec.uris.empty()) {
    return absl::OkStatus();
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (names == nullptr) return OpenSslError("subjectAltName");
  for (const std::string& dns : spec.dns_names) {
    if (!PushIa5Name(names.get(), GEN_DNS, dns)) return OpenSslError("subjectAltName DNS");
  }
  for (const std::string& uri : spec.uris) {
    if (!PushIa5Name(names.get(), GEN_URI, uri)) return OpenSslError("subjectAltName URI");
  }
  for (const std::string& ip : spec.ip_addresses) {
    ASN1_OCTET_STRING* bytes = a2i_IPADDRESS(ip.c_str());
    if (bytes == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(absl::StrCat("test PKI: not an IP address: ", ip));
    }
    GENERAL_NAME* name = GENERAL_NAME_new();
    if (name == nullptr) {
      ASN1_OCTET_STRING_free(bytes);
      return OpenSslError("subjectAltName IP");
    }
    GENERAL_NAME_set0_value(name, GEN_IPADD, bytes);
    if (sk_GENERAL_NAME_push(names.get(), name) == 0) {
      GENERAL_NAME_free(name);
      return OpenSslError("subjectAltName IP");
    }
  }
  // RFC 5280 4.2.1.6: critical if the subject is empty.
  const int critical = spec.common_names.empty() ? 1 : 0;
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), critical, X509V3_ADD_DEFAULT) !=
      1) {
    return OpenSslError("subjectAltName");
  }
  return absl::OkStatus();
}

absl::StatusOr<CertKey> Encode(X509* cert, EVP_PKEY* key) {
  CertKey out;
  absl::StatusOr<std::string> cert_pem = CertToPem(cert);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = KeyToPem(key);
  if (!key_pem.ok()) return key_pem.status();
  out.cert_pem = *std::move(cert_pem);
  out.key_pem = *std::move(key_pem);
  return out;
}

}  // namespace

absl::StatusOr<TestPki> TestPki::Create(const std::string& ca_common_name) {
  absl::StatusOr<PkeyPtr> key = NewP256Key();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert = NewCertificate(key->get(), {ca_common_name});
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();
  if (X509_set_issuer_name(x, X509_get_subject_name(x)) != 1) {
    return OpenSslError("CA issuer name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
        {NID_key_usage, "critical,keyCertSign,cRLSign"},
        {NID_subject_key_identifier, "hash"}}) {
    const absl::Status added = AddExtension(x, &ctx, nid, value);
    if (!added.ok()) return added;
  }
  if (X509_sign(x, key->get(), EVP_sha256()) <= 0) return OpenSslError("CA self-signature");
  absl::StatusOr<CertKey> encoded = Encode(x, key->get());
  if (!encoded.ok()) return encoded.status();
  return TestPki(*std::move(encoded));
}

absl::StatusOr<CertKey> TestPki::Issue(const CertSpec& spec) const {
  absl::StatusOr<X509Ptr> ca_cert = CertFromPem(ca_.cert_pem);
  if (!ca_cert.ok()) return ca_cert.status();
  absl::StatusOr<PkeyPtr> ca_key = KeyFromPem(ca_.key_pem);
  if (!ca_key.ok()) return ca_key.status();

  absl::StatusOr<PkeyPtr> key = NewP256Key();
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert = NewCertificate(key->get(), spec.common_names);
  if (!cert.ok()) return cert.status();
  X509* x = cert->get();
  if (X509_set_issuer_name(x, X509_get_subject_name(ca_cert->get())) != 1) {
    return OpenSslError("issuer name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert->get(), x, nullptr, nullptr, 0);
  std::vector<std::pair<int, const char*>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  };
  if (spec.server_auth || spec.client_auth) {
    extensions.emplace_back(NID_ext_key_usage, spec.server_auth && spec.client_auth
                                                   ? "serverAuth,clientAuth"
                                               : spec.server_auth ? "serverAuth"
                                                                  : "clientAuth");
  }
  for (const auto& [nid, value] : extensions) {
    const absl::Status added = AddExtension(x, &ctx, nid, value);
    if (!added.ok()) return added;
  }
  const absl::Status sans = AddSubjectAltNames(x, spec);
  if (!sans.ok()) return sans;
  if (X509_sign(x, ca_key->get(), EVP_sha256()) <= 0) return OpenSslError("signature");
  return Encode(x, key->get());
}

absl::StatusOr<CertKey> TestPki::IssueServer(const std::string& dns_name,
                                             const std::string& ip_address) const {
  CertSpec spec;
  spec.common_names = {dns_name};
  spec.dns_names = {dns_name};
  spec.ip_addresses = {ip_address};
  spec.server_auth = true;
  return Issue(spec);
}

absl::StatusOr<CertKey> TestPki::IssueClient(const std::string& common_name,
                                             const std::optional<std::string>& spiffe_uri) const {
  CertSpec spec;
  spec.common_names = {common_name};
  if (spiffe_uri.has_value()) spec.uris = {*spiffe_uri};
  spec.client_auth = true;
  return Issue(spec);
}

}  // namespace registryauth::testing
