#include "gateway/path_template.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gateway/rest_util.h"

namespace registryauth::gateway {
namespace {

bool IsFieldPath(absl::string_view s) {
  if (s.empty()) return false;
  for (absl::string_view part : absl::StrSplit(s, '.')) {
    if (part.empty()) return false;
    for (char c : part) {
      const bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      if (!ok) return false;
    }
  }
  return true;
}

bool IsLiteral(absl::string_view s) {
  return !s.empty() && s.find_first_of("{}*:/=") == absl::string_view::npos;
}

}  // namespace

absl::StatusOr<SplitRequestPath> SplitPath(absl::string_view path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError("request path must start with '/'");
  }
  path.remove_prefix(1);
  std::vector<absl::string_view> raw = absl::StrSplit(path, '/');
  SplitRequestPath out;
  // The verb follows the last ':' of the last segment (grpc-gateway does the same).
  absl::string_view& last = raw.back();
  if (size_t colon = last.rfind(':'); colon != absl::string_view::npos) {
    absl::StatusOr<std::string> verb = PercentDecode(last.substr(colon + 1), false);
    if (!verb.ok()) return verb.status();
    out.verb = *std::move(verb);
    last = last.substr(0, colon);
  }
  out.segments.reserve(raw.size());
  for (absl::string_view seg : raw) {
    absl::StatusOr<std::string> decoded = PercentDecode(seg, /*plus_as_space=*/false);
    if (!decoded.ok()) return decoded.status();
    if (decoded->find('/') != std::string::npos) {
      return absl::InvalidArgumentError("a path segment must not contain an encoded '/'");
    }
    out.segments.push_back(*std::move(decoded));
  }
  return out;
}

absl::StatusOr<PathTemplate> PathTemplate::Parse(absl::string_view tmpl) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("path template \"", tmpl, "\": ", why));
  };
  if (tmpl.empty() || tmpl[0] != '/') return bad("must start with '/'");
  PathTemplate t;
  absl::string_view rest = tmpl.substr(1);
  // The verb is after the last ':' that is not inside braces.
  if (size_t close = rest.rfind('}'), colon = rest.rfind(':');
      colon != absl::string_view::npos && (close == absl::string_view::npos || colon > close)) {
    t.verb_ = std::string(rest.substr(colon + 1));
    if (!IsLiteral(t.verb_)) return bad("invalid verb");
    rest = rest.substr(0, colon);
  }
  while (!rest.empty()) {
    absl::string_view token;
    if (rest[0] == '{') {
      const size_t close = rest.find('}');
      if (close == absl::string_view::npos) return bad("unclosed '{'");
      token = rest.substr(0, close + 1);
      rest.remove_prefix(close + 1);
      absl::string_view inner = token.substr(1, token.size() - 2);
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(inner, absl::MaxSplits('=', 1));
      if (!IsFieldPath(kv.first)) return bad("invalid variable name");
      const int index = static_cast<int>(t.variables_.size());
      t.variables_.emplace_back(kv.first);
      absl::string_view pattern = inner.find('=') == absl::string_view::npos ? "*" : kv.second;
      for (absl::string_view seg : absl::StrSplit(pattern, '/')) {
        if (seg == "*") {
          t.segments_.push_back({"", index});
        } else if (IsLiteral(seg)) {
          t.segments_.push_back({std::string(seg), index});
        } else {
          return bad("unsupported segment inside a variable");
        }
      }
    } else {
      const size_t slash = rest.find('/');
      token = rest.substr(0, slash);
      rest.remove_prefix(token.size());
      if (token == "*") {
        t.segments_.push_back({"", -1});
      } else if (IsLiteral(token)) {
        t.segments_.push_back({std::string(token), -1});
      } else {
        return bad("unsupported segment");
      }
    }
    if (!rest.empty()) {
      if (rest[0] != '/' || rest.size() == 1) return bad("segments must be separated by '/'");
      rest.remove_prefix(1);
    }
  }
  if (t.segments_.empty()) return bad("no segments");
  return t;
}

std::optional<PathTemplate::Bindings> PathTemplate::Match(const SplitRequestPath& path) const {
  if (path.verb != verb_ || path.segments.size() != segments_.size()) return std::nullopt;
  std::vector<std::vector<absl::string_view>> parts(variables_.size());
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& want = segments_[i];
    const std::string& got = path.segments[i];
    if (want.literal.empty()) {
      if (got.empty() || got.find(':') != std::string::npos) return std::nullopt;
    } else if (got != want.literal) {
      return std::nullopt;
    }
    if (want.variable >= 0) parts[want.variable].push_back(got);
  }
  Bindings bindings;
  bindings.reserve(variables_.size());
  for (size_t v = 0; v < variables_.size(); ++v) {
    bindings.emplace_back(variables_[v], absl::StrJoin(parts[v], "/"));
  }
  return bindings;
}

std::vector<std::string> PathTemplate::FieldPaths() const { return variables_; }

}  // namespace registryauth::gateway
