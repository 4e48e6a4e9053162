#include "crypto/jws.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/secret.h"
#include "crypto/base64url.h"
#include "crypto/jwk_test_util.h"
#include "crypto/test_vectors.h"

namespace registryauth::crypto {
namespace {

using ::registryauth::crypto::testing::GenerateOtherKeyPem;
using ::registryauth::crypto::testing::PrivateKeyPemFromJwk;
using ::registryauth::crypto::testing::PublicKeyPemFromJwk;
using ::registryauth::crypto::testing::ReadVectorFile;
using ::registryauth::crypto::testing::ReencodePrivateKeyPem;
using ::registryauth::crypto::testing::TestDataPath;
using ::registryauth::crypto::testing::VectorRecord;

VectorRecord Vector(const std::string& name) {
  for (VectorRecord& r : ReadVectorFile(TestDataPath("crypto/testdata/jose_vectors.txt"))) {
    if (r["name"] == name) return r;
  }
  ADD_FAILURE() << "no vector " << name;
  return {};
}

std::string B64(const std::string& text) {
  auto bytes = Base64UrlDecode(text);
  EXPECT_TRUE(bytes.ok()) << text;
  return bytes.ok() ? *bytes : "";
}

std::unique_ptr<SigningKey> LoadSigningKey(const SecretString& pem) {
  auto key = SigningKey::FromPrivateKeyPem(pem);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? std::move(*key) : nullptr;
}

std::unique_ptr<SigningKey> NewEs256Key() {
  auto pem = GenerateEs256KeyPem();
  EXPECT_TRUE(pem.ok()) << pem.status();
  return pem.ok() ? LoadSigningKey(*pem) : nullptr;
}

std::unique_ptr<SigningKey> NewRsaKey(int bits = 2048) {
  auto pem = GenerateRsaKeyPem(bits);
  EXPECT_TRUE(pem.ok()) << pem.status();
  return pem.ok() ? LoadSigningKey(*pem) : nullptr;
}

// --- Known answers -----------------------------------------------------------------------------

TEST(JwsKnownAnswer, Rfc7515A2Rs256SignatureIsExact) {
  const VectorRecord v = Vector("rfc7515_a2_rs256");
  auto pem = PrivateKeyPemFromJwk(v);
  ASSERT_TRUE(pem.ok()) << pem.status();
  std::unique_ptr<SigningKey> key = LoadSigningKey(*pem);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->algorithm(), JwsAlgorithm::kRs256);

  auto signature = key->Sign(v.at("signing_input"));
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_EQ(Base64UrlEncode(*signature), v.at("signature"));
  EXPECT_TRUE(key->public_key()->Verify("RS256", v.at("signing_input"), *signature).ok());

