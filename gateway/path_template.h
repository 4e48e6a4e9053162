// A compiled grpc-gateway / google.api.http path template, e.g.
// `/v1/{name=workspaces/*/apps/*}` or `/v1/{app=workspaces/*/apps/*}:mintPullToken`.
//
// Supported syntax: literal segments, `*` (exactly one non-empty segment), variables
// `{field.path}` (same as `{field.path=*}`) and `{field.path=seg/*/...}` whose value is the
// matched segments joined by `/`, and a trailing `:verb`. (`**` is not needed by this API and
// is rejected.) Immutable after Parse; Match is thread-safe.
//
//   ASSIGN_OR_RETURN(PathTemplate t, PathTemplate::Parse("/v1/{name=workspaces/*}"));
//   auto vars = t.Match(SplitPath("/v1/workspaces/acme"));  // {{"name", "workspaces/acme"}}
#ifndef REGISTRY_AUTH_GATEWAY_PATH_TEMPLATE_H_
#define REGISTRY_AUTH_GATEWAY_PATH_TEMPLATE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace registryauth::gateway {

// A request path split into percent-decoded segments plus the optional `:verb` of the last
// segment.
struct SplitRequestPath {
  std::vector<std::string> segments;
  std::string verb;
};

// Splits `/a/b:verb` (no query string) into segments and verb, percent-decoding each segment.
// INVALID_ARGUMENT if the path does not start with `/`, has bad percent-encoding, or a decoded
// segment contains `/`.
absl::StatusOr<SplitRequestPath> SplitPath(absl::string_view path);

class PathTemplate {
 public:
  // (field path, value) for each variable of the template, in template order.
  using Bindings = std::vector<std::pair<std::string, std::string>>;

  static absl::StatusOr<PathTemplate> Parse(absl::string_view tmpl);

  // The variable bindings if `path` matches, else nullopt. A `*` never matches an empty
  // segment or one containing `:`.
  std::optional<Bindings> Match(const SplitRequestPath& path) const;

  // The field paths of the template's variables, e.g. {"workspace.name"}.
  std::vector<std::string> FieldPaths() const;

 private:
  struct Segment {
    std::string literal;  // Empty for `*`.
    int variable = -1;    // Index into variables_, or -1 when outside any variable.
  };

  PathTemplate() = default;

  std::vector<Segment> segments_;
  std::vector<std::string> variables_;
  std::string verb_;
};

}  // namespace registryauth::gateway

#endif  // REGISTRY_AUTH_GATEWAY_PATH_TEMPLATE_H_
