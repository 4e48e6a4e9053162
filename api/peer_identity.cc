#include "api/peer_identity.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <vector>

namespace registryauth::api {
namespace {

std::string ToString(const grpc::string_ref& s) { return std::string(s.data(), s.size()); }

bool Printable(const std::string& s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// URI SANs of a PEM certificate, parsed with OpenSSL (independent of what gRPC exposes).
std::vector<std::string> UriSans(const std::string& pem) {
  std::vector<std::string> uris;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(),
                                                                static_cast<int>(pem.size())),
                                                BIO_free);
  if (bio == nullptr) return uris;
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (cert == nullptr) return uris;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                      static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  GENERAL_NAMES_free(names);
  return uris;
}

}  // namespace

std::optional<std::string> SingleMetadataValue(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const char* key) {
  auto range = metadata.equal_range(key);
  if (range.first == range.second) return std::nullopt;
  auto next = range.first;
  if (++next != range.second) return std::string();  // Repeated: unusable.
  return ToString(range.first->second);
}

std::optional<std::string> CertificateIdentity(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) return std::nullopt;
  std::vector<grpc::string_ref> pems = context.FindPropertyValues("x509_pem_cert");
  if (pems.empty()) return std::nullopt;
  std::vector<std::string> spiffe;
  for (const std::string& uri : UriSans(ToString(pems.front()))) {
    if (uri.rfind("spiffe://", 0) == 0) spiffe.push_back(uri);
  }
  if (spiffe.size() == 1 && Printable(spiffe.front())) return spiffe.front();
  std::vector<grpc::string_ref> cns = context.FindPropertyValues("x509_common_name");
  if (cns.size() == 1 && cns.front().size() > 0 && cns.front().size() <= 256) {
    return "cn:" + ToString(cns.front());
  }
  return std::nullopt;
}

std::optional<std::string> ApiKeyFromMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
  std::optional<std::string> key;
  if (std::optional<std::string> v = SingleMetadataValue(metadata, "x-api-key"); v.has_value()) {
    key = std::move(v);
  } else if (std::optional<std::string> a = SingleMetadataValue(metadata, "authorization");
             a.has_value()) {
    constexpr size_t kSchemeLen = 7;  // "Bearer "
    if (a->size() <= kSchemeLen) return std::nullopt;
    std::string scheme = a->substr(0, kSchemeLen);
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (scheme != "bearer ") return std::nullopt;
    key = a->substr(kSchemeLen);
  }
  if (!key.has_value() || key->empty() || key->size() > 256 || !Printable(*key)) {
    return std::nullopt;
  }
  return key;
}

}  // namespace registryauth::api
