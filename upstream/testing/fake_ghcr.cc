#include "upstream/testing/fake_ghcr.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace registryauth::upstream::testing {

void RouteFakeGhcr(ScriptedHttpServer& ghcr, const std::string& login,
                   const std::string& registry_token,
                   std::function<bool(const std::string& pat)> accepts) {
  const std::string challenge =
      absl::StrCat(R"(Bearer realm=")", ghcr.Url("/token"), R"(",service="ghcr.io")");
  ghcr.Route("/v2/", [challenge,
                      bearer = absl::StrCat("Bearer ", registry_token)](const ScriptedRequest& r) {
    if (r.Header("authorization") == bearer) return ScriptedResponse{200, {}, "{}"};
    return ScriptedResponse{401, {{"WWW-Authenticate", challenge}}, "{}"};
  });
  ghcr.Route(
      "/token", [login, registry_token, accepts = std::move(accepts)](const ScriptedRequest& r) {
        const std::string auth = r.Header("authorization").value_or("");
        std::string decoded;
        // Only the canonical encoding of `<login>:<pat>`, as a plain comparison would accept.
        if (absl::StartsWith(auth, "Basic ") && absl::Base64Unescape(auth.substr(6), &decoded) &&
            auth == absl::StrCat("Basic ", absl::Base64Escape(decoded)) &&
            absl::StartsWith(decoded, absl::StrCat(login, ":")) &&
            accepts(decoded.substr(login.size() + 1))) {
          return ScriptedResponse{200, {}, absl::StrCat(R"({"token":")", registry_token, R"("})")};
        }
        return ScriptedResponse{401, {}, R"({"errors":[{"code":"DENIED"}]})"};
      });
}

}  // namespace registryauth::upstream::testing
