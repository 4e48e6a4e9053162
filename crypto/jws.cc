#include "crypto/jws.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstddef>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "crypto/base64url.h"

namespace registryauth::crypto {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct X509ExtensionFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct OpensslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, X509ExtensionFree>;
using OpensslBytes = std::unique_ptr<unsigned char, OpensslFree>;

constexpr std::size_t kP256FieldBytes = 32;
constexpr std::size_t kEs256SignatureSize = 2 * kP256FieldBytes;
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;  // OPENSSL_RSA_MAX_MODULUS_BITS: larger keys cannot verify
constexpr int kMaxGeneratedRsaBits = 8192;
constexpr std::size_t kLibtrustKeyIdBytes = 30;  // 240 bits -> 48 base32 characters
constexpr std::size_t kMaxCommonNameBytes = 64;  // X.520 ub-common-name
constexpr std::size_t kMaxInput = static_cast<std::size_t>(INT_MAX) - 64;

// DER SubjectPublicKeyInfo prefix of an uncompressed P-256 point: SEQUENCE { SEQUENCE { OID
// id-ecPublicKey, OID prime256v1 }, BIT STRING (0 unused bits) 04 || X || Y }. This is the
// encoding Go's x509.MarshalPKIXPublicKey (and so libtrust) hashes for the key id.
constexpr unsigned char kP256SpkiPrefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                             0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                             0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Every failure path empties OpenSSL's thread-local error queue, so a stale error can never be
// mistaken for a later one (gRPC's TLS code shares the queue). The queue's text is not put into
// the Status: it could describe key material.
absl::Status Fail(absl::StatusCode code, std::string_view message) {
  ERR_clear_error();
  return absl::Status(code, absl::string_view(message.data(), message.size()));
}
absl::Status Internal(std::string_view what) { return Fail(absl::StatusCode::kInternal, what); }
absl::Status Invalid(std::string_view what) {
  return Fail(absl::StatusCode::kInvalidArgument, what);
}

absl::StatusOr<std::string> Sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr) != 1 ||
      size != 32) {
    return Internal("SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

// Big-endian bytes of a BIGNUM parameter of `pkey`; left-padded to `pad_to` bytes when non-zero
// (EC coordinates), minimal otherwise (RSA n and e, as RFC 7518 §6.3.1 wants).
absl::StatusOr<std::string> BnParam(const EVP_PKEY* pkey, const char* name, std::size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1 || raw == nullptr) {
    return Internal("cannot read public key parameters");
  }
  BnPtr bn(raw);
  const int size = BN_num_bytes(bn.get());
  if (size < 0 || (pad_to != 0 && static_cast<std::size_t>(size) > pad_to)) {
    return Internal("public key parameter out of range");
  }
  std::string out(pad_to != 0 ? pad_to : static_cast<std::size_t>(size), '\0');
  if (!out.empty() && BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(&out[0]),
                                   static_cast<int>(out.size())) != static_cast<int>(out.size())) {
    return Internal("cannot encode public key parameter");
  }
  return out;
}

absl::StatusOr<std::string> SpkiDer(const EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(pkey, &der);
  if (size <= 0 || der == nullptr) return Internal("cannot encode public key");
  OpensslBytes owned(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
}

absl::StatusOr<PkeyPtr> PkeyFromSpki(std::string_view der) {
  if (der.size() > kMaxInput) return Invalid("cannot parse public key");
  const unsigned char* p = Bytes(der);
  PkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (pkey == nullptr || p != Bytes(der) + der.size()) return Invalid("cannot parse public key");
  return pkey;
}

bool IsP256(const EVP_PKEY* pkey) {
  char name[64] = {0};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
      1) {
    return false;  // e.g. explicit curve parameters that match no named curve
  }
  return OBJ_sn2nid(name) == NID_X9_62_prime256v1 ||
         EC_curve_nist2nid(name) == NID_X9_62_prime256v1;
}

