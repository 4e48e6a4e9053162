#include "crypto/hmac_sha256.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace registryauth::crypto {
namespace {

// Fetched once for the process (the fetch is a locked lookup in OpenSSL's method store).
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  return mac;
}

}  // namespace

HmacSha256::HmacSha256(std::string_view key) {
  EVP_MAC* mac = HmacAlgorithm();
  if (mac == nullptr) return;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) return;
  char digest[] = OSSL_DIGEST_NAME_SHA2_256;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) !=
      1) {
    EVP_MAC_CTX_free(ctx);
    return;
  }
  prepared_ = ctx;
}

HmacSha256::~HmacSha256() { EVP_MAC_CTX_free(prepared_); }

bool HmacSha256::Compute(std::string_view data, unsigned char* out) const {
  if (prepared_ == nullptr) return false;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(prepared_);
  if (ctx == nullptr) return false;
  size_t len = 0;
  const bool ok =
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx, out, &len, kSize) == 1 && len == kSize;
  EVP_MAC_CTX_free(ctx);
  return ok;
}

}  // namespace registryauth::crypto
