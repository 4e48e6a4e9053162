// Fuzz target for JWT decoding and verification (crypto/jwt.h): the Docker token realm reads
// tokens from registry clients, so DecodeJwt, VerifyJwtSignature and ValidateClaims see hostile
// input.
//
// Each input is tried twice: as a token, and as "header\npayload\nsignature" in clear, which
// the target base64url-encodes into a token itself (so mutations reach the JSON checks instead
// of dying in base64url). The trusted keys are the published example keys of RFC 7515 A.3
// (P-256; also found for a token without kid) and A.2 (RSA), so seeds signed with them verify.
//
// Besides "never crash", it checks invariants that a bug would break:
//   - a decoded token is at most kMaxTokenSize bytes of three canonical base64url parts; its
//     header and claims are JSON objects, "alg" is the header's string alg, there is no "crit",
//     and signing_input is the token up to the second '.';
//   - a verified token decodes, names ES256 or RS256, and was signed by a key of the set under
//     that same algorithm;
//   - every failure is INVALID_ARGUMENT or UNAUTHENTICATED with one of the fixed messages (so
//     no token text is ever echoed), and a token that does not decode fails verification with
//     the same message;
//   - ValidateClaims on any decoded claims returns OK or one of its fixed errors.
//
// Built with libFuzzer (see README.md) or with fuzz_driver.cc as an ordinary replay test.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "crypto/base64url.h"
#include "crypto/jws.h"
#include "crypto/jwt.h"