std::string LibtrustKeyIdFromDigest(std::string_view sha256) {
  const std::string b32 = Base32EncodeNoPadding(sha256.substr(0, kLibtrustKeyIdBytes));
  std::vector<std::string_view> groups;
  const std::string_view view(b32);
  for (std::size_t i = 0; i < view.size(); i += 4) groups.push_back(view.substr(i, 4));
  std::string out;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) out.push_back(':');
    out.append(groups[i]);
  }
  return out;
}

// Copies the contents of a memory BIO into a SecretString. The BIO is a BIO_s_secmem() for
// private keys, whose buffer OpenSSL wipes when it is freed.
absl::StatusOr<SecretString> DrainSecret(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return Internal("PEM encoding failed");
  return SecretString(std::string_view(data, static_cast<std::size_t>(size)));
}

absl::StatusOr<std::string> DrainPublic(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return Internal("PEM encoding failed");
  return std::string(data, static_cast<std::size_t>(size));
}

absl::StatusOr<SecretString> PrivateKeyToPem(EVP_PKEY* pkey) {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Internal("private key PEM encoding failed");
  }
  return DrainSecret(bio.get());
}

// A read-only memory BIO over `text` (no copy).
absl::StatusOr<BioPtr> ReadBio(std::string_view text) {
  if (text.size() > kMaxInput) return Invalid("PEM text too large");
  // An empty view may have a null data(), which BIO_new_mem_buf refuses.
  BioPtr bio(BIO_new_mem_buf(text.empty() ? "" : text.data(), static_cast<int>(text.size())));
  if (bio == nullptr) return Internal("cannot allocate BIO");
  return bio;
}

// Refuses to prompt for (or guess) a passphrase: encrypted PEM keys fail to load.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Internal("cannot add certificate extension");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view JwsAlgorithmName(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kEs256:
      return "ES256";
    case JwsAlgorithm::kRs256:
      return "RS256";
  }
  return "";
}

// ---- VerifyingKey ----------------------------------------------------------------------------

struct VerifyingKey::Parts {
  PkeyPtr pkey;
  JwsAlgorithm algorithm;
  std::string spki_der;
  nlohmann::json jwk_members;
  std::string jwk_thumbprint;
  std::string libtrust_key_id;
};

VerifyingKey::VerifyingKey(Parts parts)
    : pkey_(parts.pkey.release()),
      algorithm_(parts.algorithm),
      spki_der_(std::move(parts.spki_der)),
      jwk_members_(std::move(parts.jwk_members)),
      jwk_thumbprint_(std::move(parts.jwk_thumbprint)),
      libtrust_key_id_(std::move(parts.libtrust_key_id)) {}

VerifyingKey::~VerifyingKey() { EVP_PKEY_free(pkey_); }

