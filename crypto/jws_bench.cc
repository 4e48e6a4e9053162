// Signing cost of the token realm's JWS layer next to raw OpenSSL, in one run (issue 4's
// "/token at half of OpenSSL's ES256 rate"). Results: docs/benchmarks.md.
//
//   bazel run -c opt //crypto:jws_bench
//
// BM_OpenSslEs256Reference is what `openssl speed ecdsap256` measures: ECDSA over a ready
// 32-byte digest with a context set up once. BM_SigningKeySign is SigningKey::Sign on a JWS
// signing input of a realistic size (hash + sign + DER to r||s).
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "crypto/jws.h"

namespace registryauth::crypto {
namespace {

std::unique_ptr<SigningKey> Es256Key() {
  absl::StatusOr<SecretString> pem = GenerateEs256KeyPem();
  if (!pem.ok()) std::abort();
  absl::StatusOr<std::unique_ptr<SigningKey>> key = SigningKey::FromPrivateKeyPem(*pem);
  if (!key.ok()) std::abort();
  return *std::move(key);
}

// A header and claims of the size the realm signs (about 400 bytes of base64url).
const std::string& SigningInput() {
  static const std::string* input = new std::string(
      "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IkFCQ0Q6RUZHSDpJSktMOk1OT1A6UVJTVDpVVldYOllaMj"
      "M6NDU2NzpBQkNEOkVGR0g6SUpLTDpNTk9QIn0.eyJpc3MiOiJyZWdpc3RyeS1hdXRoIiwic3ViIjoiYnVpbGQtYm90Ii"
      "wiYXVkIjoicmVnaXN0cnkuZXhhbXBsZS5jb20iLCJleHAiOjE3OTk5OTk5OTksIm5iZiI6MTc5OTk5OTY5OSwiaWF0Ij"
      "oxNzk5OTk5Njk5LCJqdGkiOiJhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NSIsImFjY2VzcyI6W3sidHlwZ"
      "SI6InJlcG9zaXRvcnkiLCJuYW1lIjoiYWNtZS93ZWIiLCJhY3Rpb25zIjpbInB1bGwiLCJwdXNoIl19XX0");
  return *input;
}

void BM_SigningKeySign(benchmark::State& state) {
  std::unique_ptr<SigningKey> key = Es256Key();
  for (auto _ : state) {
    absl::StatusOr<std::string> sig = key->Sign(SigningInput());
    if (!sig.ok() || sig->size() != 64) state.SkipWithError("sign failed");
    benchmark::DoNotOptimize(sig);
  }
}
BENCHMARK(BM_SigningKeySign)->ThreadRange(1, 2)->UseRealTime();

void BM_OpenSslEs256Reference(benchmark::State& state) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  if (ctx == nullptr || EVP_PKEY_sign_init(ctx) != 1) std::abort();
  unsigned char digest[32] = {1, 2, 3};
  unsigned char sig[80];
  for (auto _ : state) {
    size_t sig_len = sizeof(sig);
    if (EVP_PKEY_sign(ctx, sig, &sig_len, digest, sizeof(digest)) != 1) {
      state.SkipWithError("sign failed");
    }
    benchmark::DoNotOptimize(sig);
  }
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(pkey);
}
BENCHMARK(BM_OpenSslEs256Reference)->ThreadRange(1, 2)->UseRealTime();

}  // namespace
}  // namespace registryauth::crypto
