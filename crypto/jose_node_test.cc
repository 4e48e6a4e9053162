// Cross-check against an independent implementation: the npm `jose` package (run by Node,
// tests/node/jose_crosscheck.mjs) verifies tokens crypto/jwt signed, signs tokens that
// crypto/jwt verifies, and computes RFC 7638 thumbprints; Node's crypto module computes the
// libtrust key id from the JWK on its own.
//
// The package is installed by scripts/install-deps.sh (npm ci in tests/node/) and reaches the
// test as runfiles; nothing is downloaded here. When it or `node` is missing the tests skip,
// unless REGAUTH_REQUIRE_NODE_JOSE=1 (set by test.sh), which makes them fail. REGAUTH_NODE
// names the node binary (default: `node` on PATH).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"
#include "crypto/base64url.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"
#include "crypto/test_vectors.h"

namespace registryauth::crypto {
namespace {

using ::nlohmann::json;
using ::registryauth::crypto::testing::ReadVectorFile;
using ::registryauth::crypto::testing::TestDataPath;
using ::registryauth::crypto::testing::VectorRecord;

constexpr std::int64_t kNow = 1700000000;
constexpr char kIssuer[] = "registry-auth";
constexpr char kAudience[] = "registry.example.com";

bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json Claims(const std::string& subject) {
  return {
      {"iss", kIssuer},
      {"sub", subject},
      {"aud", kAudience},
      {"exp", kNow + 300},
      {"nbf", kNow - 10},
      {"iat", kNow - 10},
      {"jti", "cross-check-" + subject},
      {"access", {{{"type", "repository"}, {"name", "acme/api"}, {"actions", {"pull", "push"}}}}}};
}

struct Key {
  SecretString pem;
  std::shared_ptr<SigningKey> signing;
};

Key NewKey(bool rsa) {
  auto pem = rsa ? GenerateRsaKeyPem(2048) : GenerateEs256KeyPem();
  EXPECT_TRUE(pem.ok()) << pem.status();
  auto key = SigningKey::FromPrivateKeyPem(*pem);
  EXPECT_TRUE(key.ok()) << key.status();
  return {*pem, std::shared_ptr<SigningKey>(std::move(*key))};
}

// Everything node computed, from one run.
struct CrossCheck {
  bool ran = false;
  std::string problem;  // why node could not run
  Key ec;
  Key rsa;
  std::string ec_token;   // ours, kid = thumbprint
  std::string rsa_token;  // ours, kid = thumbprint
  std::string ec_token_libtrust;
  json jwks;
  json out;
};

const CrossCheck& CrossCheckResult() {
  static const CrossCheck* const result = [] {
    auto* r = new CrossCheck;
    const std::string dir = TestDataPath("tests/node");
    const std::string script = dir + "/jose_crosscheck.mjs";
    if (!FileExists(dir + "/node_modules/jose/package.json")) {
      r->problem = "the npm jose package is not installed in tests/node (scripts/install-deps.sh)";
      return r;
    }
    const char* node_env = std::getenv("REGAUTH_NODE");
    const std::string node = node_env != nullptr && *node_env != '\0' ? node_env : "node";

    r->ec = NewKey(false);
    r->rsa = NewKey(true);
    JwtHeaderOptions thumbprint_kid;
    thumbprint_kid.kid = KeyIdStyle::kJwkThumbprint;
    JwtHeaderOptions libtrust_kid;
    libtrust_kid.kid = KeyIdStyle::kLibtrust;
    auto ec_token = SignJwt(*r->ec.signing, Claims("ec"), thumbprint_kid);
    auto rsa_token = SignJwt(*r->rsa.signing, Claims("rsa"), thumbprint_kid);
    auto ec_token_libtrust = SignJwt(*r->ec.signing, Claims("ec-libtrust"), libtrust_kid);
    if (!ec_token.ok() || !rsa_token.ok() || !ec_token_libtrust.ok()) {
      r->problem = "signing failed";
      return r;
    }
    r->ec_token = *ec_token;
    r->rsa_token = *rsa_token;
    r->ec_token_libtrust = *ec_token_libtrust;
    const VerifyingKey& ec_pub = *r->ec.signing->public_key();
    const VerifyingKey& rsa_pub = *r->rsa.signing->public_key();
    r->jwks = JwksDocument({r->ec.signing->public_key(), r->rsa.signing->public_key()},
                           KeyIdStyle::kJwkThumbprint);
    // Our EC token with its payload replaced after signing: node must refuse it.
    const std::size_t dot1 = r->ec_token.find('.');
    const std::size_t dot2 = r->ec_token.find('.', dot1 + 1);
    const std::string tampered = r->ec_token.substr(0, dot1 + 1) +
                                 Base64UrlEncode(Claims("mallory").dump()) +
                                 r->ec_token.substr(dot2);

    auto verify_case = [&](const std::string& name, const std::string& token, const char* alg) {
      return json{{"name", name}, {"token", token},    {"alg", alg},
                  {"now", kNow},  {"issuer", kIssuer}, {"audience", kAudience}};
    };
    json input;
    json ec_jwk_case = verify_case("ec_jwk", r->ec_token, "ES256");
    ec_jwk_case["jwk"] = ec_pub.PublicJwk(KeyIdStyle::kJwkThumbprint);
    json ec_libtrust_case = verify_case("ec_libtrust_jwk", r->ec_token_libtrust, "ES256");
    ec_libtrust_case["jwk"] = ec_pub.PublicJwk(KeyIdStyle::kLibtrust);
    json rsa_pem_case = verify_case("rsa_spki_pem", r->rsa_token, "RS256");
    rsa_pem_case["spki_pem"] = rsa_pub.PublicKeyPem();
    json ec_pem_case = verify_case("ec_spki_pem", r->ec_token, "ES256");
    ec_pem_case["spki_pem"] = ec_pub.PublicKeyPem();
    json ec_jwks_case = verify_case("ec_jwks", r->ec_token, "ES256");
    ec_jwks_case["jwks"] = r->jwks;
    json rsa_jwks_case = verify_case("rsa_jwks", r->rsa_token, "RS256");
    rsa_jwks_case["jwks"] = r->jwks;
    json tampered_case = verify_case("tampered", tampered, "ES256");
    tampered_case["jwk"] = ec_pub.PublicJwk(KeyIdStyle::kJwkThumbprint);
    input["verify"] = {ec_jwk_case,  ec_libtrust_case, rsa_pem_case, ec_pem_case,
                       ec_jwks_case, rsa_jwks_case,    tampered_case};

    input["sign"] = {
        {{"name", "ec"},
         {"alg", "ES256"},
         {"pkcs8_pem", std::string(r->ec.pem.view())},
         {"kid", ec_pub.JwkThumbprint()},
         {"claims", Claims("node-ec")}},
        {{"name", "rsa"},
         {"alg", "RS256"},
         {"pkcs8_pem", std::string(r->rsa.pem.view())},
         {"kid", rsa_pub.LibtrustKeyId()},
         {"claims", Claims("node-rsa")}},
    };

    json rfc7638 = {{"kty", "RSA"}, {"e", "AQAB"}};
    json distribution = {{"kty", "EC"}, {"crv", "P-256"}};
    for (const VectorRecord& v : ReadVectorFile(TestDataPath("crypto/testdata/jose_vectors.txt"))) {
      if (v.at("name") == "rfc7638_s3_1_thumbprint") rfc7638["n"] = v.at("n");
      if (v.at("name") == "distribution_manifest_v2_1_libtrust_kid") {
        distribution["x"] = v.at("x");
        distribution["y"] = v.at("y");
      }
    }
    input["thumbprints"] = {
        {{"name", "ec"}, {"jwk", ec_pub.PublicJwk(KeyIdStyle::kLibtrust)}},
        {{"name", "rsa"}, {"jwk", rsa_pub.PublicJwk(KeyIdStyle::kLibtrust)}},
        {{"name", "rfc7638"}, {"jwk", rfc7638}},
    };
    input["libtrust"] = {
        {{"name", "ec"}, {"jwk", ec_pub.PublicJwk(KeyIdStyle::kJwkThumbprint)}},
        {{"name", "rsa"}, {"jwk", rsa_pub.PublicJwk(KeyIdStyle::kJwkThumbprint)}},
        {{"name", "distribution"}, {"jwk", distribution}},
    };

    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string base = std::string(tmp != nullptr ? tmp : "/tmp") + "/jose_crosscheck";
    const std::string input_path = base + ".input.json";
    const std::string stderr_path = base + ".stderr";
    {
      std::ofstream f(input_path, std::ios::trunc);
      f << input.dump();
    }
    const std::string command = ShellQuote(node) + " " + ShellQuote(script) + " " +
                                ShellQuote(dir) + " " + ShellQuote(input_path) + " 2>" +
                                ShellQuote(stderr_path);
    std::string stdout_text;
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe != nullptr) {
      char buf[4096];
      std::size_t n = 0;
      while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) stdout_text.append(buf, n);
    }
    const int status = pipe != nullptr ? pclose(pipe) : -1;
    std::remove(input_path.c_str());  // held the test keys
    const std::string stderr_text = ReadAll(stderr_path);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == 127) {
      r->problem = "cannot run " + node + ": " + stderr_text;
      return r;
    }
    if (WEXITSTATUS(status) != 0) {
      r->ran = true;  // node ran and failed: a real failure, never a skip
      r->problem = "node exited with " + std::to_string(WEXITSTATUS(status)) + ": " + stderr_text;
      return r;
    }
    r->out = json::parse(stdout_text, nullptr, /*allow_exceptions=*/false);
    r->ran = true;
    if (r->out.is_discarded()) r->problem = "node printed no JSON: " + stdout_text;
    return r;
  }();
  return *result;
}

class JoseNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const CrossCheck& r = CrossCheckResult();
    if (!r.ran) {
      const char* require = std::getenv("REGAUTH_REQUIRE_NODE_JOSE");
      if (require != nullptr && std::string(require) == "1") {
        FAIL() << "REGAUTH_REQUIRE_NODE_JOSE=1 but " << r.problem;
      }
      GTEST_SKIP() << r.problem;
    }
    ASSERT_TRUE(r.problem.empty()) << r.problem;
  }
};

TEST_F(JoseNodeTest, NodeVerifiesOurTokens) {
  const CrossCheck& r = CrossCheckResult();
  for (const char* name :
       {"ec_jwk", "ec_libtrust_jwk", "rsa_spki_pem", "ec_spki_pem", "ec_jwks", "rsa_jwks"}) {
    const json& v = r.out["verify"][name];
    ASSERT_TRUE(v.is_object()) << name;
    EXPECT_EQ(v["ok"], true) << name << ": " << v.dump();
  }
  const json& ec = r.out["verify"]["ec_jwk"];
  EXPECT_EQ(ec["payload"], Claims("ec"));
  EXPECT_EQ(ec["header"], json({{"alg", "ES256"},
                                {"typ", "JWT"},
                                {"kid", r.ec.signing->public_key()->JwkThumbprint()}}));
  EXPECT_EQ(r.out["verify"]["rsa_spki_pem"]["payload"], Claims("rsa"));
  EXPECT_EQ(r.out["verify"]["ec_libtrust_jwk"]["header"]["kid"],
            r.ec.signing->public_key()->LibtrustKeyId());
}