absl::StatusOr<std::unique_ptr<VerifyingKey>> VerifyingKey::FromPkey(const EVP_PKEY* pkey) {
  Parts parts;
  std::string canonical_json;  // RFC 7638 §3.2: required members, sorted, no whitespace
  if (EVP_PKEY_is_a(pkey, "EC")) {
    if (!IsP256(pkey)) return Invalid("EC keys must use the P-256 curve (ES256)");
    auto x = BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, kP256FieldBytes);
    auto y = BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kP256FieldBytes);
    if (!x.ok()) return x.status();
    if (!y.ok()) return y.status();
    parts.algorithm = JwsAlgorithm::kEs256;
    parts.spki_der.assign(reinterpret_cast<const char*>(kP256SpkiPrefix), sizeof(kP256SpkiPrefix));
    parts.spki_der += *x;
    parts.spki_der += *y;
    const std::string x64 = Base64UrlEncode(*x);
    const std::string y64 = Base64UrlEncode(*y);
    canonical_json = R"({"crv":"P-256","kty":"EC","x":")" + x64 + R"(","y":")" + y64 + R"("})";
    parts.jwk_members = {{"kty", "EC"}, {"crv", "P-256"}, {"x", x64}, {"y", y64}};
  } else if (EVP_PKEY_is_a(pkey, "RSA")) {
    const int bits = EVP_PKEY_get_bits(pkey);
    if (bits < kMinRsaBits || bits > kMaxRsaBits) {
      return Invalid("RSA keys must have 2048 to 16384 bits");
    }
    auto n = BnParam(pkey, OSSL_PKEY_PARAM_RSA_N, 0);
    auto e = BnParam(pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    if (!n.ok()) return n.status();
    if (!e.ok()) return e.status();
    // e = 1 would make every "signature" its own message; even e is not an RSA key.
    if (e->empty() || (static_cast<unsigned char>(e->back()) & 1) == 0 || *e == "\x01") {
      return Invalid("RSA public exponent must be odd and greater than 1");
    }
    auto spki = SpkiDer(pkey);
    if (!spki.ok()) return spki.status();
    parts.algorithm = JwsAlgorithm::kRs256;
    parts.spki_der = *std::move(spki);
    const std::string n64 = Base64UrlEncode(*n);
    const std::string e64 = Base64UrlEncode(*e);
    canonical_json = R"({"e":")" + e64 + R"(","kty":"RSA","n":")" + n64 + R"("})";
    parts.jwk_members = {{"kty", "RSA"}, {"n", n64}, {"e", e64}};
  } else {
    return Invalid("unsupported key type (only EC P-256 and RSA)");
  }
  // Re-parse the canonical public encoding: the result holds no private material, and an EC
  // point that is not on the curve is refused here.
  auto public_pkey = PkeyFromSpki(parts.spki_der);
  if (!public_pkey.ok()) return public_pkey.status();
  parts.pkey = *std::move(public_pkey);

  auto thumbprint = Sha256(canonical_json);
  auto spki_digest = Sha256(parts.spki_der);
  if (!thumbprint.ok()) return thumbprint.status();
  if (!spki_digest.ok()) return spki_digest.status();
  parts.jwk_thumbprint = Base64UrlEncode(*thumbprint);
  parts.libtrust_key_id = LibtrustKeyIdFromDigest(*spki_digest);
  return std::unique_ptr<VerifyingKey>(new VerifyingKey(std::move(parts)));
}

absl::StatusOr<std::unique_ptr<VerifyingKey>> VerifyingKey::FromSpkiDer(std::string_view der) {
  auto pkey = PkeyFromSpki(der);
  if (!pkey.ok()) return pkey.status();
  return FromPkey(pkey->get());
}

absl::StatusOr<std::unique_ptr<VerifyingKey>> VerifyingKey::FromPublicKeyPem(std::string_view pem) {
  auto bio = ReadBio(pem);
  if (!bio.ok()) return bio.status();
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio->get(), nullptr, NoPassphrase, nullptr));
  if (pkey == nullptr) return Invalid("cannot parse public key PEM (\"PUBLIC KEY\")");
  return FromPkey(pkey.get());
}

absl::StatusOr<std::unique_ptr<VerifyingKey>> VerifyingKey::FromCertificatePem(
    std::string_view pem) {
  auto bio = ReadBio(pem);
  if (!bio.ok()) return bio.status();
  X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr));
  if (cert == nullptr) return Invalid("cannot parse certificate PEM");
  const EVP_PKEY* pkey = X509_get0_pubkey(cert.get());
  if (pkey == nullptr) return Invalid("cannot read the certificate's public key");
  return FromPkey(pkey);
}

std::string VerifyingKey::Sha256Fingerprint() const {
  absl::StatusOr<std::string> digest = Sha256(spki_der_);
  if (!digest.ok()) return "";
  return absl::StrCat("SHA256:", absl::Base64Escape(*digest));
}

