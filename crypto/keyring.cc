#include "crypto/keyring.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/file_io.h"
#include "common/secret.h"
#include "common/status_macros.h"
#include "crypto/aes_gcm.h"
#include "crypto/key_file_lines.h"

namespace registryauth::crypto {
namespace {

absl::Status DecryptionFailed() { return absl::InvalidArgumentError("decryption failed"); }

constexpr char kSecretHashInfo[] = "registry-auth/secret-hash/v1";
constexpr std::size_t kSecretHashSize = HmacSha256::kSize;

// HKDF-SHA256(ikm = key, no salt, info = kSecretHashInfo), 32 bytes.
absl::StatusOr<SecretString> DeriveHashKey(const SecretString& key) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return absl::InternalError("HKDF unavailable");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return absl::InternalError("HKDF unavailable");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(key.bytes()),
                                        key.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(kSecretHashInfo),
                                        sizeof(kSecretHashInfo) - 1),
      OSSL_PARAM_construct_end()};
  SecretString out;
  out.resize(kSecretHashSize);
  const int ok =
      EVP_KDF_derive(ctx, reinterpret_cast<unsigned char*>(out.mutable_data()), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return absl::InternalError("HKDF failed");
  return out;
}

void PutBigEndian32(std::uint32_t v, char* out) {
  out[0] = static_cast<char>((v >> 24) & 0xff);
  out[1] = static_cast<char>((v >> 16) & 0xff);
  out[2] = static_cast<char>((v >> 8) & 0xff);
  out[3] = static_cast<char>(v & 0xff);
}

std::uint32_t GetBigEndian32(const char* in) {
  const auto* b = reinterpret_cast<const unsigned char*>(in);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}

// Debian's Abseil has its own absl::string_view (not std::string_view), so absl::StrCat does not
// take std::string_view arguments.
std::string Concat(std::string_view a, std::string_view b) {
  std::string out;
  out.reserve(a.size() + b.size());
  out.append(a);
  out.append(b);
  return out;
}

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// ---------------------------------------------------------------------------------------------
// Base64 (standard alphabet, '=' padding) without secret-dependent branches or table lookups:
// key bytes must not leak through the data cache or the branch predictor while being parsed.

// -1 (all bits set) if lo <= c <= hi, else 0. Requires 0 <= c <= 255 and 1 <= lo <= hi <= 255:
// both differences are then in [-256, 255], so their AND is negative exactly when both are,
// and an arithmetic shift by 8 maps [-256, -1] to -1 and [0, 255] to 0.
int RangeMask(int c, int lo, int hi) { return ((lo - 1 - c) & (c - hi - 1)) >> 8; }

// 0..63 for a base64 alphabet character, -1 for anything else (including '=').
int DecodeBase64Char(unsigned char uc) {
  const int c = uc;
  int v = -1;
  v += RangeMask(c, 'A', 'Z') & (c - 'A' + 1);
  v += RangeMask(c, 'a', 'z') & (c - 'a' + 26 + 1);
  v += RangeMask(c, '0', '9') & (c - '0' + 52 + 1);
  v += RangeMask(c, '+', '+') & (62 + 1);
  v += RangeMask(c, '/', '/') & (63 + 1);
  return v;
}

// -1 if v >= n else 0, for 0 <= v <= 63 and 1 <= n <= 64.
int AtLeastMask(int v, int n) { return (n - 1 - v) >> 8; }

char EncodeBase64Char(unsigned v) {
  const int x = static_cast<int>(v & 63);
  int c = 'A' + x;                // 0..25  -> 'A'..'Z'
  c += AtLeastMask(x, 26) & 6;    // 26..51 -> 'a'..'z'
  c += AtLeastMask(x, 52) & -75;  // 52..61 -> '0'..'9'
  c += AtLeastMask(x, 62) & -15;  // 62     -> '+'
  c += AtLeastMask(x, 63) & 3;    // 63     -> '/'
  return static_cast<char>(c);
}

