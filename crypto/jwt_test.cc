#include "crypto/jwt.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/base64url.h"
#include "crypto/jwk_test_util.h"
#include "crypto/jws.h"
#include "crypto/test_vectors.h"

namespace registryauth::crypto {
namespace {

using ::nlohmann::json;
using ::registryauth::crypto::testing::PublicKeyPemFromJwk;
using ::registryauth::crypto::testing::ReadVectorFile;
using ::registryauth::crypto::testing::TestDataPath;
using ::registryauth::crypto::testing::VectorRecord;

constexpr std::int64_t kNow = 1700000000;

VectorRecord Vector(const std::string& name) {
  for (VectorRecord& r : ReadVectorFile(TestDataPath("crypto/testdata/jose_vectors.txt"))) {
    if (r["name"] == name) return r;
  }
  ADD_FAILURE() << "no vector " << name;
  return {};
}

std::shared_ptr<SigningKey> NewKey(bool rsa) {
  auto pem = rsa ? GenerateRsaKeyPem(2048) : GenerateEs256KeyPem();
  EXPECT_TRUE(pem.ok());
  auto key = SigningKey::FromPrivateKeyPem(*pem);
  EXPECT_TRUE(key.ok()) << key.status();
  return key.ok() ? std::shared_ptr<SigningKey>(std::move(*key)) : nullptr;
}

// A token with arbitrary header and payload text, signed (validly) by `key`.
std::string SignRaw(const SigningKey& key, std::string_view header, std::string_view payload) {
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
  auto sig = key.Sign(input);
  EXPECT_TRUE(sig.ok());
  return input + "." + Base64UrlEncode(sig.ok() ? *sig : "");
}

json Claims(std::int64_t exp = kNow + 300) {
  return {
      {"iss", "registry-auth"},
      {"sub", "svc:acme/builder"},
      {"aud", "registry.example.com"},
      {"exp", exp},
      {"nbf", kNow - 10},
      {"iat", kNow - 10},
      {"jti", "0123456789abcdef"},
      {"access", {{{"type", "repository"}, {"name", "acme/api"}, {"actions", {"pull", "push"}}}}}};
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ec_ = NewKey(false);
    rsa_ = NewKey(true);
    ASSERT_NE(ec_, nullptr);
    ASSERT_NE(rsa_, nullptr);
    keys_ = std::make_unique<VerifyingKeySet>(
        std::vector<std::shared_ptr<const VerifyingKey>>{ec_->public_key(), rsa_->public_key()});
    want_.audience = "registry.example.com";
    want_.issuer = "registry-auth";
  }

  VerifyingKeyLookup Lookup() const {
    return [this](std::string_view kid) { return keys_->Find(kid); };
  }

  JwtHeaderOptions Kid(KeyIdStyle style) const {
    JwtHeaderOptions o;
    o.kid = style;
    return o;
  }

  absl::StatusOr<json> Verify(std::string_view token) const {
    return VerifyJwt(token, Lookup(), want_, clock_);
  }

