#include "crypto/jwk_test_util.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/secret.h"
#include "crypto/base64url.h"
#include "crypto/jws.h"

namespace registryauth::crypto::testing {
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
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, ParamFree>;

absl::Status Error(const std::string& what) {
  ERR_clear_error();
  return absl::InternalError("jwk_test_util: " + what);
}

absl::StatusOr<std::string> Member(const std::map<std::string, std::string>& jwk,
                                   const std::string& name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return Error("missing member " + name);
  auto bytes = Base64UrlDecode(it->second);
  if (!bytes.ok()) return Error("member " + name + " is not base64url");
  return *bytes;
}

absl::StatusOr<PkeyPtr> KeyFromJwk(const std::map<std::string, std::string>& jwk,
                                   bool with_private) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr) return Error("OSSL_PARAM_BLD_new");
  std::vector<BnPtr> bns;  // must outlive OSSL_PARAM_BLD_to_param
  auto push_bn = [&](const char* param, const std::string& member) -> absl::Status {
    auto bytes = Member(jwk, member);
    if (!bytes.ok()) return bytes.status();
    BnPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                       static_cast<int>(bytes->size()), nullptr));
    if (bn == nullptr || OSSL_PARAM_BLD_push_BN(bld.get(), param, bn.get()) != 1) {
      return Error("push " + member);
    }
    bns.push_back(std::move(bn));
    return absl::OkStatus();
  };
  const std::string kty = jwk.count("kty") ? jwk.at("kty") : "";
  std::string point;  // must outlive OSSL_PARAM_BLD_to_param
  const char* type = nullptr;
  if (kty == "EC") {
    type = "EC";
    auto x = Member(jwk, "x");
    auto y = Member(jwk, "y");
    if (!x.ok()) return x.status();
    if (!y.ok()) return y.status();
    point = std::string(1, '\x04') + *x + *y;
    if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
            1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) != 1) {
      return Error("push EC params");
    }
    if (with_private) {
      absl::Status st = push_bn(OSSL_PKEY_PARAM_PRIV_KEY, "d");
      if (!st.ok()) return st;
    }
  } else if (kty == "RSA") {
    type = "RSA";
    absl::Status st = push_bn(OSSL_PKEY_PARAM_RSA_N, "n");
    if (st.ok()) st = push_bn(OSSL_PKEY_PARAM_RSA_E, "e");
    if (st.ok() && with_private) {
      st = push_bn(OSSL_PKEY_PARAM_RSA_D, "d");
      if (st.ok()) st = push_bn(OSSL_PKEY_PARAM_RSA_FACTOR1, "p");
      if (st.ok()) st = push_bn(OSSL_PKEY_PARAM_RSA_FACTOR2, "q");
      if (st.ok()) st = push_bn(OSSL_PKEY_PARAM_RSA_EXPONENT1, "dp");
      if (st.ok()) st = push_bn(OSSL_PKEY_PARAM_RSA_EXPONENT2, "dq");
      if (st.ok()) st = push_bn(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, "qi");
    }
    if (!st.ok()) return st;
  } else {
    return Error("unsupported kty");
  }
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, with_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    return Error("EVP_PKEY_fromdata");
  }
  return PkeyPtr(raw);
}

std::string Drain(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

absl::StatusOr<PkeyPtr> ReadPrivate(const SecretString& pem) {
  BioPtr in(BIO_new_mem_buf(pem.view().data(), static_cast<int>(pem.size())));
  PkeyPtr pkey(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr) return Error("PEM_read_bio_PrivateKey");
  return pkey;
}

}  // namespace

absl::StatusOr<SecretString> PrivateKeyPemFromJwk(const std::map<std::string, std::string>& jwk) {
  auto pkey = KeyFromJwk(jwk, /*with_private=*/true);
  if (!pkey.ok()) return pkey.status();
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (PEM_write_bio_PrivateKey(bio.get(), pkey->get(), nullptr, nullptr, 0, nullptr, nullptr) !=
      1) {
    return Error("PEM_write_bio_PrivateKey");
  }
  return SecretString(Drain(bio.get()));
}

absl::StatusOr<std::string> PublicKeyPemFromJwk(const std::map<std::string, std::string>& jwk) {
  auto pkey = KeyFromJwk(jwk, /*with_private=*/false);
  if (!pkey.ok()) return pkey.status();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), pkey->get()) != 1) return Error("PEM_write_bio_PUBKEY");
  return Drain(bio.get());
}

absl::StatusOr<std::string> ReencodePrivateKeyPem(const SecretString& pem,
                                                  const std::string& form) {
  auto pkey = ReadPrivate(pem);
  if (!pkey.ok()) return pkey.status();
  BioPtr bio(BIO_new(BIO_s_mem()));
  int ok = 0;
  if (form == "traditional") {
    ok = PEM_write_bio_PrivateKey_traditional(bio.get(), pkey->get(), nullptr, nullptr, 0, nullptr,
                                              nullptr);
  } else if (form == "encrypted") {
    static char kPass[] = "secret";
    ok = PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey->get(), EVP_aes_256_cbc(), kPass,
                                       sizeof(kPass) - 1, nullptr, nullptr);
  } else {
    return Error("unknown form " + form);
  }
  if (ok != 1) return Error("PEM write " + form);
  return Drain(bio.get());
}

absl::StatusOr<std::string> GenerateOtherKeyPem(const std::string& kind) {
  PkeyPtr pkey;
  if (kind == "P-384") {
    pkey.reset(EVP_EC_gen("P-384"));
  } else if (kind == "ED25519") {
    pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  } else if (kind == "RSA-PSS") {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA-PSS", nullptr));
    EVP_PKEY* raw = nullptr;
    if (ctx != nullptr && EVP_PKEY_keygen_init(ctx.get()) == 1 &&
        EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) == 1 &&
        EVP_PKEY_generate(ctx.get(), &raw) == 1) {
      pkey.reset(raw);
    }
  } else if (kind == "RSA1024") {
    pkey.reset(EVP_RSA_gen(1024));
  } else {
    return Error("unknown kind " + kind);
  }
  if (pkey == nullptr) return Error("keygen " + kind);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Error("PEM_write_bio_PrivateKey");
  }
  return Drain(bio.get());
}

const SecretString& SharedRsaKeyPem() {
  static const SecretString* const kPem = [] {
    absl::StatusOr<SecretString> pem = GenerateRsaKeyPem(2048);
    if (!pem.ok()) std::abort();
    return new SecretString(*std::move(pem));
  }();
  return *kPem;
}

}  // namespace registryauth::crypto::testing