// Strict decoder: length a multiple of 4, at most two '=' and only at the end, no whitespace,
// unused trailing bits zero (so every byte string has exactly one accepted encoding).
bool Base64Decode(std::string_view in, SecretString& out) {
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  std::size_t pad = 0;
  if (in[in.size() - 1] == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  const std::size_t data_chars = in.size() - pad;
  out.resize(in.size() / 4 * 3 - pad);
  char* dst = out.mutable_data();
  int error = 0;
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t o = 0;
  for (std::size_t i = 0; i < data_chars; ++i) {
    const int v = DecodeBase64Char(static_cast<unsigned char>(in[i]));
    error |= v;  // sign bit set once any character was invalid
    acc = (acc << 6) | (static_cast<std::uint32_t>(v) & 63u);
    bits += 6;
    if (bits >= 8) {  // depends only on the position, not on the data
      bits -= 8;
      dst[o++] = static_cast<char>((acc >> bits) & 0xffu);
    }
  }
  const std::uint32_t leftover = acc & ((1u << bits) - 1u);
  error |= -static_cast<int>((leftover | (0u - leftover)) >> 31);  // -1 if leftover != 0
  OPENSSL_cleanse(&acc, sizeof(acc));
  if (error < 0 || o != out.size()) {
    out.clear();  // the buffer is wiped when `out` is freed
    return false;
  }
  return true;
}

void Base64Append(std::string_view in, SecretString& out) {
  const auto* b = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  char quad[4];
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (std::uint32_t{b[i]} << 16) | (std::uint32_t{b[i + 1]} << 8) | b[i + 2];
    quad[0] = EncodeBase64Char(v >> 18);
    quad[1] = EncodeBase64Char(v >> 12);
    quad[2] = EncodeBase64Char(v >> 6);
    quad[3] = EncodeBase64Char(v);
    out.append(std::string_view(quad, 4));
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{b[i]} << 16;
    quad[0] = EncodeBase64Char(v >> 18);
    quad[1] = EncodeBase64Char(v >> 12);
    quad[2] = quad[3] = '=';
    out.append(std::string_view(quad, 4));
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{b[i]} << 16) | (std::uint32_t{b[i + 1]} << 8);
    quad[0] = EncodeBase64Char(v >> 18);
    quad[1] = EncodeBase64Char(v >> 12);
    quad[2] = EncodeBase64Char(v >> 6);
    quad[3] = '=';
    out.append(std::string_view(quad, 4));
  }
  OPENSSL_cleanse(quad, sizeof(quad));
}

// ---------------------------------------------------------------------------------------------
// Key file parsing. Tokens are views into the caller's (secret) buffer; nothing is copied
// except decoded key bytes, which go straight into a SecretString.

// Decimal 1..4294967295 without sign or leading zeros.
bool ParseKeyId(std::string_view s, std::uint32_t& id) {
  if (s.empty() || s.size() > 10 || s[0] == '0') return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > 0xffffffffULL) return false;
  id = static_cast<std::uint32_t>(v);
  return true;
}

// Error messages carry no prefix; Parse and LoadFile add one. Checks everything Create would
// check too, so a successful parse always builds a ring.
absl::StatusOr<KeyRing::FileContents> ParseKeyFileText(std::string_view text) {
  std::vector<std::pair<std::uint32_t, SecretString>> keys;
  std::map<std::uint32_t, std::size_t> key_lines;  // id -> line number
  std::uint32_t primary_id = 0;
  std::size_t primary_line = 0;

  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);

    std::string_view tokens[3];
    const std::size_t n = TokenizeKeyFileLine(line, tokens, 3);
    if (n == 0) continue;
    if (tokens[0] == "primary" && n == 2) {
      if (primary_line != 0) {
        return KeyFileLineError(
            line_no, absl::StrCat("second 'primary' line (first on line ", primary_line, ")"));
      }
      if (!ParseKeyId(tokens[1], primary_id)) {
        return KeyFileLineError(line_no, "key id must be a decimal number in 1..4294967295");
      }
      primary_line = line_no;
    } else if (tokens[0] == "key" && n == 3) {
      std::uint32_t id = 0;
      if (!ParseKeyId(tokens[1], id)) {
        return KeyFileLineError(line_no, "key id must be a decimal number in 1..4294967295");
      }
      auto [it, inserted] = key_lines.emplace(id, line_no);
      if (!inserted) {
        return KeyFileLineError(
            line_no, absl::StrCat("duplicate key id ", id, " (first on line ", it->second, ")"));
      }
      SecretString key;
      if (!Base64Decode(tokens[2], key)) {
        return KeyFileLineError(line_no,
                                "key is not valid base64 (standard alphabet, '=' padding)");
      }
      if (key.size() != AesGcm256::kKeySize) {
        return KeyFileLineError(line_no, "key must be exactly 32 bytes (44 base64 characters)");
      }
      keys.emplace_back(id, std::move(key));
    } else {
      return KeyFileLineError(line_no, "expected 'primary <id>' or 'key <id> <base64>'");
    }
  }
  if (keys.empty()) return absl::InvalidArgumentError("no 'key' lines");
  if (primary_line == 0) return absl::InvalidArgumentError("no 'primary' line");
  if (key_lines.count(primary_id) == 0) {
    return KeyFileLineError(primary_line,
                            absl::StrCat("primary key id ", primary_id, " has no 'key' line"));
  }
  return KeyRing::FileContents{std::move(keys), primary_id};
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyRing>> KeyRing::Create(
    std::vector<std::pair<std::uint32_t, SecretString>> keys, std::uint32_t primary_id) {
  if (keys.empty()) return absl::InvalidArgumentError("key ring needs at least one key");
  std::map<std::uint32_t, std::unique_ptr<AesGcm256>> ring;
  std::map<std::uint32_t, SecretString> hash_keys;
  for (auto& [id, key] : keys) {
    if (id == 0) return absl::InvalidArgumentError("key id 0 is reserved");
    if (ring.count(id) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate key id ", id));
    }
    if (key.size() != AesGcm256::kKeySize) {
      return absl::InvalidArgumentError(absl::StrCat("key ", id, " must be exactly 32 bytes"));
    }
    ASSIGN_OR_RETURN(SecretString hash_key, DeriveHashKey(key));
    auto gcm = AesGcm256::Create(std::move(key));
    if (!gcm.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("key ", id, " must be exactly 32 bytes"));
    }
    ring.emplace(id, *std::move(gcm));
    hash_keys.emplace(id, std::move(hash_key));
  }
  if (ring.count(primary_id) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("primary key id ", primary_id, " not present"));
  }
  return std::unique_ptr<KeyRing>(new KeyRing(std::move(ring), std::move(hash_keys), primary_id));
}

