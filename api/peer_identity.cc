#include "api/peer_identity.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/support/string_ref.h"

namespace registryauth::api {
namespace {

constexpr std::size_t kMaxPemSize = 64 * 1024;
constexpr std::size_t kMaxSpiffeIdSize = 2048;
constexpr std::size_t kMaxCommonNameSize = 256;
constexpr std::string_view kSpiffeScheme = "spiffe://";
constexpr std::string_view kApiKeyHeader = "x-api-key";
constexpr std::string_view kAuthorizationHeader = "authorization";
constexpr std::string_view kBearer = "bearer";

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};

std::string_view View(const grpc::string_ref& s) { return std::string_view(s.data(), s.size()); }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool HasControlCharacter(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

std::string_view Asn1View(const ASN1_STRING* s) {
  const int length = ASN1_STRING_length(s);
  if (length <= 0) return std::string_view();
  return std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                          static_cast<std::size_t>(length));
}

enum class SpiffeResult { kNone, kOne, kRefused };

// Looks for SPIFFE IDs among the URI SANs; sets `id` when there is exactly one valid one.
SpiffeResult FindSpiffeId(const X509* cert, std::string& id) {
  int critical = 0;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  if (names == nullptr) {
    // -1: no subjectAltName; -2: more than one (malformed); otherwise it did not decode.
    return critical == -1 ? SpiffeResult::kNone : SpiffeResult::kRefused;
  }
  std::size_t count = 0;
  std::string_view found;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name == nullptr || name->type != GEN_URI) continue;
    const std::string_view uri = Asn1View(name->d.uniformResourceIdentifier);
    if (!EqualsIgnoreCase(uri.substr(0, kSpiffeScheme.size()), kSpiffeScheme)) continue;
    ++count;
    found = uri;
  }
  if (count == 0) return SpiffeResult::kNone;
  if (count > 1 || found.size() > kMaxSpiffeIdSize || found.size() == kSpiffeScheme.size() ||
      HasControlCharacter(found)) {
    return SpiffeResult::kRefused;
  }
  id.assign(found);
  return SpiffeResult::kOne;
}

std::optional<std::string> CommonNameIdentity(const X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  if (subject == nullptr) return std::nullopt;
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0 || X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) {
    return std::nullopt;  // none, or more than one
  }
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  if (value == nullptr) return std::nullopt;
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, value);
  if (length < 0) return std::nullopt;
  const std::string cn(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  if (cn.empty() || cn.size() > kMaxCommonNameSize || HasControlCharacter(cn)) return std::nullopt;
  return "cn:" + cn;
}

}  // namespace

std::optional<std::string> IdentityFromCertificatePem(std::string_view pem) {
  if (pem.empty() || pem.size() > kMaxPemSize) return std::nullopt;
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return std::nullopt;
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  // Leave no parse errors behind in this thread's OpenSSL error queue: gRPC's TLS code reads it.
  ERR_clear_error();
  if (cert == nullptr) return std::nullopt;
  std::string spiffe_id;
  switch (FindSpiffeId(cert.get(), spiffe_id)) {
    case SpiffeResult::kOne:
      return spiffe_id;
    case SpiffeResult::kRefused:
      return std::nullopt;
    case SpiffeResult::kNone:
      break;
  }
  return CommonNameIdentity(cert.get());
}

std::optional<std::string> CertificateIdentity(const grpc::AuthContext& ctx) {
  if (!ctx.IsPeerAuthenticated()) return std::nullopt;
  const std::vector<grpc::string_ref> security =
      ctx.FindPropertyValues(GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
  if (security.size() != 1 || (View(security[0]) != GRPC_SSL_TRANSPORT_SECURITY_TYPE &&
                               View(security[0]) != GRPC_TLS_TRANSPORT_SECURITY_TYPE)) {
    return std::nullopt;
  }
  const std::vector<grpc::string_ref> pem =
      ctx.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pem.size() != 1) return std::nullopt;
  std::optional<std::string> identity = IdentityFromCertificatePem(View(pem[0]));
  if (!identity.has_value()) return std::nullopt;
  // gRPC's own reading of the certificate, where it has one, must agree with ours.
  const std::vector<grpc::string_ref> grpc_spiffe =
      ctx.FindPropertyValues(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
  if (!grpc_spiffe.empty() && (grpc_spiffe.size() != 1 || View(grpc_spiffe[0]) != *identity)) {
    return std::nullopt;
  }
  return identity;
}

std::optional<std::string> SingleMetadataValue(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* key) {
  auto range = metadata.equal_range(key);
  if (range.first == range.second) return std::nullopt;
  auto next = range.first;
  if (++next != range.second) return std::string();  // Repeated: unusable.
  return std::string(View(range.first->second));
}

std::optional<SecretString> ApiKeyFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& client_metadata) {
  std::size_t credentials = 0;
  std::optional<std::string_view> key;
  for (const auto& [name_ref, value_ref] : client_metadata) {
    const std::string_view name = View(name_ref);
    const std::string_view value = View(value_ref);
    if (EqualsIgnoreCase(name, kApiKeyHeader)) {
      ++credentials;
      key = value;
    } else if (EqualsIgnoreCase(name, kAuthorizationHeader)) {
      ++credentials;
      // "Bearer" 1*SP token (RFC 6750 2.1); any other scheme carries no API key.
      if (!EqualsIgnoreCase(value.substr(0, kBearer.size()), kBearer)) {
        key = std::nullopt;
        continue;
      }
      std::size_t i = kBearer.size();
      if (i >= value.size() || value[i] != ' ') {
        key = std::nullopt;
        continue;
      }
      while (i < value.size() && value[i] == ' ') ++i;
      key = value.substr(i);
    }
  }
  if (credentials != 1 || !key.has_value()) return std::nullopt;
  if (key->empty() || key->size() > kMaxApiKeySize) return std::nullopt;
  for (char c : *key) {
    if (c < 0x21 || c > 0x7e) return std::nullopt;
  }
  return SecretString(*key);
}

}  // namespace registryauth::api