  std::shared_ptr<SigningKey> ec_;
  std::shared_ptr<SigningKey> rsa_;
  std::unique_ptr<VerifyingKeySet> keys_;
  ClaimRequirements want_;
  FakeClock clock_{absl::FromUnixSeconds(kNow)};
};

// --- Known answers -----------------------------------------------------------------------------

TEST(JwtKnownAnswer, RfcCompactTokensVerify) {
  for (const char* name : {"rfc7515_a2_rs256", "rfc7515_a3_es256"}) {
    const VectorRecord v = Vector(name);
    auto pem = PublicKeyPemFromJwk(v);
    ASSERT_TRUE(pem.ok()) << pem.status();
    auto key = VerifyingKey::FromPublicKeyPem(*pem);
    ASSERT_TRUE(key.ok());
    std::shared_ptr<const VerifyingKey> shared(std::move(*key));
    // The RFC headers carry no kid.
    const VerifyingKeyLookup lookup = [&](std::string_view kid) {
      return kid.empty() ? shared : nullptr;
    };
    const std::string token = v.at("signing_input") + "." + v.at("signature");

    auto decoded = DecodeJwt(token);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->header,
              json({{"alg", shared->algorithm() == JwsAlgorithm::kEs256 ? "ES256" : "RS256"}}));
    EXPECT_EQ(decoded->claims["iss"], "joe");
    EXPECT_EQ(decoded->claims["exp"], 1300819380);
    EXPECT_EQ(decoded->claims["http://example.com/is_root"], true);
    EXPECT_EQ(decoded->signing_input, v.at("signing_input"));

    FakeClock clock(absl::FromUnixSeconds(1300819380 - 100));
    ClaimRequirements want;
    want.issuer = "joe";
    auto claims = VerifyJwt(token, lookup, want, clock);
    ASSERT_TRUE(claims.ok()) << name << ": " << claims.status();
    EXPECT_EQ((*claims)["iss"], "joe");

    // The default 60 s leeway, then expiry.
    clock.Set(absl::FromUnixSeconds(1300819380 + 59));
    EXPECT_TRUE(VerifyJwt(token, lookup, want, clock).ok());
    clock.Set(absl::FromUnixSeconds(1300819380 + 60));
    auto expired = VerifyJwt(token, lookup, want, clock);
    EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(expired.status().message(), "token expired");
  }
}

// --- Signing
// -----------------------------------------------------------------------------------------

TEST_F(JwtTest, SignAndVerifyBothAlgorithmsAndKidStyles) {
  for (const auto& key : {ec_, rsa_}) {
    for (KeyIdStyle style : {KeyIdStyle::kJwkThumbprint, KeyIdStyle::kLibtrust}) {
      auto token = SignJwt(*key, Claims(), Kid(style));
      ASSERT_TRUE(token.ok()) << token.status();
      auto decoded = DecodeJwt(*token);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      const std::string alg(JwsAlgorithmName(key->algorithm()));
      EXPECT_EQ(decoded->header,
                json({{"alg", alg}, {"typ", "JWT"}, {"kid", key->public_key()->KeyId(style)}}));
      EXPECT_EQ(decoded->claims, Claims());
      EXPECT_EQ(decoded->signature.size(), key == ec_ ? 64u : 256u);

      auto claims = Verify(*token);
      ASSERT_TRUE(claims.ok()) << claims.status();
      EXPECT_EQ(*claims, Claims());
    }
  }
}

TEST_F(JwtTest, HeaderIsCompactAndSorted) {
  auto token = SignJwt(*ec_, Claims(), Kid(KeyIdStyle::kLibtrust));
  ASSERT_TRUE(token.ok());
  auto header = Base64UrlDecode(token->substr(0, token->find('.')));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, "{\"alg\":\"ES256\",\"kid\":\"" + ec_->public_key()->LibtrustKeyId() +
                         "\",\"typ\":\"JWT\"}");
  // No kid by default.
  auto plain = SignJwt(*ec_, Claims(), JwtHeaderOptions());
  ASSERT_TRUE(plain.ok());
  auto plain_header = Base64UrlDecode(plain->substr(0, plain->find('.')));
  ASSERT_TRUE(plain_header.ok());
  EXPECT_EQ(*plain_header, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}");
}

TEST_F(JwtTest, X5cCarriesStandardBase64Der) {
  auto cert = ec_->SelfSignedCertificatePem(
      {"registry-auth", absl::FromUnixSeconds(kNow - 3600), absl::FromUnixSeconds(kNow + 86400)});
  ASSERT_TRUE(cert.ok());
  auto chain = CertificateDerChainFromPem(*cert);
  ASSERT_TRUE(chain.ok());
  JwtHeaderOptions options;
  options.x5c_der = *chain;
  options.kid = KeyIdStyle::kLibtrust;
  auto token = SignJwt(*ec_, Claims(), options);
  ASSERT_TRUE(token.ok()) << token.status();
  auto decoded = DecodeJwt(*token);
  ASSERT_TRUE(decoded.ok());
  const json& x5c = decoded->header["x5c"];
  ASSERT_TRUE(x5c.is_array());
  ASSERT_EQ(x5c.size(), 1u);
  std::string der;
  ASSERT_TRUE(absl::Base64Unescape(x5c[0].get<std::string>(), &der));
  EXPECT_EQ(der, (*chain)[0]);
  EXPECT_EQ(absl::Base64Escape(der), x5c[0].get<std::string>());  // standard, padded
  EXPECT_TRUE(Verify(*token).ok());
}