const std::string& VerifyingKey::KeyId(KeyIdStyle style) const {
  return style == KeyIdStyle::kLibtrust ? libtrust_key_id_ : jwk_thumbprint_;
}

nlohmann::json VerifyingKey::PublicJwk(KeyIdStyle style) const {
  nlohmann::json jwk = jwk_members_;
  jwk["kid"] = KeyId(style);
  jwk["alg"] = std::string(JwsAlgorithmName(algorithm_));
  jwk["use"] = "sig";
  return jwk;
}

std::string VerifyingKey::PublicKeyPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey_) != 1) {
    ERR_clear_error();
    return "";
  }
  auto pem = DrainPublic(bio.get());
  return pem.ok() ? *std::move(pem) : "";
}

absl::Status VerifyingKey::Verify(std::string_view alg, std::string_view signing_input,
                                  std::string_view signature) const {
  // Exact, case-sensitive names (RFC 7515 §4.1.1). Anything else, "none" and HS* included, is
  // refused before any key material is touched.
  if (alg != "ES256" && alg != "RS256") return Invalid("unsupported JWS algorithm");
  if (alg != JwsAlgorithmName(algorithm_)) return Invalid("JWS algorithm does not match the key");
  if (signing_input.size() > kMaxInput) return Invalid("signing input too large");

  std::string der_signature;  // what EVP_DigestVerify wants
  if (algorithm_ == JwsAlgorithm::kEs256) {
    if (signature.size() != kEs256SignatureSize) return Invalid("invalid signature length");
    BnPtr r(BN_bin2bn(Bytes(signature), kP256FieldBytes, nullptr));
    BnPtr s(BN_bin2bn(Bytes(signature) + kP256FieldBytes, kP256FieldBytes, nullptr));
    EcdsaSigPtr sig(ECDSA_SIG_new());
    if (r == nullptr || s == nullptr || sig == nullptr ||
        ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
      return Internal("signature conversion failed");
    }
    static_cast<void>(r.release());  // owned by sig now
    static_cast<void>(s.release());
    unsigned char* der = nullptr;
    const int der_size = i2d_ECDSA_SIG(sig.get(), &der);
    if (der_size <= 0 || der == nullptr) return Internal("signature conversion failed");
    OpensslBytes owned(der);
    der_signature.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(der_size));
  } else {
    if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(pkey_))) {
      return Invalid("invalid signature length");
    }
    der_signature.assign(signature.data(), signature.size());
  }

  MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey_) != 1) {
    return Internal("signature verification setup failed");
  }
  if (algorithm_ == JwsAlgorithm::kRs256 &&
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
    return Internal("signature verification setup failed");
  }
  if (EVP_DigestVerify(ctx.get(), Bytes(der_signature), der_signature.size(), Bytes(signing_input),
                       signing_input.size()) != 1) {
    return Fail(absl::StatusCode::kUnauthenticated, "invalid signature");
  }
  return absl::OkStatus();
}

// ---- SigningKey ------------------------------------------------------------------------------

namespace {

// SHA-256 fetched once: EVP_sha256() is looked up in the provider store on every use.
const EVP_MD* Sha256() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

}  // namespace

class SigningKey::ContextPool {
 public:
  explicit ContextPool(EVP_PKEY* pkey) : pkey_(pkey) {}
  ~ContextPool() {
    for (EVP_PKEY_CTX* ctx : idle_) EVP_PKEY_CTX_free(ctx);
  }

  // A context ready for EVP_PKEY_sign over a SHA-256 digest; null if OpenSSL fails.
  PkeyCtxPtr Acquire() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        PkeyCtxPtr ctx(idle_.back());
        idle_.pop_back();
        return ctx;
      }
    }
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_, nullptr));
    if (ctx == nullptr || EVP_PKEY_sign_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), Sha256()) != 1) {
      return nullptr;
    }
    if (EVP_PKEY_get_base_id(pkey_) == EVP_PKEY_RSA &&
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
      return nullptr;
    }
    return ctx;
  }

  // Returns a context after a successful signature (a failed one is dropped).
  void Release(PkeyCtxPtr ctx) {
    absl::MutexLock lock(&mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(ctx.release());
  }

 private:
  static constexpr std::size_t kMaxIdle = 64;
  EVP_PKEY* const pkey_;
  absl::Mutex mu_;
  std::vector<EVP_PKEY_CTX*> idle_ ABSL_GUARDED_BY(mu_);
};

