#include "crypto/jwt.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "crypto/base64url.h"
#include "crypto/jws.h"

namespace registryauth::crypto {
namespace {

using Json = nlohmann::json;

absl::Status Invalid(const char* message) { return absl::InvalidArgumentError(message); }
absl::Status Unauthenticated(const char* message) { return absl::UnauthenticatedError(message); }

// Parses `text` as one JSON object under DecodeJwt's rules: valid UTF-8 JSON (nlohmann's lexer
// rejects ill-formed UTF-8), an object at the top, no member name twice in any object, at most
// kMaxJsonDepth levels. The three messages are the errors for each kind of violation.
absl::StatusOr<Json> ParseJsonObject(std::string_view text, const char* not_object,
                                     const char* duplicate_error, const char* depth_error) {
  bool duplicate = false;
  bool too_deep = false;
  // One set of member names per open container (arrays keep an unused empty set).
  std::vector<std::set<std::string>> open;
  const Json::parser_callback_t callback = [&](int /*depth*/, Json::parse_event_t event,
                                               Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        open.emplace_back();
        if (open.size() > static_cast<std::size_t>(kMaxJsonDepth)) too_deep = true;
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open.empty() && parsed.is_string() &&
            !open.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate = true;
        }
        break;
      case Json::parse_event_t::value:
        break;
    }
    return true;  // keep everything; the flags decide afterwards
  };
  Json value;
  try {
    value = Json::parse(text.data(), text.data() + text.size(), callback,
                        /*allow_exceptions=*/false);
  } catch (const Json::exception&) {
    return Invalid(not_object);
  }
  if (value.is_discarded() || !value.is_object()) return Invalid(not_object);
  if (duplicate) return Invalid(duplicate_error);
  if (too_deep) return Invalid(depth_error);
  return value;
}

// A NumericDate claim (RFC 7519 §2) as Distribution reads it: a JSON integer that fits int64.
// nullopt when absent.
absl::StatusOr<std::optional<std::int64_t>> IntegerClaim(const Json& claims, const char* name,
                                                         const char* type_error) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<std::int64_t>();
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Invalid(type_error);
    }
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v));
  }
  if (it->is_number_integer()) return std::optional<std::int64_t>(it->get<std::int64_t>());
  return Invalid(type_error);
}

// What we refuse to sign because a registry would refuse the token.
absl::Status CheckClaimsToIssue(const Json& claims) {
  if (!claims.is_object()) return Invalid("JWT claims must be a JSON object");
  RETURN_IF_ERROR(IntegerClaim(claims, "exp", "JWT claim exp must be an integer").status());
  RETURN_IF_ERROR(IntegerClaim(claims, "nbf", "JWT claim nbf must be an integer").status());
  RETURN_IF_ERROR(IntegerClaim(claims, "iat", "JWT claim iat must be an integer").status());
  const auto aud = claims.find("aud");
  if (aud != claims.end() && !aud->is_string()) {
    return Invalid("JWT claim aud must be a single string");
  }
  return absl::OkStatus();
}

// Room for '.' and an ES256 signature (64 bytes, 86 in base64url); RS256 grows the string.
constexpr std::size_t kSignatureReserve = 1 + 86;

// The base64url of the header SignJwt writes for `key` and `options`.
std::string EncodedHeader(const SigningKey& key, const JwtHeaderOptions& options) {
  Json header = {{"alg", std::string(JwsAlgorithmName(key.algorithm()))}, {"typ", "JWT"}};
  if (options.kid.has_value()) header["kid"] = key.public_key()->KeyId(*options.kid);
  if (!options.x5c_der.empty()) {
    Json chain = Json::array();
    for (const std::string& der : options.x5c_der) chain.push_back(absl::Base64Escape(der));
    header["x5c"] = std::move(chain);
  }
  // Every header value is ASCII (names, ids, base64), so dump() cannot throw here.
  return Base64UrlEncode(header.dump());
}

absl::StatusOr<std::string> SignCompact(const SigningKey& key, std::string_view encoded_header,
                                        std::string_view payload_json) {
  std::string signing_input;
  signing_input.reserve(encoded_header.size() + 1 + (payload_json.size() + 2) / 3 * 4 +
                        kSignatureReserve);
  signing_input.append(encoded_header);
  signing_input.push_back('.');
  signing_input += Base64UrlEncode(payload_json);
  if (signing_input.size() >= kMaxTokenSize) return Invalid("token would exceed 16 KiB");
  ASSIGN_OR_RETURN(std::string signature, key.Sign(signing_input));
  std::string token = std::move(signing_input);
  token.push_back('.');
  token += Base64UrlEncode(signature);
  if (token.size() > kMaxTokenSize) return Invalid("token would exceed 16 KiB");
  return token;
}

// The claims as the payload text, once they pass CheckClaimsToIssue.
absl::StatusOr<std::string> ClaimsPayload(const Json& claims) {
  RETURN_IF_ERROR(CheckClaimsToIssue(claims));
  try {
    return claims.dump(-1, ' ', false, Json::error_handler_t::strict);
  } catch (const Json::exception&) {
    return Invalid("JWT claims are not valid UTF-8");
  }
}

}  // namespace

absl::StatusOr<std::string> SignJwt(const SigningKey& key, const nlohmann::json& claims,
                                    const JwtHeaderOptions& options) {
  ASSIGN_OR_RETURN(std::string payload, ClaimsPayload(claims));
  return SignCompact(key, EncodedHeader(key, options), payload);
}

absl::StatusOr<std::string> SignJwtText(const SigningKey& key, std::string_view claims_json,
                                        const JwtHeaderOptions& options) {
  ASSIGN_OR_RETURN(Json claims, ParseJsonObject(claims_json, "JWT claims must be a JSON object",
                                                "JWT claims repeat a member name",
                                                "JWT claims nest too deeply"));
  RETURN_IF_ERROR(CheckClaimsToIssue(claims));
  return SignCompact(key, EncodedHeader(key, options), claims_json);
}