// A PreparedJwtSigner writes exactly SignJwt's header, once encoded, and every token it signs
// (the signing contexts are reused between signatures) verifies.
TEST_F(JwtTest, PreparedSignerMatchesSignJwt) {
  auto cert = ec_->SelfSignedCertificatePem(
      {"registry-auth", absl::FromUnixSeconds(kNow - 3600), absl::FromUnixSeconds(kNow + 86400)});
  ASSERT_TRUE(cert.ok());
  auto chain = CertificateDerChainFromPem(*cert);
  ASSERT_TRUE(chain.ok());
  JwtHeaderOptions x5c = Kid(KeyIdStyle::kLibtrust);
  x5c.x5c_der = *chain;
  for (const auto& key : {ec_, rsa_}) {
    for (const JwtHeaderOptions& options : {Kid(KeyIdStyle::kJwkThumbprint), x5c}) {
      if (key == rsa_ && !options.x5c_der.empty()) continue;  // the certificate is ec_'s
      PreparedJwtSigner signer(key, options);
      auto reference = SignJwt(*key, Claims(), options);
      ASSERT_TRUE(reference.ok()) << reference.status();
      for (int i = 0; i < 20; ++i) {
        auto token = signer.Sign(Claims());
        ASSERT_TRUE(token.ok()) << token.status();
        // Same header and payload; ES256 signatures are randomized, RS256 ones are not.
        const std::size_t signed_part = reference->rfind('.');
        EXPECT_EQ(token->substr(0, signed_part), reference->substr(0, signed_part));
        if (key == rsa_) EXPECT_EQ(*token, *reference);
        auto claims = Verify(*token);
        ASSERT_TRUE(claims.ok()) << claims.status();
        EXPECT_EQ(*claims, Claims());
      }
      // The same claim checks as SignJwt.
      json bad = Claims();
      bad["exp"] = "1700000000";
      auto refused = signer.Sign(bad);
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(refused.status().message(), "JWT claim exp must be an integer");
    }
  }
}

// Claims a JwtClaimsWriter wrote sign to the same header and verify to the same claims as
// SignJwt's, through SignJwtClaims and the prepared signer alike.
TEST_F(JwtTest, WrittenClaimsSignAndVerifyLikeTheJsonTree) {
  JwtClaimsWriter w;
  const json tree = Claims();
  for (const auto& [name, value] : tree.items()) {
    if (value.is_number_integer()) {
      w.Integer(name, value.get<std::int64_t>());
    } else if (value.is_string()) {
      w.String(name, value.get<std::string>());
    } else {  // access: [{type, name, actions}]
      w.BeginArray(name);
      for (const json& entry : value) {
        w.BeginObject()
            .String("type", entry["type"].get<std::string>())
            .String("name", entry["name"].get<std::string>())
            .StringArray("actions", entry["actions"].get<std::vector<std::string>>())
            .EndObject();
      }
      w.EndArray();
    }
  }
  absl::StatusOr<JwtClaims> written = std::move(w).Finish();
  ASSERT_TRUE(written.ok()) << written.status();
  const JwtHeaderOptions options = Kid(KeyIdStyle::kLibtrust);
  PreparedJwtSigner prepared(ec_, options);
  auto reference = SignJwt(*ec_, Claims(), options);
  ASSERT_TRUE(reference.ok()) << reference.status();
  for (absl::StatusOr<std::string> token :
       {SignJwtClaims(*ec_, *written, options), prepared.SignClaims(*written)}) {
    ASSERT_TRUE(token.ok()) << token.status();
    EXPECT_EQ(token->substr(0, token->find('.')), reference->substr(0, reference->find('.')));
    auto claims = Verify(*token);
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_EQ(*claims, Claims());
  }
}

