#include "crypto/aes_gcm.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/secret.h"

namespace registryauth::crypto {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OpenSSL takes int lengths; anything larger is refused rather than processed in pieces
// (credentials are tiny, and a multi-gigabyte secret is a bug upstream).
bool FitsInt(std::size_t n) { return n <= static_cast<std::size_t>(INT_MAX - 64); }

// AES-256-GCM fetched from the default provider once for the process. Passing the legacy
// EVP_aes_256_gcm() to EVP_*Init_ex made OpenSSL 3 look the implementation up again on every
// call, a locked search of its method store (issue 20: per-call fetches on GetCredentials'
// path). Null only if the provider has no AES-256-GCM, which then fails every call closed.
const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

absl::Status EncryptionFailed(absl::StatusCode code) {
  return absl::Status(code, "encryption failed");
}
absl::Status DecryptionFailed(absl::StatusCode code) {
  return absl::Status(code, "decryption failed");
}

}  // namespace

absl::StatusOr<std::unique_ptr<AesGcm256>> AesGcm256::Create(SecretString key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("AES-256-GCM key must be exactly 32 bytes");
  }
  return std::unique_ptr<AesGcm256>(new AesGcm256(std::move(key)));
}

absl::StatusOr<std::string> AesGcm256::Seal(std::string_view nonce12, std::string_view plaintext,
                                            std::string_view aad) const {
  if (nonce12.size() != kNonceSize || !FitsInt(plaintext.size()) || !FitsInt(aad.size())) {
    return EncryptionFailed(absl::StatusCode::kInvalidArgument);
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr || Aes256Gcm() == nullptr)
    return EncryptionFailed(absl::StatusCode::kInternal);
  // The default GCM IV length is 12 bytes, which is exactly kNonceSize.
  if (EVP_EncryptInit_ex2(ctx.get(), Aes256Gcm(), key_.bytes(), Bytes(nonce12), nullptr) != 1) {
    return EncryptionFailed(absl::StatusCode::kInternal);
  }
  int len = 0;
  if (!aad.empty() && (EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad),
                                         static_cast<int>(aad.size())) != 1)) {
    return EncryptionFailed(absl::StatusCode::kInternal);
  }
  std::string out(plaintext.size() + kTagSize, '\0');
  auto* out_bytes = reinterpret_cast<unsigned char*>(&out[0]);
  std::size_t written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), out_bytes, &len, Bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return EncryptionFailed(absl::StatusCode::kInternal);
    }
    written = static_cast<std::size_t>(len);
  }
  // GCM is a stream mode: Final emits no bytes, and the ciphertext is exactly as long as the
  // plaintext. The scratch buffer only keeps a non-null output pointer for empty plaintext.
  unsigned char final_out[kTagSize];
  if (EVP_EncryptFinal_ex(ctx.get(), final_out, &len) != 1 || len != 0 ||
      written != plaintext.size()) {
    return EncryptionFailed(absl::StatusCode::kInternal);
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          out_bytes + written) != 1) {
    return EncryptionFailed(absl::StatusCode::kInternal);
  }
  return out;
}

absl::StatusOr<SecretString> AesGcm256::Open(std::string_view nonce12, std::string_view ct_and_tag,
                                             std::string_view aad) const {
  if (nonce12.size() != kNonceSize || ct_and_tag.size() < kTagSize || !FitsInt(ct_and_tag.size()) ||
      !FitsInt(aad.size())) {
    return DecryptionFailed(absl::StatusCode::kInvalidArgument);
  }
  const std::string_view ciphertext = ct_and_tag.substr(0, ct_and_tag.size() - kTagSize);
  const std::string_view tag = ct_and_tag.substr(ct_and_tag.size() - kTagSize);

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr || Aes256Gcm() == nullptr)
    return DecryptionFailed(absl::StatusCode::kInternal);
  if (EVP_DecryptInit_ex2(ctx.get(), Aes256Gcm(), key_.bytes(), Bytes(nonce12), nullptr) != 1) {
    return DecryptionFailed(absl::StatusCode::kInternal);
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return DecryptionFailed(absl::StatusCode::kInternal);
  }
  // Plaintext is written into wiping storage; on any failure below it is released (and wiped)
  // without ever being returned.
  SecretString plaintext;
  plaintext.resize(ciphertext.size());
  auto* out_bytes = reinterpret_cast<unsigned char*>(plaintext.mutable_data());
  std::size_t written = 0;
  if (!ciphertext.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), out_bytes, &len, Bytes(ciphertext),
                          static_cast<int>(ciphertext.size())) != 1) {
      return DecryptionFailed(absl::StatusCode::kInternal);
    }
    written = static_cast<std::size_t>(len);
  }
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but only reads the tag.
  unsigned char tag_copy[kTagSize];
  std::copy(tag.begin(), tag.end(), tag_copy);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag_copy) !=
      1) {
    return DecryptionFailed(absl::StatusCode::kInternal);
  }
  // DecryptFinal compares the tag (in constant time) and fails on mismatch.
  unsigned char final_out[kTagSize];
  if (EVP_DecryptFinal_ex(ctx.get(), final_out, &len) != 1) {
    return DecryptionFailed(absl::StatusCode::kInvalidArgument);
  }
  if (len != 0 || written != ciphertext.size()) {
    return DecryptionFailed(absl::StatusCode::kInternal);
  }
  return plaintext;
}

}  // namespace registryauth::crypto