TEST_F(JoseNodeTest, NodeRefusesATamperedToken) {
  const json& v = CrossCheckResult().out["verify"]["tampered"];
  EXPECT_EQ(v["ok"], false) << v.dump();
}

TEST_F(JoseNodeTest, WeVerifyNodeTokens) {
  const CrossCheck& r = CrossCheckResult();
  VerifyingKeySet keys({r.ec.signing->public_key(), r.rsa.signing->public_key()});
  const VerifyingKeyLookup lookup = [&](std::string_view kid) { return keys.Find(kid); };
  ClaimRequirements want;
  want.issuer = kIssuer;
  want.audience = kAudience;
  FakeClock clock(absl::FromUnixSeconds(kNow));
  for (const char* name : {"ec", "rsa"}) {
    const json& token = r.out["sign"][name];
    ASSERT_TRUE(token.is_string()) << name;
    auto claims = VerifyJwt(token.get<std::string>(), lookup, want, clock);
    ASSERT_TRUE(claims.ok()) << name << ": " << claims.status();
    EXPECT_EQ(*claims, Claims(std::string("node-") + name));
    auto decoded = DecodeJwt(token.get<std::string>());
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->header["typ"], "JWT");
    EXPECT_EQ(decoded->signature.size(), std::string(name) == "ec" ? 64u : 256u);
  }
}

TEST_F(JoseNodeTest, ThumbprintsAgree) {
  const CrossCheck& r = CrossCheckResult();
  EXPECT_EQ(r.out["thumbprints"]["ec"], r.ec.signing->public_key()->JwkThumbprint());
  EXPECT_EQ(r.out["thumbprints"]["rsa"], r.rsa.signing->public_key()->JwkThumbprint());
  EXPECT_EQ(r.out["thumbprints"]["rfc7638"], "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_F(JoseNodeTest, LibtrustKeyIdsAgree) {
  const CrossCheck& r = CrossCheckResult();
  EXPECT_EQ(r.out["libtrust"]["ec"], r.ec.signing->public_key()->LibtrustKeyId());
  EXPECT_EQ(r.out["libtrust"]["rsa"], r.rsa.signing->public_key()->LibtrustKeyId());
  EXPECT_EQ(r.out["libtrust"]["distribution"],
            "OD6I:6DRK:JXEJ:KBM4:255X:NSAA:MUSF:E4VM:ZI6W:CUN2:L4Z6:LSF4");
}

}  // namespace
}  // namespace registryauth::crypto