absl::StatusOr<std::string> SignJwtClaims(const SigningKey& key, const JwtClaims& claims,
                                          const JwtHeaderOptions& options) {
  return SignCompact(key, EncodedHeader(key, options), claims.json());
}

PreparedJwtSigner::PreparedJwtSigner(std::shared_ptr<const SigningKey> key,
                                     const JwtHeaderOptions& options)
    : key_(std::move(key)), encoded_header_(EncodedHeader(*key_, options)) {}

absl::StatusOr<std::string> PreparedJwtSigner::Sign(const nlohmann::json& claims) const {
  ASSIGN_OR_RETURN(std::string payload, ClaimsPayload(claims));
  return SignCompact(*key_, encoded_header_, payload);
}

absl::StatusOr<std::string> PreparedJwtSigner::SignClaims(const JwtClaims& claims) const {
  return SignCompact(*key_, encoded_header_, claims.json());
}

absl::StatusOr<DecodedJwt> DecodeJwt(std::string_view token) {
  if (token.size() > kMaxTokenSize) return Invalid("token too large");
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Invalid("token must have exactly three parts");
  }
  const std::string_view header64 = token.substr(0, dot1);
  const std::string_view payload64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature64 = token.substr(dot2 + 1);
  if (header64.empty() || payload64.empty() || signature64.empty()) {
    return Invalid("token has an empty part");
  }
  auto header_text = Base64UrlDecode(header64);
  auto payload_text = Base64UrlDecode(payload64);
  auto signature = Base64UrlDecode(signature64);
  if (!header_text.ok() || !payload_text.ok() || !signature.ok()) {
    return Invalid("token part is not valid base64url");
  }

  DecodedJwt out;
  ASSIGN_OR_RETURN(out.header, ParseJsonObject(*header_text, "token header is not a JSON object",
                                               "token header repeats a member name",
                                               "token header nests too deeply"));
  ASSIGN_OR_RETURN(out.claims, ParseJsonObject(*payload_text, "token payload is not a JSON object",
                                               "token payload repeats a member name",
                                               "token payload nests too deeply"));
  const auto alg = out.header.find("alg");
  if (alg == out.header.end() || !alg->is_string()) return Invalid("token header has no alg");
  out.alg = alg->get<std::string>();
  const auto kid = out.header.find("kid");
  if (kid != out.header.end()) {
    if (!kid->is_string()) return Invalid("token header kid must be a string");
    out.kid = kid->get<std::string>();
  }
  if (out.header.contains("crit")) {
    return Invalid("token header has crit (no extension is supported)");
  }
  out.signing_input = std::string(token.substr(0, dot2));
  out.signature = *std::move(signature);
  return out;
}

absl::StatusOr<DecodedJwt> VerifyJwtSignature(std::string_view token,
                                              const VerifyingKeyLookup& lookup) {
  ASSIGN_OR_RETURN(DecodedJwt decoded, DecodeJwt(token));
  // Refuse unknown algorithms before any key is looked up, whatever the kid says.
  if (decoded.alg != "ES256" && decoded.alg != "RS256") {
    return Invalid("unsupported JWS algorithm");
  }
  std::shared_ptr<const VerifyingKey> key = lookup ? lookup(decoded.kid) : nullptr;
  if (key == nullptr) return Unauthenticated("token signed by an unknown key");
  RETURN_IF_ERROR(key->Verify(decoded.alg, decoded.signing_input, decoded.signature));
  return decoded;
}

absl::Status ValidateClaims(const nlohmann::json& claims, const ClaimRequirements& requirements,
                            absl::Time now) {
  if (!claims.is_object()) return Invalid("JWT claims must be a JSON object");
  ASSIGN_OR_RETURN(auto exp, IntegerClaim(claims, "exp", "JWT claim exp must be an integer"));
  ASSIGN_OR_RETURN(auto nbf, IntegerClaim(claims, "nbf", "JWT claim nbf must be an integer"));
  ASSIGN_OR_RETURN(auto iat, IntegerClaim(claims, "iat", "JWT claim iat must be an integer"));
  (void)iat;  // type only: Distribution does not compare iat with its clock either

  if (!exp.has_value()) {
    if (requirements.require_exp) return Invalid("JWT has no exp claim");
  } else if (now >= absl::FromUnixSeconds(*exp) + requirements.leeway) {
    return Unauthenticated("token expired");
  }
  if (nbf.has_value() && now + requirements.leeway < absl::FromUnixSeconds(*nbf)) {
    return Unauthenticated("token not yet valid");
  }
  if (!requirements.issuer.empty()) {
    const auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() ||
        iss->get_ref<const std::string&>() != requirements.issuer) {
      return Unauthenticated("token issuer mismatch");
    }
  }
  if (!requirements.audience.empty()) {
    const auto aud = claims.find("aud");
    if (aud == claims.end()) return Unauthenticated("token audience mismatch");
    if (!aud->is_string()) return Invalid("JWT claim aud must be a single string");
    if (aud->get_ref<const std::string&>() != requirements.audience) {
      return Unauthenticated("token audience mismatch");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> VerifyJwt(std::string_view token, const VerifyingKeyLookup& lookup,
                                         const ClaimRequirements& requirements,
                                         const Clock& clock) {
  ASSIGN_OR_RETURN(DecodedJwt decoded, VerifyJwtSignature(token, lookup));
  RETURN_IF_ERROR(ValidateClaims(decoded.claims, requirements, clock.Now()));
  return std::move(decoded.claims);
}

}  // namespace registryauth::crypto