absl::StatusOr<KeyRing::FileContents> KeyRing::ParseContents(std::string_view key_file_text) {
  auto contents = ParseKeyFileText(key_file_text);
  if (!contents.ok()) return WithPrefix(contents.status(), "key file: ");
  return contents;
}

absl::StatusOr<std::unique_ptr<KeyRing>> KeyRing::Parse(std::string_view key_file_text) {
  ASSIGN_OR_RETURN(FileContents contents, ParseContents(key_file_text));
  return Create(std::move(contents.keys), contents.primary_id);
}

absl::StatusOr<std::unique_ptr<KeyRing>> KeyRing::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(FileContents contents, LoadFileContents(path));
  return Create(std::move(contents.keys), contents.primary_id);
}

absl::StatusOr<KeyRing::FileContents> KeyRing::LoadFileContents(const std::string& path) {
  ASSIGN_OR_RETURN(SecretString text, ReadPrivateFile(path, "key file"));
  auto contents = ParseKeyFileText(text.view());
  if (!contents.ok()) return WithPrefix(contents.status(), absl::StrCat("key file ", path, ": "));
  return contents;
}

absl::StatusOr<SecretString> KeyRing::GenerateKey() {
  SecretString key;
  key.resize(AesGcm256::kKeySize);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.mutable_data()),
                 static_cast<int>(key.size())) != 1) {
    return absl::InternalError("random number generator failed");
  }
  return key;
}

absl::StatusOr<SecretString> KeyRing::FormatKeyFile(
    const std::vector<std::pair<std::uint32_t, const SecretString*>>& keys,
    std::uint32_t primary_id) {
  if (keys.empty()) return absl::InvalidArgumentError("key file needs at least one key");
  std::set<std::uint32_t> seen;
  for (const auto& [id, key] : keys) {
    if (id == 0) return absl::InvalidArgumentError("key id 0 is reserved");
    if (!seen.insert(id).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate key id ", id));
    }
    if (key == nullptr || key->size() != AesGcm256::kKeySize) {
      return absl::InvalidArgumentError(absl::StrCat("key ", id, " must be exactly 32 bytes"));
    }
  }
  if (seen.count(primary_id) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("primary key id ", primary_id, " not present"));
  }
  SecretString text;
  text.append("# registry-auth data encryption keys. Keep this file chmod 600.\n");
  text.append(absl::StrCat("primary ", primary_id, "\n"));
  for (const auto& [id, key] : keys) {
    text.append(absl::StrCat("key ", id, " "));
    Base64Append(key->view(), text);
    text.append("\n");
  }
  return text;
}

std::uint32_t KeyRing::KeyIdOf(std::string_view ciphertext) {
  if (ciphertext.size() < kOverhead || static_cast<std::uint8_t>(ciphertext[0]) != kFormatVersion) {
    return 0;
  }
  return GetBigEndian32(ciphertext.data() + 1);
}