namespace {

using ::registryauth::crypto::Base64UrlDecode;
using ::registryauth::crypto::Base64UrlEncode;
using ::registryauth::crypto::ClaimRequirements;
using ::registryauth::crypto::DecodeJwt;
using ::registryauth::crypto::JwsAlgorithmName;
using ::registryauth::crypto::kMaxTokenSize;
using ::registryauth::crypto::ValidateClaims;
using ::registryauth::crypto::VerifyingKey;
using ::registryauth::crypto::VerifyingKeyLookup;
using ::registryauth::crypto::VerifyingKeySet;
using ::registryauth::crypto::VerifyJwtSignature;

// RFC 7515 A.3 and A.2 public keys (SPKI PEM of their JWKs).
constexpr char kRfcEcPublicPem[] = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV7
6e8Tus9uPHvRVEXH8UTNG72bfocs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==
-----END PUBLIC KEY-----
)";
constexpr char kRfcRsaPublicPem[] = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAofgWCuLjybRlzo0tZWJj
NiuSfb4p4fAkd/wWJcyQoTbji9k0l8W26mPddxHmfHQp+Vaw+4qPCJrcS2mJPMEz
P1Pt0Bm4d4QlL+yRT+SFd2lZS+pCgNMsD1W/YpRPEwOWvG6b32690r2jZ47soMZo
9wGzjb/7OMg0LOL+bSf63kpaSHSXndS5z5rexMdbBYUsLA9e+KXBdQOS+UTo7WTB
EMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6/I5IhlJH7aGhyxX
FvUK+DWNmoudF8NAco9/h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXp
oQIDAQAB
-----END PUBLIC KEY-----
)";
// RFC 7515 A.3.1: must verify under kRfcEcPublicPem (a self-check of the set-up).
constexpr char kRfcEs256Token[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

constexpr std::int64_t kNow = 1700000000;

[[noreturn]] void Fail() { std::abort(); }

void Check(bool condition) {
  if (!condition) Fail();
}

struct Trusted {
  std::shared_ptr<const VerifyingKey> ec;
  std::shared_ptr<const VerifyingKey> rsa;
  std::unique_ptr<VerifyingKeySet> set;
  VerifyingKeyLookup lookup;
};

const Trusted& Keys() {
  static const Trusted* const trusted = [] {
    auto* t = new Trusted;
    auto ec = VerifyingKey::FromPublicKeyPem(kRfcEcPublicPem);
    auto rsa = VerifyingKey::FromPublicKeyPem(kRfcRsaPublicPem);
    Check(ec.ok() && rsa.ok());
    t->ec = std::move(*ec);
    t->rsa = std::move(*rsa);
    t->set = std::make_unique<VerifyingKeySet>(
        std::vector<std::shared_ptr<const VerifyingKey>>{t->ec, t->rsa});
    t->lookup = [t](std::string_view kid) { return kid.empty() ? t->ec : t->set->Find(kid); };
    Check(VerifyJwtSignature(kRfcEs256Token, t->lookup).ok());
    return t;
  }();
  return *trusted;
}

bool OneOf(absl::string_view message, std::initializer_list<const char*> known) {
  for (const char* k : known) {
    if (message == k) return true;
  }
  return false;
}

bool IsDecodeError(absl::string_view m) {
  return OneOf(m, {"token too large", "token must have exactly three parts",
                   "token has an empty part", "token part is not valid base64url",
                   "token header is not a JSON object", "token payload is not a JSON object",
                   "token header repeats a member name", "token payload repeats a member name",
                   "token header nests too deeply", "token payload nests too deeply",
                   "token header has no alg", "token header kid must be a string",
                   "token header has crit (no extension is supported)"});
}

bool IsVerifyError(absl::string_view m) {
  return OneOf(
      m, {"unsupported JWS algorithm", "token signed by an unknown key",
          "JWS algorithm does not match the key", "invalid signature length", "invalid signature"});
}

bool IsClaimsError(absl::string_view m) {
  return OneOf(
      m, {"JWT claims must be a JSON object", "JWT claim exp must be an integer",
          "JWT claim nbf must be an integer", "JWT claim iat must be an integer",
          "JWT has no exp claim", "token expired", "token not yet valid", "token issuer mismatch",
          "token audience mismatch", "JWT claim aud must be a single string"});
}

void CheckToken(std::string_view token) {
  const Trusted& keys = Keys();
  auto decoded = DecodeJwt(token);
  if (decoded.ok()) {
    Check(token.size() <= kMaxTokenSize);
    const std::size_t dot1 = token.find('.');
    const std::size_t dot2 = token.find('.', dot1 + 1);
    Check(dot1 != std::string_view::npos && dot2 != std::string_view::npos);
    Check(token.find('.', dot2 + 1) == std::string_view::npos);
    Check(decoded->signing_input == token.substr(0, dot2));
    Check(Base64UrlEncode(decoded->signature) == token.substr(dot2 + 1));  // canonical
    for (std::string_view part : {token.substr(0, dot1), token.substr(dot1 + 1, dot2 - dot1 - 1)}) {
      auto bytes = Base64UrlDecode(part);
      Check(bytes.ok() && Base64UrlEncode(*bytes) == part);
    }
    Check(decoded->header.is_object() && decoded->claims.is_object());
    Check(decoded->header["alg"].is_string() &&
          decoded->header["alg"].get<std::string>() == decoded->alg);
    Check(!decoded->header.contains("crit"));
    if (decoded->header.contains("kid")) {
      Check(decoded->header["kid"].get<std::string>() == decoded->kid);
    } else {
      Check(decoded->kid.empty());
    }

    ClaimRequirements want;
    want.issuer = "registry-auth";
    want.audience = "registry.example.com";
    absl::Status claims = ValidateClaims(decoded->claims, want, absl::FromUnixSeconds(kNow));
    Check(claims.ok() || (claims.code() == absl::StatusCode::kInvalidArgument ||
                          claims.code() == absl::StatusCode::kUnauthenticated));
    Check(claims.ok() || IsClaimsError(claims.message()));
  } else {
    Check(decoded.status().code() == absl::StatusCode::kInvalidArgument);
    Check(IsDecodeError(decoded.status().message()));
  }

  auto verified = VerifyJwtSignature(token, keys.lookup);
  if (verified.ok()) {
    Check(decoded.ok());
    Check(verified->alg == "ES256" || verified->alg == "RS256");
    const std::shared_ptr<const VerifyingKey> key = keys.lookup(verified->kid);
    Check(key != nullptr && JwsAlgorithmName(key->algorithm()) == verified->alg);
    Check(key->Verify(verified->alg, verified->signing_input, verified->signature).ok());
    return;
  }
  const absl::Status& st = verified.status();
  Check(st.code() == absl::StatusCode::kInvalidArgument ||
        st.code() == absl::StatusCode::kUnauthenticated);
  if (!decoded.ok()) {
    Check(st == decoded.status());
  } else {
    Check(IsVerifyError(st.message()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckToken(input);

  // "header\npayload\nsignature" in clear.
  const std::size_t nl1 = input.find('\n');
  const std::size_t nl2 = nl1 == std::string_view::npos ? nl1 : input.find('\n', nl1 + 1);
  if (nl2 != std::string_view::npos) {
    const std::string token = Base64UrlEncode(input.substr(0, nl1)) + "." +
                              Base64UrlEncode(input.substr(nl1 + 1, nl2 - nl1 - 1)) + "." +
                              Base64UrlEncode(input.substr(nl2 + 1));
    CheckToken(token);
  }
  return 0;
}