TEST_F(JwtTest, SignRefusesClaimsARegistryWouldReject) {
  struct Case {
    json claims;
    const char* message;
  };
  json float_exp = Claims();
  float_exp["exp"] = 1700000300.0;
  json string_exp = Claims();
  string_exp["exp"] = "1700000300";
  json float_nbf = Claims();
  float_nbf["nbf"] = 1.5;
  json float_iat = Claims();
  float_iat["iat"] = 1e9;
  json array_aud = Claims();
  array_aud["aud"] = {"registry.example.com"};
  json number_aud = Claims();
  number_aud["aud"] = 1;
  json huge_exp = Claims();
  huge_exp["exp"] = 18446744073709551615ull;
  for (const Case& c : {Case{float_exp, "JWT claim exp must be an integer"},
                        Case{string_exp, "JWT claim exp must be an integer"},
                        Case{float_nbf, "JWT claim nbf must be an integer"},
                        Case{float_iat, "JWT claim iat must be an integer"},
                        Case{huge_exp, "JWT claim exp must be an integer"},
                        Case{array_aud, "JWT claim aud must be a single string"},
                        Case{number_aud, "JWT claim aud must be a single string"},
                        Case{json::array(), "JWT claims must be a JSON object"},
                        Case{json("text"), "JWT claims must be a JSON object"}}) {
    auto token = SignJwt(*ec_, c.claims, JwtHeaderOptions());
    ASSERT_FALSE(token.ok()) << c.claims.dump();
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(token.status().message(), c.message) << c.claims.dump();
  }
  json bad_utf8 = Claims();
  bad_utf8["sub"] = std::string("\xff\xfe");
  EXPECT_EQ(SignJwt(*ec_, bad_utf8, JwtHeaderOptions()).status().message(),
            "JWT claims are not valid UTF-8");

  json big = Claims();
  big["pad"] = std::string(13000, 'a');  // base64url grows it past 16 KiB
  EXPECT_EQ(SignJwt(*ec_, big, JwtHeaderOptions()).status().message(), "token would exceed 16 KiB");
}

TEST_F(JwtTest, SignTextClaimsKeepsTheBytes) {
  const std::string text =
      R"({"aud":"registry.example.com", "exp":1700000300, "iss":"registry-auth"})";
  auto token = SignJwtText(*ec_, text, Kid(KeyIdStyle::kJwkThumbprint));
  ASSERT_TRUE(token.ok()) << token.status();
  const std::size_t dot1 = token->find('.');
  const std::size_t dot2 = token->find('.', dot1 + 1);
  auto payload = Base64UrlDecode(token->substr(dot1 + 1, dot2 - dot1 - 1));
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(*payload, text);
  EXPECT_TRUE(Verify(*token).ok());

  EXPECT_EQ(SignJwtText(*ec_, R"({"exp":1,"exp":2})", JwtHeaderOptions()).status().message(),
            "JWT claims repeat a member name");
  EXPECT_EQ(SignJwtText(*ec_, R"({"exp":1.5})", JwtHeaderOptions()).status().message(),
            "JWT claim exp must be an integer");
  EXPECT_EQ(SignJwtText(*ec_, "[1]", JwtHeaderOptions()).status().message(),
            "JWT claims must be a JSON object");
  EXPECT_EQ(SignJwtText(*ec_, "{", JwtHeaderOptions()).status().message(),
            "JWT claims must be a JSON object");
}

// --- Decoding untrusted tokens
// -------------------------------------------------------------------------