  // The RFC's public key alone verifies the RFC's signature (A.2.2).
  auto public_pem = PublicKeyPemFromJwk(v);
  ASSERT_TRUE(public_pem.ok());
  auto verifier = VerifyingKey::FromPublicKeyPem(*public_pem);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE((*verifier)->Verify("RS256", v.at("signing_input"), B64(v.at("signature"))).ok());
  EXPECT_TRUE((*verifier)->SamePublicKey(*key->public_key()));
}

TEST(JwsKnownAnswer, Rfc7515A3Es256SignatureVerifies) {
  const VectorRecord v = Vector("rfc7515_a3_es256");
  auto public_pem = PublicKeyPemFromJwk(v);
  ASSERT_TRUE(public_pem.ok()) << public_pem.status();
  auto verifier = VerifyingKey::FromPublicKeyPem(*public_pem);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_EQ((*verifier)->algorithm(), JwsAlgorithm::kEs256);
  const std::string signature = B64(v.at("signature"));
  ASSERT_EQ(signature.size(), 64u);
  EXPECT_TRUE((*verifier)->Verify("ES256", v.at("signing_input"), signature).ok());

  // Any flipped bit in the signature or the input fails.
  std::string bad = signature;
  bad[63] ^= 0x01;
  EXPECT_EQ((*verifier)->Verify("ES256", v.at("signing_input"), bad).code(),
            absl::StatusCode::kUnauthenticated);
  std::string input = v.at("signing_input");
  input[5] ^= 0x01;
  EXPECT_EQ((*verifier)->Verify("ES256", input, signature).code(),
            absl::StatusCode::kUnauthenticated);

  // Our own ES256 signatures with the RFC's private key: randomized, 64 bytes, verifying.
  auto pem = PrivateKeyPemFromJwk(v);
  ASSERT_TRUE(pem.ok()) << pem.status();
  std::unique_ptr<SigningKey> key = LoadSigningKey(*pem);
  ASSERT_NE(key, nullptr);
  EXPECT_TRUE(key->public_key()->SamePublicKey(**verifier));
  auto s1 = key->Sign(v.at("signing_input"));
  auto s2 = key->Sign(v.at("signing_input"));
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_EQ(s1->size(), 64u);
  EXPECT_NE(*s1, *s2);
  EXPECT_TRUE((*verifier)->Verify("ES256", v.at("signing_input"), *s1).ok());
  EXPECT_TRUE((*verifier)->Verify("ES256", v.at("signing_input"), *s2).ok());
}

TEST(JwsKnownAnswer, Rfc7638Thumbprint) {
  const VectorRecord v = Vector("rfc7638_s3_1_thumbprint");
  auto public_pem = PublicKeyPemFromJwk(v);
  ASSERT_TRUE(public_pem.ok()) << public_pem.status();
  auto key = VerifyingKey::FromPublicKeyPem(*public_pem);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->JwkThumbprint(), v.at("thumbprint"));
  EXPECT_EQ((*key)->KeyId(KeyIdStyle::kJwkThumbprint), v.at("thumbprint"));
  const nlohmann::json jwk = (*key)->PublicJwk(KeyIdStyle::kJwkThumbprint);
  EXPECT_EQ(jwk["n"], v.at("n"));
  EXPECT_EQ(jwk["e"], "AQAB");
  EXPECT_EQ(jwk["kid"], v.at("thumbprint"));
}

TEST(JwsKnownAnswer, LibtrustKeyIdFromDistributionSpec) {
  const VectorRecord v = Vector("distribution_manifest_v2_1_libtrust_kid");
  auto public_pem = PublicKeyPemFromJwk(v);
  ASSERT_TRUE(public_pem.ok()) << public_pem.status();
  auto key = VerifyingKey::FromPublicKeyPem(*public_pem);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->LibtrustKeyId(), v.at("libtrust_kid"));
  EXPECT_EQ((*key)->KeyId(KeyIdStyle::kLibtrust), v.at("libtrust_kid"));
  const nlohmann::json jwk = (*key)->PublicJwk(KeyIdStyle::kLibtrust);
  EXPECT_EQ(jwk["x"], v.at("x"));
  EXPECT_EQ(jwk["y"], v.at("y"));
  EXPECT_EQ(jwk["kid"], v.at("libtrust_kid"));
}

// The fingerprint GitHub shows for an App key, against the one the openssl command line printed
// for the committed PKCS#1 test key (`openssl rsa -in KEY -pubout -outform DER | openssl sha256
// -binary | openssl base64`).
TEST(JwsKnownAnswer, Sha256FingerprintOfPkcs1KeyMatchesOpensslCli) {
  std::ifstream in(TestDataPath("crypto/testdata/github_app_test_key.pem"));
  ASSERT_TRUE(in.good());
  std::stringstream pem;
  pem << in.rdbuf();
  ASSERT_NE(pem.str().find("BEGIN RSA PRIVATE KEY"), std::string::npos);
  auto key = SigningKey::FromPrivateKeyPem(SecretString(pem.str()));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->algorithm(), JwsAlgorithm::kRs256);
  EXPECT_EQ((*key)->public_key()->Sha256Fingerprint(),
            "SHA256:LsbUfY8NCp9WQHBEXEXbbetOI7RTi5XXGW3ZmIfGUl8=");
  // Another key, another fingerprint; same key through its public PEM, same fingerprint.
  std::unique_ptr<SigningKey> other = NewRsaKey();
  EXPECT_NE(other->public_key()->Sha256Fingerprint(), (*key)->public_key()->Sha256Fingerprint());
  auto pub = VerifyingKey::FromPublicKeyPem((*key)->public_key()->PublicKeyPem());
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ((*pub)->Sha256Fingerprint(), (*key)->public_key()->Sha256Fingerprint());
}

