// JWT claims written straight to JSON text, for the token realm's hot path: no JSON tree is
// built and nothing is parsed back. The setters are typed, so what the verifiers rely on holds
// by construction (exp, nbf and iat integers; aud one string; member names of an object
// distinct), and every string is checked to be UTF-8 and escaped. Finish() hands back JwtClaims,
// the only form JwtSigner::Sign(const JwtClaims&) takes, so signed text always came from here.
//
//   JwtClaimsWriter w;
//   w.String("iss", issuer).Integer("exp", exp).BeginArray("access");
//   w.BeginObject().String("type", "repository").StringArray("actions", actions).EndObject();
//   w.EndArray();
//   ASSIGN_OR_RETURN(JwtClaims claims, std::move(w).Finish());
//   ASSIGN_OR_RETURN(std::string token, signer.Sign(claims));
//
// Misuse (a value outside an object, unbalanced Begin/End, a repeated name, a registered claim
// of the wrong type, invalid UTF-8) is not undefined: Finish() answers INVALID_ARGUMENT.
#ifndef REGISTRY_AUTH_CRYPTO_JWT_CLAIMS_H_
#define REGISTRY_AUTH_CRYPTO_JWT_CLAIMS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"

namespace registryauth::crypto {

// A finished JSON object of claims (see the top); only JwtClaimsWriter makes one.
class JwtClaims {
 public:
  const std::string& json() const { return json_; }

 private:
  friend class JwtClaimsWriter;
  explicit JwtClaims(std::string json) : json_(std::move(json)) {}
  std::string json_;
};

class JwtClaimsWriter {
 public:
  JwtClaimsWriter();

  // Members of the current object ("name": value).
  JwtClaimsWriter& String(std::string_view name, std::string_view value);
  JwtClaimsWriter& Integer(std::string_view name, int64_t value);
  template <typename Strings>
  JwtClaimsWriter& StringArray(std::string_view name, const Strings& values) {
    BeginArray(name);
    for (const auto& v : values) ArrayString(v);
    return EndArray();
  }
  // "name": [ ... ] and, inside an array, { ... }.
  JwtClaimsWriter& BeginArray(std::string_view name);
  JwtClaimsWriter& EndArray();
  JwtClaimsWriter& BeginObject();
  JwtClaimsWriter& EndObject();

  // The claims object, or INVALID_ARGUMENT for any misuse above (the message never quotes a
  // value).
  absl::StatusOr<JwtClaims> Finish() &&;

 private:
  enum class Scope : char { kObject, kArray };
  struct Level {
    Scope scope;
    bool first = true;
    // An object's member names so far (copies: a caller may pass a temporary; short names
    // stay inline).
    absl::InlinedVector<std::string, 8> names;
  };

  void ArrayString(std::string_view value);
  // Writes `"name":` in the current object, or fails.
  bool Member(std::string_view name);
  // A separator before a new element of the current level.
  void Separate();
  void AppendString(std::string_view s);
  void Fail(const char* why);

  std::string out_;
  std::vector<Level> levels_;
  const char* error_ = nullptr;
};

}  // namespace registryauth::crypto

#endif  // REGISTRY_AUTH_CRYPTO_JWT_CLAIMS_H_