TEST_F(JwtTest, DecodeRefusesMalformedTokens) {
  auto good = SignJwt(*ec_, Claims(), Kid(KeyIdStyle::kLibtrust));
  ASSERT_TRUE(good.ok());
  const std::size_t dot1 = good->find('.');
  const std::size_t dot2 = good->find('.', dot1 + 1);
  const std::string h = good->substr(0, dot1);
  const std::string p = good->substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string s = good->substr(dot2 + 1);
  const std::string b64obj = Base64UrlEncode("{\"alg\":\"ES256\"}");

  struct Case {
    std::string token;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"", "token must have exactly three parts"},
      {"abc", "token must have exactly three parts"},
      {h + "." + p, "token must have exactly three parts"},
      {*good + ".", "token must have exactly three parts"},
      {*good + "." + s, "token must have exactly three parts"},
      {"." + p + "." + s, "token has an empty part"},
      {h + ".." + s, "token has an empty part"},
      {h + "." + p + ".", "token has an empty part"},
      {"..", "token has an empty part"},
      {h + "=." + p + "." + s, "token part is not valid base64url"},
      {h + "." + p + "." + s + "=", "token part is not valid base64url"},
      {h + "." + p + "." + s.substr(0, s.size() - 1) + "+", "token part is not valid base64url"},
      {h + " ." + p + "." + s, "token part is not valid base64url"},
      {h + "." + p + "." + s.substr(1), "token part is not valid base64url"},  // 85 chars: 4k+1
      {std::string(kMaxTokenSize + 1, 'a'), "token too large"},
      {Base64UrlEncode("[\"alg\"]") + "." + p + "." + s, "token header is not a JSON object"},
      {Base64UrlEncode("\"ES256\"") + "." + p + "." + s, "token header is not a JSON object"},
      {Base64UrlEncode("{\"alg\":\"ES256\"") + "." + p + "." + s,
       "token header is not a JSON object"},
      {Base64UrlEncode("{\"alg\":\"ES256\"} x") + "." + p + "." + s,
       "token header is not a JSON object"},
      {Base64UrlEncode("{\"alg\":\"ES256\",}") + "." + p + "." + s,
       "token header is not a JSON object"},
      {Base64UrlEncode("{\"alg\":\"ES256\",\"x\":\"\xff\"}") + "." + p + "." + s,
       "token header is not a JSON object"},  // invalid UTF-8
      {Base64UrlEncode("{\"alg\":\"ES256\"/*c*/}") + "." + p + "." + s,
       "token header is not a JSON object"},  // no comments
      {b64obj + "." + Base64UrlEncode("[]") + "." + s, "token payload is not a JSON object"},
      {b64obj + "." + Base64UrlEncode("null") + "." + s, "token payload is not a JSON object"},
      {b64obj + "." + Base64UrlEncode("{\"exp\":1e999}") + "." + s,
       "token payload is not a JSON object"},
      {Base64UrlEncode("{\"alg\":\"none\",\"alg\":\"ES256\"}") + "." + p + "." + s,
       "token header repeats a member name"},
      {b64obj + "." + Base64UrlEncode("{\"exp\":1,\"a\":{\"b\":1,\"b\":2}}") + "." + s,
       "token payload repeats a member name"},
      {b64obj + "." + Base64UrlEncode("{\"aud\":\"a\",\"aud\":\"a\"}") + "." + s,
       "token payload repeats a member name"},
      {b64obj + "." +
           Base64UrlEncode("{\"a\":" + std::string(20, '[') + std::string(20, ']') + "}") + "." + s,
       "token payload nests too deeply"},
      {Base64UrlEncode("{\"typ\":\"JWT\"}") + "." + p + "." + s, "token header has no alg"},
      {Base64UrlEncode("{\"alg\":null}") + "." + p + "." + s, "token header has no alg"},
      {Base64UrlEncode("{\"alg\":[\"ES256\"]}") + "." + p + "." + s, "token header has no alg"},
      {Base64UrlEncode("{\"alg\":\"ES256\",\"kid\":7}") + "." + p + "." + s,
       "token header kid must be a string"},
      {Base64UrlEncode("{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}") + "." + p + "." + s,
       "token header has crit (no extension is supported)"},
  };
  for (const Case& c : cases) {
    auto decoded = DecodeJwt(c.token);
    ASSERT_FALSE(decoded.ok()) << c.token.substr(0, 200);
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument)
        << c.token.substr(0, 200);
    EXPECT_EQ(decoded.status().message(), c.message) << c.token.substr(0, 200);
    // Fixed texts only: nothing of the token is echoed.
    EXPECT_EQ(std::string(decoded.status().message()).find(h.substr(0, 8)), std::string::npos);
    // Verification fails the same way.
    EXPECT_FALSE(Verify(c.token).ok());
  }
  // Depth 16 (including the top-level object) is still accepted.
  auto deep = DecodeJwt(
      b64obj + "." +
      Base64UrlEncode("{\"a\":" + std::string(15, '[') + std::string(15, ']') + "}") + "." + s);
  EXPECT_TRUE(deep.ok()) << deep.status();
}