SigningKey::SigningKey(EVP_PKEY* pkey, std::shared_ptr<const VerifyingKey> public_key)
    : pkey_(pkey),
      public_key_(std::move(public_key)),
      contexts_(std::make_unique<ContextPool>(pkey)) {}

SigningKey::~SigningKey() { EVP_PKEY_free(pkey_); }

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPrivateKeyPem(const SecretString& pem) {
  auto bio = ReadBio(pem.view());
  if (!bio.ok()) return bio.status();
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio->get(), nullptr, NoPassphrase, nullptr));
  if (pkey == nullptr) {
    return Invalid("cannot parse private key PEM (PKCS#8 or traditional EC/RSA, unencrypted)");
  }
  auto public_key = VerifyingKey::FromPkey(pkey.get());
  if (!public_key.ok()) return public_key.status();
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr) return Internal("cannot check private key");
  if (EVP_PKEY_pairwise_check(check.get()) != 1) {
    return Invalid("private key fails its consistency check");
  }
  std::shared_ptr<const VerifyingKey> shared(std::move(*public_key));
  return std::unique_ptr<SigningKey>(new SigningKey(pkey.release(), std::move(shared)));
}

absl::StatusOr<std::string> SigningKey::Sign(std::string_view signing_input) const {
  if (signing_input.size() > kMaxInput) return Invalid("signing input too large");
  // Hash, then sign the digest with a prepared context: the same ECDSA / PKCS#1 v1.5
  // signature EVP_DigestSign makes, without its per-call setup.
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(Bytes(signing_input), signing_input.size(), digest, &digest_size, Sha256(),
                 nullptr) != 1) {
    return Internal("signing failed");
  }
  const bool ec = algorithm() == JwsAlgorithm::kEs256;
  const int max_size = EVP_PKEY_get_size(pkey_);
  if (max_size <= 0) return Internal("signing failed");
  PkeyCtxPtr ctx = contexts_->Acquire();
  if (ctx == nullptr) return Internal("signing setup failed");
  std::string sig(static_cast<std::size_t>(max_size), '\0');
  std::size_t sig_size = sig.size();
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(&sig[0]), &sig_size, digest,
                    digest_size) != 1 ||
      sig_size > sig.size()) {
    return Internal("signing failed");
  }
  contexts_->Release(std::move(ctx));
  sig.resize(sig_size);
  if (!ec) return sig;

  // DER ECDSA-Sig-Value -> r || s, each left-padded to 32 bytes (RFC 7518 §3.4).
  const unsigned char* p = Bytes(sig);
  EcdsaSigPtr parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (parsed == nullptr) return Internal("signing failed");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(parsed.get(), &r, &s);
  std::string raw(kEs256SignatureSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(&raw[0]);
  if (r == nullptr || s == nullptr ||
      BN_bn2binpad(r, out, kP256FieldBytes) != static_cast<int>(kP256FieldBytes) ||
      BN_bn2binpad(s, out + kP256FieldBytes, kP256FieldBytes) !=
          static_cast<int>(kP256FieldBytes)) {
    return Internal("signing failed");
  }
  return raw;
}

