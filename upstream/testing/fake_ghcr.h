// RouteFakeGhcr: makes a ScriptedHttpServer play ghcr.io's registry handshake for tests of
// TestConnection and revalidation: `GET /v2/` answers 401 with a Bearer challenge naming the
// server's own `/token` (service "ghcr.io"), `/token` gives `registry_token` for Basic
// `<login>:<pat>` when `accepts(pat)` and 401 DENIED otherwise, and `/v2/` with that token
// answers 200.
//
//   RouteFakeGhcr(*ghcr, "octo-bot", "ghcr-registry-token-abc",
//                 [](const std::string& pat) { return pat == kPushPat; });
//
// `accepts` runs on the server's threads; it must be thread-safe and outlive the server.
// Testing only.
#ifndef REGISTRY_AUTH_UPSTREAM_TESTING_FAKE_GHCR_H_
#define REGISTRY_AUTH_UPSTREAM_TESTING_FAKE_GHCR_H_

#include <functional>
#include <string>

#include "upstream/testing/scripted_http_server.h"

namespace registryauth::upstream::testing {

void RouteFakeGhcr(ScriptedHttpServer& ghcr, const std::string& login,
                   const std::string& registry_token,
                   std::function<bool(const std::string& pat)> accepts);

}  // namespace registryauth::upstream::testing

#endif  // REGISTRY_AUTH_UPSTREAM_TESTING_FAKE_GHCR_H_