// --- Key ids and JWKs
// ------------------------------------------------------------------------------

TEST(JwsKeyIds, FormatOfGeneratedKeys) {
  const std::regex libtrust("^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$");
  const std::regex thumbprint("^[A-Za-z0-9_-]{43}$");
  for (auto& key : {NewEs256Key(), NewRsaKey()}) {
    ASSERT_NE(key, nullptr);
    const VerifyingKey& pub = *key->public_key();
    EXPECT_TRUE(std::regex_match(pub.LibtrustKeyId(), libtrust)) << pub.LibtrustKeyId();
    EXPECT_TRUE(std::regex_match(pub.JwkThumbprint(), thumbprint)) << pub.JwkThumbprint();
  }
}

TEST(JwsKeyIds, CompressedEcPointGetsTheSameIds) {
  const VectorRecord v = Vector("distribution_manifest_v2_1_libtrust_kid");
  auto public_pem = PublicKeyPemFromJwk(v);
  ASSERT_TRUE(public_pem.ok());
  BIO* in = BIO_new_mem_buf(public_pem->data(), static_cast<int>(public_pem->size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  ASSERT_NE(pkey, nullptr);
  ASSERT_EQ(EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           "compressed"),
            1);
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(pkey, &der);
  EVP_PKEY_free(pkey);
  ASSERT_GT(size, 0);
  const std::string compressed(reinterpret_cast<char*>(der), static_cast<std::size_t>(size));
  OPENSSL_free(der);
  ASSERT_EQ(compressed.size(), 59u);  // 26-byte header + 33-byte compressed point

  auto key = VerifyingKey::FromSpkiDer(compressed);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ((*key)->spki_der().size(), 91u);  // re-encoded uncompressed
  EXPECT_EQ((*key)->LibtrustKeyId(), v.at("libtrust_kid"));
}

TEST(JwsKeyIds, PublicJwkAndJwks) {
  std::unique_ptr<SigningKey> ec = NewEs256Key();
  std::unique_ptr<SigningKey> rsa = NewRsaKey();
  ASSERT_NE(ec, nullptr);
  ASSERT_NE(rsa, nullptr);

  const nlohmann::json ec_jwk = ec->public_key()->PublicJwk(KeyIdStyle::kLibtrust);
  EXPECT_EQ(ec_jwk["kty"], "EC");
  EXPECT_EQ(ec_jwk["crv"], "P-256");
  EXPECT_EQ(ec_jwk["x"].get<std::string>().size(), 43u);
  EXPECT_EQ(ec_jwk["y"].get<std::string>().size(), 43u);
  EXPECT_EQ(ec_jwk["alg"], "ES256");
  EXPECT_EQ(ec_jwk["use"], "sig");
  EXPECT_EQ(ec_jwk["kid"], ec->public_key()->LibtrustKeyId());
  EXPECT_FALSE(ec_jwk.contains("d"));

  const nlohmann::json rsa_jwk = rsa->public_key()->PublicJwk(KeyIdStyle::kJwkThumbprint);
  EXPECT_EQ(rsa_jwk["kty"], "RSA");
  EXPECT_EQ(rsa_jwk["e"], "AQAB");
  EXPECT_EQ(B64(rsa_jwk["n"].get<std::string>()).size(), 256u);
  EXPECT_EQ(rsa_jwk["alg"], "RS256");
  EXPECT_EQ(rsa_jwk["kid"], rsa->public_key()->JwkThumbprint());
  for (const char* private_member : {"d", "p", "q", "dp", "dq", "qi"}) {
    EXPECT_FALSE(rsa_jwk.contains(private_member)) << private_member;
  }

  const nlohmann::json jwks =
      JwksDocument({ec->public_key(), rsa->public_key()}, KeyIdStyle::kJwkThumbprint);
  ASSERT_TRUE(jwks["keys"].is_array());
  ASSERT_EQ(jwks["keys"].size(), 2u);
  EXPECT_EQ(jwks["keys"][0]["kid"], ec->public_key()->JwkThumbprint());
  EXPECT_EQ(jwks["keys"][1]["kid"], rsa->public_key()->JwkThumbprint());
}

TEST(JwsKeyIds, KeySetFindsEitherStyle) {
  std::unique_ptr<SigningKey> a = NewEs256Key();
  std::unique_ptr<SigningKey> b = NewEs256Key();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  VerifyingKeySet set({a->public_key(), b->public_key()});
  EXPECT_EQ(set.Find(a->public_key()->JwkThumbprint()), a->public_key());
  EXPECT_EQ(set.Find(a->public_key()->LibtrustKeyId()), a->public_key());
  EXPECT_EQ(set.Find(b->public_key()->LibtrustKeyId()), b->public_key());
  EXPECT_EQ(set.Find(""), nullptr);
  EXPECT_EQ(set.Find("OD6I:6DRK:JXEJ:KBM4:255X:NSAA:MUSF:E4VM:ZI6W:CUN2:L4Z6:LSF4"), nullptr);
}

// --- Algorithm confusion and malformed signatures
// ---------------------------------------------------

TEST(JwsVerify, RefusesOtherAlgorithms) {
  std::unique_ptr<SigningKey> ec = NewEs256Key();
  std::unique_ptr<SigningKey> rsa = NewRsaKey();
  ASSERT_NE(ec, nullptr);
  ASSERT_NE(rsa, nullptr);
  auto ec_sig = ec->Sign("input");
  auto rsa_sig = rsa->Sign("input");
  ASSERT_TRUE(ec_sig.ok() && rsa_sig.ok());

  for (const char* alg : {"none", "None", "", "HS256", "HS384", "HS512", "es256", "ES384", "ES512",
                          "PS256", "RS384", "EdDSA", "ES256 ", "RS256\n"}) {
    for (auto* key : {ec.get(), rsa.get()}) {
      const std::string& sig = key == ec.get() ? *ec_sig : *rsa_sig;
      absl::Status st = key->public_key()->Verify(alg, "input", sig);
      EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << alg;
      EXPECT_EQ(st.message(), "unsupported JWS algorithm") << alg;
    }
  }
  // The other supported algorithm is a mismatch, whatever the signature.
  absl::Status st = ec->public_key()->Verify("RS256", "input", *ec_sig);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "JWS algorithm does not match the key");
  st = rsa->public_key()->Verify("ES256", "input", *rsa_sig);
  EXPECT_EQ(st.message(), "JWS algorithm does not match the key");
  // Right algorithm, right length, another key: a plain verification failure.
  std::unique_ptr<SigningKey> other = NewEs256Key();
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->public_key()->Verify("ES256", "input", *ec_sig).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(JwsVerify, Es256NeedsExactlyRawRAndS) {
  std::unique_ptr<SigningKey> key = NewEs256Key();
  ASSERT_NE(key, nullptr);
  auto sig = key->Sign("input");
  ASSERT_TRUE(sig.ok());
  const VerifyingKey& pub = *key->public_key();
  for (std::size_t size : {0u, 1u, 32u, 63u, 65u, 70u, 71u, 72u, 128u}) {
    std::string wrong = (*sig + *sig + *sig).substr(0, size);
    absl::Status st = pub.Verify("ES256", "input", wrong);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_EQ(st.message(), "invalid signature length") << size;
  }
  // The DER form OpenSSL produces natively is refused even though it is a valid signature.
  std::string der;
  {
    ECDSA_SIG* s = ECDSA_SIG_new();
    const auto* raw = reinterpret_cast<const unsigned char*>(sig->data());
    ECDSA_SIG_set0(s, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
    unsigned char* out = nullptr;
    const int n = i2d_ECDSA_SIG(s, &out);
    ASSERT_GT(n, 0);
    der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
    OPENSSL_free(out);
    ECDSA_SIG_free(s);
  }
  EXPECT_NE(der.size(), 64u);
  EXPECT_EQ(pub.Verify("ES256", "input", der).message(), "invalid signature length");
  // r or s out of range (0, or >= the group order) fails cleanly.
  EXPECT_EQ(pub.Verify("ES256", "input", std::string(64, '\0')).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(pub.Verify("ES256", "input", std::string(64, '\xff')).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(pub.Verify("ES256", "input", std::string(32, '\0') + sig->substr(32)).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(pub.Verify("ES256", "input", *sig).ok());
}

TEST(JwsVerify, Rs256NeedsModulusSizedSignature) {
  std::unique_ptr<SigningKey> key = NewRsaKey();
  ASSERT_NE(key, nullptr);
  auto sig = key->Sign("input");
  ASSERT_TRUE(sig.ok());
  ASSERT_EQ(sig->size(), 256u);
  const VerifyingKey& pub = *key->public_key();
  EXPECT_TRUE(pub.Verify("RS256", "input", *sig).ok());
  EXPECT_EQ(pub.Verify("RS256", "input", sig->substr(1)).message(), "invalid signature length");
  EXPECT_EQ(pub.Verify("RS256", "input", *sig + "x").message(), "invalid signature length");
  EXPECT_EQ(pub.Verify("RS256", "input", "").message(), "invalid signature length");
  EXPECT_EQ(pub.Verify("RS256", "input", std::string(256, '\xff')).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(pub.Verify("RS256", "inpuT", *sig).code(), absl::StatusCode::kUnauthenticated);
}

// --- Loading
// --------------------------------------------------------------------------------------

TEST(JwsLoad, AcceptsPkcs8AndTraditionalPem) {
  for (auto gen :
       {+[] { return GenerateEs256KeyPem(); }, +[] { return GenerateRsaKeyPem(2048); }}) {
    auto pkcs8 = gen();
    ASSERT_TRUE(pkcs8.ok());
    EXPECT_NE(pkcs8->view().find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    std::unique_ptr<SigningKey> a = LoadSigningKey(*pkcs8);
    ASSERT_NE(a, nullptr);

    auto traditional = ReencodePrivateKeyPem(*pkcs8, "traditional");
    ASSERT_TRUE(traditional.ok()) << traditional.status();
    const bool ec = a->algorithm() == JwsAlgorithm::kEs256;
    EXPECT_NE(traditional->find(ec ? "BEGIN EC PRIVATE KEY" : "BEGIN RSA PRIVATE KEY"),
              std::string::npos);
    std::unique_ptr<SigningKey> b = LoadSigningKey(SecretString(*traditional));
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(a->public_key()->SamePublicKey(*b->public_key()));
  }
}

TEST(JwsLoad, SkipsOtherPemBlocks) {
  // `openssl ecparam -genkey` writes "EC PARAMETERS" before the key; a key file may also carry
  // the certificate first.
  std::unique_ptr<SigningKey> key = NewEs256Key();
  ASSERT_NE(key, nullptr);
  auto cert = key->SelfSignedCertificatePem(
      {"registry-auth", absl::FromUnixSeconds(1700000000), absl::FromUnixSeconds(1800000000)});
  ASSERT_TRUE(cert.ok()) << cert.status();
  auto pkcs8 = GenerateEs256KeyPem();
  ASSERT_TRUE(pkcs8.ok());
  auto traditional = ReencodePrivateKeyPem(*pkcs8, "traditional");
  ASSERT_TRUE(traditional.ok());
  const std::string params =
      "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";
  EXPECT_NE(LoadSigningKey(SecretString(params + *traditional)), nullptr);
  EXPECT_NE(LoadSigningKey(SecretString(*cert + std::string(pkcs8->view()))), nullptr);

  // A public key after a certificate.
  auto pub = VerifyingKey::FromPublicKeyPem(*cert + key->public_key()->PublicKeyPem());
  ASSERT_TRUE(pub.ok()) << pub.status();
  EXPECT_TRUE((*pub)->SamePublicKey(*key->public_key()));
}

TEST(JwsLoad, RefusesOtherKeyTypesAndSizes) {
  struct Case {
    const char* kind;
    const char* message;
  };
  for (const Case& c : {Case{"P-384", "EC keys must use the P-256 curve (ES256)"},
                        Case{"ED25519", "unsupported key type (only EC P-256 and RSA)"},
                        Case{"RSA-PSS", "unsupported key type (only EC P-256 and RSA)"},
                        Case{"RSA1024", "RSA keys must have 2048 to 16384 bits"}}) {
    auto pem = GenerateOtherKeyPem(c.kind);
    ASSERT_TRUE(pem.ok()) << c.kind << ": " << pem.status();
    auto key = SigningKey::FromPrivateKeyPem(SecretString(*pem));
    ASSERT_FALSE(key.ok()) << c.kind;
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument) << c.kind;
    EXPECT_EQ(key.status().message(), c.message) << c.kind;
  }
}

TEST(JwsLoad, RefusesRsaPublicExponentOne) {
  VectorRecord v = Vector("rfc7638_s3_1_thumbprint");
  v["e"] = "AQ";  // 1
  auto pem = PublicKeyPemFromJwk(v);
  ASSERT_TRUE(pem.ok()) << pem.status();
  auto key = VerifyingKey::FromPublicKeyPem(*pem);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(), "RSA public exponent must be odd and greater than 1");
}

TEST(JwsLoad, RefusesEncryptedGarbageAndPublicKeys) {
  auto pkcs8 = GenerateEs256KeyPem();
  ASSERT_TRUE(pkcs8.ok());
  auto encrypted = ReencodePrivateKeyPem(*pkcs8, "encrypted");
  ASSERT_TRUE(encrypted.ok()) << encrypted.status();
  ASSERT_NE(encrypted->find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  std::unique_ptr<SigningKey> key = LoadSigningKey(*pkcs8);
  ASSERT_NE(key, nullptr);
  const std::string kMessage =
      "cannot parse private key PEM (PKCS#8 or traditional EC/RSA, unencrypted)";

  for (const std::string& bad :
       {*encrypted, std::string(), std::string("not a key"), key->public_key()->PublicKeyPem(),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        std::string(pkcs8->view().substr(0, pkcs8->size() / 2))}) {
    auto loaded = SigningKey::FromPrivateKeyPem(SecretString(bad));
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(loaded.status().message(), kMessage);
  }
  for (const std::string& bad :
       {std::string(), std::string("garbage"), std::string(pkcs8->view())}) {
    auto pub = VerifyingKey::FromPublicKeyPem(bad);
    EXPECT_EQ(pub.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(VerifyingKey::FromCertificatePem(bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(VerifyingKey::FromSpkiDer("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyingKey::FromSpkiDer(key->public_key()->spki_der() + "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JwsLoad, RefusesInconsistentPrivateKey) {
  // The RFC 7515 A.3 public point with a private scalar that does not belong to it.
  VectorRecord v = Vector("rfc7515_a3_es256");
  v["d"] = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA";
  auto pem = PrivateKeyPemFromJwk(v);
  ASSERT_TRUE(pem.ok()) << pem.status();
  auto key = SigningKey::FromPrivateKeyPem(*pem);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().message(), "private key fails its consistency check");
}

TEST(JwsLoad, ErrorsNeverQuoteThePem) {
  auto pkcs8 = GenerateEs256KeyPem();
  ASSERT_TRUE(pkcs8.ok());
  std::string broken(pkcs8->view());
  broken[40] = '!';
  auto key = SigningKey::FromPrivateKeyPem(SecretString(broken));
  ASSERT_FALSE(key.ok());
  const std::string message(key.status().message());
  EXPECT_EQ(message.find(broken.substr(30, 20)), std::string::npos);
  EXPECT_EQ(message.find("MI"), std::string::npos);
}

// --- Generation and certificates
// ------------------------------------------------------------------

TEST(JwsGenerate, KeysOfTheRightKind) {
  std::unique_ptr<SigningKey> ec = NewEs256Key();
  ASSERT_NE(ec, nullptr);
  EXPECT_EQ(ec->algorithm(), JwsAlgorithm::kEs256);
  std::unique_ptr<SigningKey> rsa = NewRsaKey(3072);
  ASSERT_NE(rsa, nullptr);
  EXPECT_EQ(rsa->algorithm(), JwsAlgorithm::kRs256);
  auto sig = rsa->Sign("x");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 384u);
  EXPECT_EQ(GenerateRsaKeyPem(1024).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateRsaKeyPem(16384).status().code(), absl::StatusCode::kInvalidArgument);
  // Two generated keys differ.
  std::unique_ptr<SigningKey> ec2 = NewEs256Key();
  ASSERT_NE(ec2, nullptr);
  EXPECT_FALSE(ec->public_key()->SamePublicKey(*ec2->public_key()));
}

TEST(JwsGenerate, SelfSignedCertificate) {
  for (auto& key : {NewEs256Key(), NewRsaKey()}) {
    ASSERT_NE(key, nullptr);
    const absl::Time from = absl::FromUnixSeconds(1700000000);
    const absl::Time to = absl::FromUnixSeconds(1700000000 + 365 * 86400);
    auto pem = key->SelfSignedCertificatePem({"registry-auth token signer", from, to});
    ASSERT_TRUE(pem.ok()) << pem.status();

    auto pub = VerifyingKey::FromCertificatePem(*pem);
    ASSERT_TRUE(pub.ok()) << pub.status();
    EXPECT_TRUE((*pub)->SamePublicKey(*key->public_key()));

    BIO* bio = BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
    EXPECT_EQ(X509_verify(cert, X509_get0_pubkey(cert)), 1);  // self-signed
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)), 0);
    char cn[128] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    EXPECT_STREQ(cn, "registry-auth token signer");
    EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(cert), absl::ToTimeT(from)), 0);
    EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(cert), absl::ToTimeT(to)), 0);
    EXPECT_EQ(X509_check_ca(cert), 0);
    EXPECT_NE(X509_get_extension_flags(cert) & EXFLAG_SI, 0u);  // self-issued
    EXPECT_NE(X509_get_key_usage(cert) & KU_DIGITAL_SIGNATURE, 0u);
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    EXPECT_EQ(ASN1_STRING_length(serial), 16);
    X509_free(cert);

    auto chain = CertificateDerChainFromPem(*pem + *pem);
    ASSERT_TRUE(chain.ok()) << chain.status();
    ASSERT_EQ(chain->size(), 2u);
    EXPECT_EQ((*chain)[0], (*chain)[1]);
  }
}

TEST(JwsGenerate, CertificateInputErrors) {
  std::unique_ptr<SigningKey> key = NewEs256Key();
  ASSERT_NE(key, nullptr);
  const absl::Time t = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(key->SelfSignedCertificatePem({"", t, t + absl::Hours(1)}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      key->SelfSignedCertificatePem({std::string(65, 'a'), t, t + absl::Hours(1)}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(key->SelfSignedCertificatePem({"cn", t, t}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CertificateDerChainFromPem("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      CertificateDerChainFromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

// --- Concurrency
// -----------------------------------------------------------------------------------

TEST(JwsConcurrency, SharedKeysSignAndVerifyFromManyThreads) {
  std::unique_ptr<SigningKey> ec = NewEs256Key();
  std::unique_ptr<SigningKey> rsa = NewRsaKey();
  ASSERT_NE(ec, nullptr);
  ASSERT_NE(rsa, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string input = "thread " + std::to_string(t) + " message " + std::to_string(i);
        for (SigningKey* key : {ec.get(), rsa.get()}) {
          auto sig = key->Sign(input);
          if (!sig.ok() ||
              !key->public_key()->Verify(JwsAlgorithmName(key->algorithm()), input, *sig).ok()) {
            ++failures;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace registryauth::crypto
