#include "crypto/jwt_claims.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/utf8.h"

namespace registryauth::crypto {
namespace {

bool IsTimeClaim(std::string_view name) { return name == "exp" || name == "nbf" || name == "iat"; }

}  // namespace

JwtClaimsWriter::JwtClaimsWriter() {
  out_.reserve(512);
  out_ += '{';
  levels_.push_back(Level{Scope::kObject});
}

void JwtClaimsWriter::Fail(const char* why) {
  if (error_ == nullptr) error_ = why;
}

void JwtClaimsWriter::Separate() {
  Level& level = levels_.back();
  if (!level.first) out_ += ',';
  level.first = false;
}

bool JwtClaimsWriter::Member(std::string_view name) {
  if (levels_.empty() || levels_.back().scope != Scope::kObject) {
    Fail("JWT claims: a member outside an object");
    return false;
  }
  auto& names = levels_.back().names;
  if (std::find(names.begin(), names.end(), name) != names.end()) {
    Fail("JWT claims repeat a member name");
    return false;
  }
  names.emplace_back(name);
  Separate();
  AppendString(name);
  out_ += ':';
  return true;
}

void JwtClaimsWriter::AppendString(std::string_view s) {
  if (!IsValidUtf8(s)) {
    Fail("JWT claims are not valid UTF-8");
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out_ += '"';
  size_t plain_from = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out_.append(s.data() + plain_from, i - plain_from);
    plain_from = i + 1;
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      default:
        out_ += "\\u00";
        out_ += kHex[c >> 4];
        out_ += kHex[c & 0xF];
    }
  }
  out_.append(s.data() + plain_from, s.size() - plain_from);
  out_ += '"';
}

JwtClaimsWriter& JwtClaimsWriter::String(std::string_view name, std::string_view value) {
  if (levels_.size() == 1 && IsTimeClaim(name)) {
    Fail("JWT claims exp, nbf and iat must be integers");
    return *this;
  }
  if (Member(name)) AppendString(value);
  return *this;
}

JwtClaimsWriter& JwtClaimsWriter::Integer(std::string_view name, int64_t value) {
  if (levels_.size() == 1 && name == "aud") {
    Fail("JWT claim aud must be a single string");
    return *this;
  }
  if (Member(name)) absl::StrAppend(&out_, value);
  return *this;
}

void JwtClaimsWriter::ArrayString(std::string_view value) {
  Separate();
  AppendString(value);
}

JwtClaimsWriter& JwtClaimsWriter::BeginArray(std::string_view name) {
  if (levels_.size() == 1 && (name == "aud" || IsTimeClaim(name))) {
    Fail("JWT claims aud, exp, nbf and iat cannot be arrays");
  }
  if (Member(name)) out_ += '[';
  levels_.push_back(Level{Scope::kArray});  // also on failure: Begin/End stay balanced
  return *this;
}

JwtClaimsWriter& JwtClaimsWriter::EndArray() {
  if (levels_.size() < 2 || levels_.back().scope != Scope::kArray) {
    Fail("JWT claims: EndArray without BeginArray");
    return *this;
  }
  levels_.pop_back();
  out_ += ']';
  return *this;
}

JwtClaimsWriter& JwtClaimsWriter::BeginObject() {
  if (levels_.back().scope != Scope::kArray) {
    Fail("JWT claims: an object outside an array");
  } else {
    Separate();
  }
  out_ += '{';
  levels_.push_back(Level{Scope::kObject});
  return *this;
}

JwtClaimsWriter& JwtClaimsWriter::EndObject() {
  if (levels_.size() < 2 || levels_.back().scope != Scope::kObject) {
    Fail("JWT claims: EndObject without BeginObject");
    return *this;
  }
  levels_.pop_back();
  out_ += '}';
  return *this;
}

absl::StatusOr<JwtClaims> JwtClaimsWriter::Finish() && {
  if (error_ == nullptr && levels_.size() != 1) error_ = "JWT claims: an array or object not ended";
  if (error_ != nullptr) return absl::InvalidArgumentError(error_);
  out_ += '}';
  levels_.clear();
  return JwtClaims(std::move(out_));
}

}  // namespace registryauth::crypto