absl::StatusOr<std::string> SigningKey::SelfSignedCertificatePem(
    const CertificateSpec& spec) const {
  if (spec.common_name.empty() || spec.common_name.size() > kMaxCommonNameBytes) {
    return Invalid("certificate common name must be 1 to 64 bytes");
  }
  if (spec.not_after <= spec.not_before) {
    return Invalid("certificate validity must end after it starts");
  }
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return Internal("certificate creation failed");
  }
  // 16 random bytes, top bit clear (a positive INTEGER), second bit set (never zero, and always
  // the full 16 bytes: RFC 5280 allows up to 20 octets).
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) return Internal("RAND_bytes failed");
  serial_bytes[0] = static_cast<unsigned char>((serial_bytes[0] & 0x7f) | 0x40);
  BnPtr serial(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (serial == nullptr ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Internal("certificate serial failed");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.data()),
                                 static_cast<int>(spec.common_name.size()), -1, 0) != 1) {
    return Invalid("certificate common name is not valid UTF-8");
  }
  if (X509_set_issuer_name(cert.get(), name) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(spec.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(spec.not_after)) == nullptr ||
      X509_set_pubkey(cert.get(), pkey_) != 1) {
    return Internal("certificate fields failed");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  absl::Status st = AddExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  if (st.ok()) st = AddExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  if (st.ok()) st = AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  if (!st.ok()) return st;
  if (X509_sign(cert.get(), pkey_, EVP_sha256()) <= 0) {
    return Internal("certificate signature failed");
  }
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return Internal("certificate PEM encoding failed");
  }
  return DrainPublic(bio.get());
}

// ---- Generation and helpers ------------------------------------------------------------------

absl::StatusOr<SecretString> GenerateEs256KeyPem() {
  PkeyPtr pkey(EVP_EC_gen("P-256"));
  if (pkey == nullptr) return Internal("P-256 key generation failed");
  return PrivateKeyToPem(pkey.get());
}

absl::StatusOr<SecretString> GenerateRsaKeyPem(int bits) {
  if (bits < kMinRsaBits || bits > kMaxGeneratedRsaBits) {
    return Invalid("RSA key size must be 2048 to 8192 bits");
  }
  PkeyPtr pkey(EVP_RSA_gen(static_cast<unsigned int>(bits)));
  if (pkey == nullptr) return Internal("RSA key generation failed");
  return PrivateKeyToPem(pkey.get());
}

absl::StatusOr<std::vector<std::string>> CertificateDerChainFromPem(std::string_view pem) {
  auto bio = ReadBio(pem);
  if (!bio.ok()) return bio.status();
  std::vector<std::string> chain;
  ERR_clear_error();
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr));
    if (cert == nullptr) {
      // The normal end is "no start line" once the input is exhausted.
      const unsigned long err = ERR_peek_last_error();
      const bool at_end =
          ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
      ERR_clear_error();
      if (!at_end) return Invalid("cannot parse certificate PEM");
      break;
    }
    unsigned char* der = nullptr;
    const int size = i2d_X509(cert.get(), &der);
    if (size <= 0 || der == nullptr) return Internal("certificate encoding failed");
    OpensslBytes owned(der);
    chain.emplace_back(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
  }
  if (chain.empty()) return Invalid("no certificate in PEM text");
  return chain;
}

VerifyingKeySet::VerifyingKeySet(std::vector<std::shared_ptr<const VerifyingKey>> keys)
    : keys_(std::move(keys)) {}

std::shared_ptr<const VerifyingKey> VerifyingKeySet::Find(std::string_view kid) const {
  if (kid.empty()) return nullptr;
  for (const auto& key : keys_) {
    if (key != nullptr && (key->JwkThumbprint() == kid || key->LibtrustKeyId() == kid)) {
      return key;
    }
  }
  return nullptr;
}

nlohmann::json JwksDocument(const std::vector<std::shared_ptr<const VerifyingKey>>& keys,
                            KeyIdStyle style) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& key : keys) {
    if (key != nullptr) list.push_back(key->PublicJwk(style));
  }
  return nlohmann::json{{"keys", std::move(list)}};
}

}  // namespace registryauth::crypto
