#include "upstream/www_authenticate.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace registryauth::upstream {
namespace {

// tchar (RFC 9110 section 5.6.2).
bool IsTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

// token68 characters other than the trailing '=' padding (RFC 9110 section 11.2).
bool IsToken68Char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// qdtext (RFC 9110 section 5.6.4): HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
bool IsQdtext(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
         (c >= 0x5D && c <= 0x7E) || c >= 0x80;
}

// The second octet of a quoted-pair: HTAB / SP / VCHAR / obs-text.
bool IsQuotedPairChar(unsigned char c) {
  return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7E) || c >= 0x80;
}

char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLowerAscii(c);
  return out;
}

absl::Status Malformed(const char* what, std::size_t offset) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed WWW-Authenticate header: ", what, " at byte ", offset));
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  absl::Status Parse(std::vector<AuthChallenge>* out) {
    std::size_t found = 0;
    while (true) {
      SkipListSeparators();
      if (AtEnd()) break;
      if (out->size() >= kMaxChallenges) return Malformed("too many challenges", pos_);
      AuthChallenge challenge;
      if (absl::Status s = ParseChallenge(&challenge); !s.ok()) return s;
      out->push_back(std::move(challenge));
      ++found;
      SkipOws();
      if (AtEnd()) break;
      if (in_[pos_] != ',') return Malformed("expected ',' after a challenge", pos_);
    }
    if (found == 0) return Malformed("no challenge", pos_);
    return absl::OkStatus();
  }

 private:
  bool AtEnd() const { return pos_ >= in_.size(); }
  unsigned char Peek(std::size_t ahead = 0) const {
    return static_cast<unsigned char>(in_[pos_ + ahead]);
  }

  void SkipOws() {
    while (!AtEnd() && (in_[pos_] == ' ' || in_[pos_] == '\t')) ++pos_;
  }
  // OWS and commas: the separators (and empty elements) of a #list.
  void SkipListSeparators() {
    while (!AtEnd() && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == ',')) ++pos_;
  }

  std::string_view Token() {
    const std::size_t start = pos_;
    while (!AtEnd() && IsTchar(Peek())) ++pos_;
    return in_.substr(start, pos_ - start);
  }

  // True if a `token BWS "="` starts at the current position (an auth-param, not a new
  // challenge). Does not move.
  bool AtAuthParam() const {
    std::size_t p = pos_;
    const std::size_t start = p;
    while (p < in_.size() && IsTchar(static_cast<unsigned char>(in_[p]))) ++p;
    if (p == start) return false;
    while (p < in_.size() && (in_[p] == ' ' || in_[p] == '\t')) ++p;
    return p < in_.size() && in_[p] == '=';
  }

  // True if a token68 followed by OWS and the end or a ',' starts here; sets its length.
  bool AtToken68(std::size_t* length) const {
    std::size_t p = pos_;
    while (p < in_.size() && IsToken68Char(static_cast<unsigned char>(in_[p]))) ++p;
    if (p == pos_) return false;
    while (p < in_.size() && in_[p] == '=') ++p;
    const std::size_t end = p;
    while (p < in_.size() && (in_[p] == ' ' || in_[p] == '\t')) ++p;
    if (p < in_.size() && in_[p] != ',') return false;
    *length = end - pos_;
    return true;
  }

  absl::Status ParseChallenge(AuthChallenge* challenge) {
    const std::size_t scheme_at = pos_;
    const std::string_view scheme = Token();
    if (scheme.empty()) return Malformed("expected an auth-scheme", scheme_at);
    if (!AtEnd() && in_[pos_] == '=') return Malformed("auth-param outside a challenge", pos_);
    challenge->scheme = ToLower(scheme);
    if (AtEnd() || in_[pos_] == ',') return absl::OkStatus();
    if (in_[pos_] != ' ') return Malformed("expected a space after the auth-scheme", pos_);
    while (!AtEnd() && in_[pos_] == ' ') ++pos_;
    if (AtEnd() || in_[pos_] == ',') return absl::OkStatus();
    std::size_t token68_length = 0;
    // A token68 ends at the end or a ','; an auth-param always has a value after its '=', so
    // the two never both match.
    if (AtToken68(&token68_length)) {
      challenge->token68 = std::string(in_.substr(pos_, token68_length));
      pos_ += token68_length;
      return absl::OkStatus();
    }
    while (true) {
      if (absl::Status s = ParseAuthParam(challenge); !s.ok()) return s;
      SkipOws();
      if (AtEnd()) return absl::OkStatus();
      if (in_[pos_] != ',') return Malformed("expected ',' between auth-params", pos_);
      // Look past the separators: another auth-param continues this challenge, anything
      // else starts the next one (left for the caller, at the ',').
      const std::size_t comma = pos_;
      SkipListSeparators();
      if (AtEnd() || !AtAuthParam()) {
        pos_ = comma;
        return absl::OkStatus();
      }
    }
  }

  absl::Status ParseAuthParam(AuthChallenge* challenge) {
    if (challenge->params.size() >= kMaxAuthParams) return Malformed("too many auth-params", pos_);
    const std::size_t name_at = pos_;
    const std::string_view name = Token();
    if (name.empty()) return Malformed("expected an auth-param name", name_at);
    SkipOws();
    if (AtEnd() || in_[pos_] != '=') return Malformed("expected '='", pos_);
    ++pos_;
    SkipOws();
    if (AtEnd()) return Malformed("missing auth-param value", pos_);
    std::string value;
    if (in_[pos_] == '"') {
      if (absl::Status s = QuotedString(&value); !s.ok()) return s;
    } else {
      const std::size_t value_at = pos_;
      value = std::string(Token());
      if (value.empty()) return Malformed("expected a token or a quoted string", value_at);
    }
    std::string lower = ToLower(name);
    for (const auto& [existing, unused] : challenge->params) {
      if (existing == lower) return Malformed("repeated auth-param", name_at);
    }
    challenge->params.emplace_back(std::move(lower), std::move(value));
    return absl::OkStatus();
  }

  absl::Status QuotedString(std::string* out) {
    const std::size_t open = pos_;
    ++pos_;  // the opening quote
    while (!AtEnd()) {
      const unsigned char c = Peek();
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c == '\\') {
        if (pos_ + 1 >= in_.size()) break;
        const unsigned char escaped = Peek(1);
        if (!IsQuotedPairChar(escaped)) return Malformed("bad escape in quoted string", pos_);
        out->push_back(static_cast<char>(escaped));
        pos_ += 2;
        continue;
      }
      if (!IsQdtext(c)) return Malformed("control character in quoted string", pos_);
      out->push_back(static_cast<char>(c));
      ++pos_;
    }
    return Malformed("unterminated quoted string", open);
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<std::string> AuthChallenge::Param(std::string_view name) const {
  const std::string lower = ToLower(name);
  for (const auto& [n, v] : params) {
    if (n == lower) return v;
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<AuthChallenge>> ParseWwwAuthenticate(std::string_view header) {
  if (header.size() > kMaxWwwAuthenticateBytes) {
    return absl::InvalidArgumentError("WWW-Authenticate header too long");
  }
  std::vector<AuthChallenge> challenges;
  Parser parser(header);
  if (absl::Status s = parser.Parse(&challenges); !s.ok()) return s;
  return challenges;
}

absl::StatusOr<std::vector<AuthChallenge>> ParseWwwAuthenticateFields(
    const std::vector<std::string>& fields) {
  if (fields.empty()) return absl::InvalidArgumentError("no WWW-Authenticate header");
  std::size_t total = 0;
  std::vector<AuthChallenge> all;
  for (const std::string& field : fields) {
    total += field.size();
    if (total > kMaxWwwAuthenticateBytes) {
      return absl::InvalidArgumentError("WWW-Authenticate header too long");
    }
    absl::StatusOr<std::vector<AuthChallenge>> one = ParseWwwAuthenticate(field);
    if (!one.ok()) return one.status();
    for (AuthChallenge& c : *one) {
      if (all.size() >= kMaxChallenges) {
        return absl::InvalidArgumentError("malformed WWW-Authenticate header: too many challenges");
      }
      all.push_back(std::move(c));
    }
  }
  return all;
}

const AuthChallenge* FindChallenge(const std::vector<AuthChallenge>& challenges,
                                   std::string_view scheme) {
  const std::string lower = ToLower(scheme);
  for (const AuthChallenge& c : challenges) {
    if (c.scheme == lower) return &c;
  }
  return nullptr;
}

std::string FormatWwwAuthenticate(const std::vector<AuthChallenge>& challenges) {
  std::string out;
  for (const AuthChallenge& c : challenges) {
    if (!out.empty()) out += ", ";
    out += c.scheme;
    if (c.token68.has_value() && c.params.empty()) {
      out += ' ';
      out += *c.token68;
      continue;
    }
    bool first = true;
    for (const auto& [name, value] : c.params) {
      out += first ? " " : ", ";
      first = false;
      out += name;
      out += "=\"";
      for (char ch : value) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
      }
      out += '"';
    }
  }
  return out;
}

}  // namespace registryauth::upstream