std::vector<std::uint32_t> KeyRing::ChangedKeyIds(const KeyRing& other) const {
  // GCM under a fixed nonce is deterministic: equal keys give equal output, different keys
  // different output (but for a 2^-128 chance). The output is compared in constant time and
  // then dropped; nothing real is ever sealed under this nonce by this code path.
  static constexpr char kProbeNonce[AesGcm256::kNonceSize] = {'k', 'e', 'y', '-', 'c', 'o',
                                                              'm', 'p', 'a', 'r', 'e', '!'};
  const std::string_view nonce(kProbeNonce, sizeof(kProbeNonce));
  constexpr std::string_view kProbe = "registry-auth key comparison";
  std::vector<std::uint32_t> changed;
  for (const auto& [id, gcm] : keys_) {
    const auto it = other.keys_.find(id);
    if (it == other.keys_.end()) continue;
    absl::StatusOr<std::string> mine = gcm->Seal(nonce, kProbe, "");
    absl::StatusOr<std::string> theirs = it->second->Seal(nonce, kProbe, "");
    if (!mine.ok() || !theirs.ok() || mine->size() != theirs->size() ||
        CRYPTO_memcmp(mine->data(), theirs->data(), mine->size()) != 0) {
      changed.push_back(id);
    }
  }
  return changed;
}

std::vector<std::uint32_t> KeyRing::key_ids() const {
  std::vector<std::uint32_t> ids;
  ids.reserve(keys_.size());
  for (const auto& entry : keys_) ids.push_back(entry.first);
  return ids;
}

absl::StatusOr<std::string> KeyRing::Encrypt(std::string_view plaintext,
                                             std::string_view associated_data) const {
  const auto it = keys_.find(primary_id_);
  if (it == keys_.end()) return absl::InternalError("encryption failed");  // unreachable
  std::string out(kHeaderSize + AesGcm256::kNonceSize, '\0');
  out[0] = static_cast<char>(kFormatVersion);
  PutBigEndian32(primary_id_, &out[1]);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&out[kHeaderSize]),
                 static_cast<int>(AesGcm256::kNonceSize)) != 1) {
    return absl::InternalError("encryption failed");
  }
  const std::string_view header(out.data(), kHeaderSize);
  const std::string_view nonce(out.data() + kHeaderSize, AesGcm256::kNonceSize);
  const std::string aad = Concat(header, associated_data);
  ASSIGN_OR_RETURN(std::string sealed, it->second->Seal(nonce, plaintext, aad));
  out.append(sealed);
  return out;
}

absl::StatusOr<SecretString> KeyRing::Decrypt(std::string_view ciphertext,
                                              std::string_view associated_data) const {
  const std::uint32_t id = KeyIdOf(ciphertext);  // 0 if short or wrong version
  if (id == 0) return DecryptionFailed();
  const auto it = keys_.find(id);
  if (it == keys_.end()) return DecryptionFailed();
  const std::string aad = Concat(ciphertext.substr(0, kHeaderSize), associated_data);
  return it->second->Open(ciphertext.substr(kHeaderSize, AesGcm256::kNonceSize),
                          ciphertext.substr(kHeaderSize + AesGcm256::kNonceSize), aad);
}

KeyRing::KeyRing(std::map<std::uint32_t, std::unique_ptr<AesGcm256>> keys,
                 std::map<std::uint32_t, SecretString> hash_keys, std::uint32_t primary_id)
    : keys_(std::move(keys)), primary_id_(primary_id) {
  for (const auto& [id, key] : hash_keys) {
    hash_keys_.emplace(id, std::make_unique<HmacSha256>(key.view()));
  }
}

absl::StatusOr<SecretDigest> KeyRing::Hash(std::string_view secret) const {
  unsigned char mac[kSecretHashSize];
  if (!hash_keys_.at(primary_id_)->Compute(secret, mac)) {
    return absl::InternalError("secret hash failed");
  }
  SecretDigest d;
  d.key_id = primary_id_;
  d.digest.assign(reinterpret_cast<const char*>(mac), sizeof(mac));
  return d;
}

bool KeyRing::Verify(std::string_view secret, const SecretDigest& expected) const {
  auto it = hash_keys_.find(expected.key_id);
  if (it == hash_keys_.end() || expected.digest.size() != kSecretHashSize) return false;
  unsigned char mac[kSecretHashSize];
  if (!it->second->Compute(secret, mac)) return false;
  return CRYPTO_memcmp(mac, expected.digest.data(), kSecretHashSize) == 0;
}

}  // namespace registryauth::crypto