TEST_F(JwtTest, DecodeAcceptsTheMaximumSize) {
  // A token of exactly kMaxTokenSize bytes decodes (the limit is inclusive).
  json claims = Claims();
  claims["pad"] = "";
  auto probe = SignJwt(*ec_, claims, JwtHeaderOptions());
  ASSERT_TRUE(probe.ok());
  // Each 3 bytes of padding add 4 characters: start just above the limit and step down.
  std::size_t n = (kMaxTokenSize - probe->size()) * 3 / 4 + 3;
  absl::StatusOr<std::string> token;
  for (;; --n) {
    claims["pad"] = std::string(n, 'a');
    token = SignJwt(*ec_, claims, JwtHeaderOptions());
    if (token.ok()) break;
    ASSERT_EQ(token.status().message(), "token would exceed 16 KiB");
  }
  EXPECT_LE(token->size(), kMaxTokenSize);
  EXPECT_GT(token->size(), kMaxTokenSize - 4);
  EXPECT_TRUE(DecodeJwt(*token).ok());
}

// --- Verification: algorithm confusion, keys, signatures ---------------------------------------

TEST_F(JwtTest, RefusesAlgNoneAndHmacAndSwappedAlgorithms) {
  const std::string kid = ec_->public_key()->LibtrustKeyId();
  const std::string payload = Claims().dump();

  // alg none, with and without a signature part.
  const std::string none_header = R"({"alg":"none","kid":")" + kid + R"("})";
  const std::string none_input = Base64UrlEncode(none_header) + "." + Base64UrlEncode(payload);
  EXPECT_EQ(Verify(none_input + ".").status().message(), "token has an empty part");
  EXPECT_EQ(Verify(none_input + "." + Base64UrlEncode("x")).status().message(),
            "unsupported JWS algorithm");

  // HS256 keyed with the public key (the classic confusion attack).
  const std::string hs_header = R"({"alg":"HS256","kid":")" + kid + R"("})";
  const std::string hs_input = Base64UrlEncode(hs_header) + "." + Base64UrlEncode(payload);
  const std::string secret = ec_->public_key()->PublicKeyPem();
  unsigned char mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(hs_input.data()), hs_input.size(), mac, &mac_len);
  const std::string hs_token =
      hs_input + "." + Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), mac_len));
  auto hs = Verify(hs_token);
  EXPECT_EQ(hs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(hs.status().message(), "unsupported JWS algorithm");

  // An ES256 key's token relabelled RS256 (and the reverse), validly signed otherwise.
  const std::string rs_on_ec = SignRaw(*ec_, R"({"alg":"RS256","kid":")" + kid + R"("})", payload);
  EXPECT_EQ(Verify(rs_on_ec).status().message(), "JWS algorithm does not match the key");
  const std::string es_on_rsa = SignRaw(
      *rsa_, R"({"alg":"ES256","kid":")" + rsa_->public_key()->JwkThumbprint() + R"("})", payload);
  EXPECT_EQ(Verify(es_on_rsa).status().message(), "JWS algorithm does not match the key");

  // Lower-case and otherwise unknown names.
  for (const char* alg : {"es256", "ES384", "PS256", "EdDSA"}) {
    const std::string t =
        SignRaw(*ec_, std::string(R"({"alg":")") + alg + R"(","kid":")" + kid + R"("})", payload);
    EXPECT_EQ(Verify(t).status().message(), "unsupported JWS algorithm") << alg;
  }
}

TEST_F(JwtTest, KeyComesOnlyFromTheLookup) {
  // Unknown kid, missing kid.
  auto other = NewKey(false);
  ASSERT_NE(other, nullptr);
  auto foreign = SignJwt(*other, Claims(), Kid(KeyIdStyle::kLibtrust));
  ASSERT_TRUE(foreign.ok());
  auto st = Verify(*foreign);
  EXPECT_EQ(st.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(st.status().message(), "token signed by an unknown key");
  auto no_kid = SignJwt(*ec_, Claims(), JwtHeaderOptions());
  ASSERT_TRUE(no_kid.ok());
  EXPECT_EQ(Verify(*no_kid).status().message(), "token signed by an unknown key");
  EXPECT_EQ(VerifyJwtSignature(*no_kid, nullptr).status().message(),
            "token signed by an unknown key");

  // A token signed by an attacker's key that names our kid and embeds its own jwk: the embedded
  // key is ignored, so the signature fails under our key.
  json header = {{"alg", "ES256"},
                 {"kid", ec_->public_key()->LibtrustKeyId()},
                 {"jwk", other->public_key()->PublicJwk(KeyIdStyle::kLibtrust)}};
  const std::string forged = SignRaw(*other, header.dump(), Claims().dump());
  auto forged_result = Verify(forged);
  EXPECT_EQ(forged_result.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(forged_result.status().message(), "invalid signature");
}

TEST_F(JwtTest, TamperedAndTruncatedSignatures) {
  for (const auto& key : {ec_, rsa_}) {
    auto token = SignJwt(*key, Claims(), Kid(KeyIdStyle::kJwkThumbprint));
    ASSERT_TRUE(token.ok());
    ASSERT_TRUE(Verify(*token).ok());
    // Another payload under the same header and signature.
    const std::size_t dot1 = token->find('.');
    const std::size_t dot2 = token->find('.', dot1 + 1);
    json more = Claims();
    more["access"][0]["actions"].push_back("delete");
    const std::string swapped =
        token->substr(0, dot1 + 1) + Base64UrlEncode(more.dump()) + token->substr(dot2);
    EXPECT_EQ(Verify(swapped).status().message(), "invalid signature");
    // A signature shortened by one byte is the wrong length.
    auto signature = Base64UrlDecode(token->substr(dot2 + 1));
    ASSERT_TRUE(signature.ok());
    const std::string truncated =
        token->substr(0, dot2 + 1) + Base64UrlEncode(signature->substr(1));
    EXPECT_EQ(Verify(truncated).status().message(), "invalid signature length");
    // Cut inside the token: too few parts, or bad base64url.
    for (std::size_t cut = 0; cut < token->size(); cut += 7) {
      EXPECT_FALSE(Verify(token->substr(0, cut)).ok()) << cut;
    }
  }
}

// --- Claims
// -----------------------------------------------------------------------------------------------

TEST_F(JwtTest, ClaimTypesAreCheckedOnVerifiedTokens) {
  const std::string kid = ec_->public_key()->LibtrustKeyId();
  const std::string header = R"({"alg":"ES256","kid":")" + kid + R"("})";
  struct Case {
    std::string payload;
    absl::StatusCode code;
    const char* message;
  };
  const std::string aud = R"("aud":"registry.example.com","iss":"registry-auth")";
  const std::vector<Case> cases = {
      {"{" + aud + R"(,"exp":1700000300.0})", absl::StatusCode::kInvalidArgument,
       "JWT claim exp must be an integer"},
      {"{" + aud + R"(,"exp":1.7000003e9})", absl::StatusCode::kInvalidArgument,
       "JWT claim exp must be an integer"},
      {"{" + aud + R"(,"exp":"1700000300"})", absl::StatusCode::kInvalidArgument,
       "JWT claim exp must be an integer"},
      {"{" + aud + R"(,"exp":1700000300,"nbf":1.0})", absl::StatusCode::kInvalidArgument,
       "JWT claim nbf must be an integer"},
      {"{" + aud + R"(,"exp":1700000300,"iat":true})", absl::StatusCode::kInvalidArgument,
       "JWT claim iat must be an integer"},
      {"{" + aud + R"(,"exp":99999999999999999999})", absl::StatusCode::kInvalidArgument,
       "JWT claim exp must be an integer"},  // beyond uint64: parsed as a float
      {"{" + aud + "}", absl::StatusCode::kInvalidArgument, "JWT has no exp claim"},
      {R"({"aud":["registry.example.com"],"iss":"registry-auth","exp":1700000300})",
       absl::StatusCode::kInvalidArgument, "JWT claim aud must be a single string"},
      {R"({"aud":"other","iss":"registry-auth","exp":1700000300})",
       absl::StatusCode::kUnauthenticated, "token audience mismatch"},
      {R"({"iss":"registry-auth","exp":1700000300})", absl::StatusCode::kUnauthenticated,
       "token audience mismatch"},
      {R"({"aud":"registry.example.com","iss":"someone","exp":1700000300})",
       absl::StatusCode::kUnauthenticated, "token issuer mismatch"},
      {R"({"aud":"registry.example.com","exp":1700000300})", absl::StatusCode::kUnauthenticated,
       "token issuer mismatch"},
      {"{" + aud + R"(,"exp":1699999940})", absl::StatusCode::kUnauthenticated, "token expired"},
      {"{" + aud + R"(,"exp":-5})", absl::StatusCode::kUnauthenticated, "token expired"},
      {"{" + aud + R"(,"exp":1700000300,"nbf":1700000061})", absl::StatusCode::kUnauthenticated,
       "token not yet valid"},
  };
  for (const Case& c : cases) {
    auto claims = Verify(SignRaw(*ec_, header, c.payload));
    ASSERT_FALSE(claims.ok()) << c.payload;
    EXPECT_EQ(claims.status().code(), c.code) << c.payload;
    EXPECT_EQ(claims.status().message(), c.message) << c.payload;
  }
  // Within the leeway both ways; large valid integers.
  for (const std::string& ok_payload :
       {"{" + aud + R"(,"exp":1699999941})", "{" + aud + R"(,"exp":1700000300,"nbf":1700000060})",
        "{" + aud + R"(,"exp":9223372036854775807,"iat":0})"}) {
    auto claims = Verify(SignRaw(*ec_, header, ok_payload));
    EXPECT_TRUE(claims.ok()) << ok_payload << ": " << claims.status();
  }
}

TEST(JwtClaims, RequirementsAndLeeway) {
  const absl::Time now = absl::FromUnixSeconds(kNow);
  ClaimRequirements none;
  none.require_exp = false;
  EXPECT_TRUE(ValidateClaims(json::object(), none, now).ok());
  EXPECT_TRUE(ValidateClaims(json({{"aud", {"a", "b"}}}), none, now).ok());  // not asked
  EXPECT_EQ(ValidateClaims(json::array(), none, now).message(), "JWT claims must be a JSON object");

  ClaimRequirements strict;
  strict.leeway = absl::ZeroDuration();
  EXPECT_EQ(ValidateClaims(json({{"exp", kNow}}), strict, now).message(), "token expired");
  EXPECT_TRUE(ValidateClaims(json({{"exp", kNow + 1}}), strict, now).ok());
  EXPECT_EQ(ValidateClaims(json({{"exp", kNow + 10}, {"nbf", kNow + 1}}), strict, now).message(),
            "token not yet valid");
  EXPECT_TRUE(ValidateClaims(json({{"exp", kNow + 10}, {"nbf", kNow}}), strict, now).ok());
}

TEST_F(JwtTest, ClockDrivesExpiry) {
  auto token = SignJwt(*ec_, Claims(kNow + 300), Kid(KeyIdStyle::kLibtrust));
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(Verify(*token).ok());
  clock_.Advance(absl::Seconds(359));
  EXPECT_TRUE(Verify(*token).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(Verify(*token).status().message(), "token expired");
}

}  // namespace
}  // namespace registryauth::crypto
