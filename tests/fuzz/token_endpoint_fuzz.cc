// Fuzz target for the whole public `/token` path in one process, as the HTTP adapter runs it:
// gateway::RestRouter::Handle (route match, TokenHandler, ParseTokenQuery / ParseTokenForm,
// the Basic header) -> the in-process issuer the server installs
// (api::RegistryAuthGrpcService::IssueRegistryTokenInProcess, the real gRPC adapter) ->
// services::TokenRealm::IssueToken -> TokenIssuer (credential formats, throttling, scopes,
// grants, signing) on the in-memory stores of fuzz_realm.h -> the HTTP reply. No credentials
// are needed to get here, so every byte of it is the internet's.
//
// Input:
//   byte 0       `0`: GET, the header line is the Authorization header as sent;
//                `1`: GET, the header line is `user:password` in clear, sent as `Basic <base64>`;
//                `2`/`3`: POST, the header line is the Content-Type (empty: the form type).
//                (Any byte: its value modulo 4.)
//   then         the header line, up to the first `\n`;
//   the rest     the query string (GET) or the form body (POST).
// Markers stand for the genuine credentials of fuzz_realm.h (`{S}`/`{A}` acme+builder,
// `{O}`/`{B}` other+bot, `{T}`/`{K}` a pull token, `{U}`/`{P}` a workspace credential, `{R}` a
// refresh token); in the query or body a '+' in them is sent as %2B.
//
// Besides "never crash" (ASan, UBSan), it aborts with a message when:
//   - an exception escapes Handle (the gateway must answer every request);
//   - `done` is not called exactly once, on this thread;
//   - a reply's status is outside 200..599, its body is not JSON, or a 401 has no
//     WWW-Authenticate: Basic challenge (or another status has one);
//   - the service said OK and the reply is not 200 (or 500 for an unencodable response), or
//     it refused and the reply is 200;
//   - a token was issued to anything but a genuine principal: the subject must be one of
//     fuzz_realm.h's, its password or refresh token the genuine one (or a refresh token issued
//     in this process);
//   - a token carries access outside the principal's namespace: every `repository` entry's
//     full name starts with `<workspace>/` of the principal, except pull on a public app
//     (`acme/site`, `other/pub`); anonymous tokens carry only that; never `registry:catalog`
//     (no catalog accounts are configured);
//   - the reply contains the password or refresh token sent (8 bytes or more) other than a
//     refresh grant's own `refresh_token` field, unless the same reply text appears when the
//     service is sent a different secret of the same length (the bytes are then fixed text).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/call_auth.h"
#include "api/in_process.h"
#include "api/registry_auth_grpc.h"
#include "auth/policy.h"
#include "common/log.h"
#include "crypto/base64url.h"
#include "gateway/rest_router.h"
#include "gateway/rest_types.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "nlohmann/json.hpp"
#include "realm/basic_auth.h"
#include "realm/scope.h"
#include "services/registry_auth.h"
#include "services/registry_service.h"
#include "tests/fuzz/fuzz_realm.h"

namespace {

using namespace ::registryauth;  // NOLINT: a fuzz target's one file

// Repository names with a registry host in front (`localhost/acme/x`) were authorized on the
// path without the host, so `repository:localhost/acme/x:push` got `acme/*` grants (seed
// `host_prefixed_scope`; issue 15). Grants now match the full name, and the full-name invariant
// below holds for them too. True would stop such requests at the issuer, as while it was open.
constexpr bool kSkipHostPrefixedScopes = false;

// Refresh tokens issued by `offline` requests pile up in the in-memory store; past this many the
// world is rebuilt (new stores, new genuine secrets; the markers follow).
constexpr size_t kMaxIssuedRefreshTokens = 2048;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "token_endpoint_fuzz: %s\n", what.c_str());
  std::abort();
}

void Check(bool condition, const char* what) {
  if (!condition) Fail(what);
}

// The server's composition for /token (server/server.cc), on fuzz_realm.h's realm: the gRPC
// adapter with no caller policy (IssueRegistryToken needs none).
struct World {
  World()
      : registry_service(realm.store(), realm.ring(), realm.clock()),
        guard(realm.store(), realm.clock()),
        members(realm.store(), realm.clock()),
        credentials(realm.store(), registry_service, realm.clock(), {}),
        registry_auth(guard, registry_service, members, credentials),
        policy(nullptr),
        authn(policy, /*allow_unauthenticated=*/false),
        service(registry_auth, realm.realm(), authn) {}

  fuzz::FuzzRealm realm;
  services::RegistryService registry_service;
  services::Guard guard;
  services::MemberService members;
  services::CredentialService credentials;
  services::RegistryAuth registry_auth;
  auth::PolicyHolder policy;
  api::CallAuthenticator authn;
  api::RegistryAuthGrpcService service;
  std::set<std::string> refresh_tokens;  // issued here (besides realm.refresh_token)
};

bool HasHostPrefixedScope(const v1::IssueRegistryTokenRequest& request) {
  const std::vector<std::string> params(request.scopes().begin(), request.scopes().end());
  absl::StatusOr<std::vector<realm::ResourceScope>> scopes = realm::ParseScopes(params);
  if (!scopes.ok()) return false;
  for (const realm::ResourceScope& s : *scopes) {
    if (s.type == "repository" && !realm::SplitRepositoryName(s.name).host.empty()) return true;
  }
  return false;
}

// What the router hands the server, recorded on its way through.
class RecordingIssuer final : public api::InProcessTokenIssuer {
 public:
  World* world = nullptr;
  // When set, the password / refresh token the service sees is replaced by this.
  std::optional<std::string> substitute;

  bool called = false;
  grpc::Status status;
  v1::IssueRegistryTokenRequest::GrantType grant_type{};
  std::string username, password, refresh_token;

  grpc::Status IssueRegistryToken(const api::InProcessCall& call,
                                  v1::IssueRegistryTokenRequest& request,
                                  v1::IssueRegistryTokenResponse* response,
                                  std::string* request_id) override {
    Check(!called, "the issuer was called twice for one request");
    called = true;
    grant_type = request.grant_type();
    username = request.username();
    password = request.password();
    refresh_token = request.refresh_token();
    if (substitute.has_value()) {
      if (!request.password().empty()) request.set_password(*substitute);
      if (!request.refresh_token().empty()) request.set_refresh_token(*substitute);
    }
    if (kSkipHostPrefixedScopes && HasHostPrefixedScope(request)) {
      status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "fuzz: host-prefixed scope");
      return status;
    }
    status = world->service.IssueRegistryTokenInProcess(call, request, response, request_id);
    Check(request.password().empty() && request.refresh_token().empty(),
          "the adapter left a secret in the request");
    return status;
  }
};

struct Outcome {
  int calls = 0;
  gateway::RestReply reply;
};

Outcome Run(const gateway::RestRouter& router, const gateway::RestRequest& request) {
  Outcome out;
  try {
    router.Handle(request, [&out](gateway::RestReply reply) {
      ++out.calls;
      out.reply = std::move(reply);
    });
  } catch (const std::exception& e) {
    Fail(absl::StrCat("exception escaped RestRouter::Handle: ", e.what()));
  } catch (...) {
    Fail("non-standard exception escaped RestRouter::Handle");
  }
  Check(out.calls == 1, "done was not called exactly once, on the calling thread");
  return out;
}

std::optional<std::string> Header(const gateway::RestReply& reply, absl::string_view name) {
  for (const auto& [n, v] : reply.headers) {
    if (absl::EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

// Everything of a reply a client sees, with a refresh grant's own refresh_token left out.
std::string VisibleText(const gateway::RestReply& reply, bool drop_refresh_token) {
  std::string text;
  for (const auto& [n, v] : reply.headers) absl::StrAppend(&text, n, ": ", v, "\n");
  if (!drop_refresh_token) return text + reply.body;
  nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
  if (body.is_object()) body.erase("refresh_token");
  return text + body.dump();
}

// The claims of the token in a 200 reply.
nlohmann::json TokenClaims(const nlohmann::json& body) {
  Check(body.is_object() && body.contains("token") && body["token"].is_string(),
        "a 200 reply without a token");
  Check(body.value("access_token", "") == body["token"].get<std::string>(),
        "access_token differs from token");
  const std::vector<std::string> parts = absl::StrSplit(body["token"].get<std::string>(), '.');
  Check(parts.size() == 3, "the token is not a compact JWS");
  absl::StatusOr<std::string> payload = crypto::Base64UrlDecode(parts[1]);
  Check(payload.ok(), "the token's payload is not base64url");
  nlohmann::json claims = nlohmann::json::parse(*payload, nullptr, false);
  Check(claims.is_object() && claims.contains("sub") && claims["sub"].is_string() &&
            claims.contains("access") && claims["access"].is_array(),
        "the token's claims lack sub or access");
  return claims;
}

void CheckGrants(const World& w, const RecordingIssuer& issuer, const nlohmann::json& claims) {
  const std::string subject = claims["sub"].get<std::string>();
  std::optional<std::string> workspace;
  if (!subject.empty()) {
    workspace = w.realm.WorkspaceOfSubject(subject);
    if (!workspace.has_value()) Fail("a token was issued to an unknown subject");
    if (issuer.grant_type == v1::IssueRegistryTokenRequest::REFRESH_TOKEN) {
      Check(issuer.refresh_token == w.realm.refresh_token ||
                w.refresh_tokens.count(issuer.refresh_token) > 0,
            "a forged refresh token was accepted");
    } else {
      const fuzz::FuzzRealm& r = w.realm;
      const bool genuine =
          (issuer.username == r.account_user && issuer.password == r.account_secret) ||
          (issuer.username == r.other_user && issuer.password == r.other_secret) ||
          (issuer.username == r.pull_user && issuer.password == r.pull_secret) ||
          (issuer.username == r.workspace_user && issuer.password == r.workspace_secret);
      Check(genuine && issuer.username == subject, "a forged login was accepted");
    }
  } else {
    Check(issuer.username.empty() && issuer.password.empty() && issuer.refresh_token.empty(),
          "credentials sent, but the token is anonymous");
  }
  for (const nlohmann::json& entry : claims["access"]) {
    Check(entry.is_object() && entry.value("type", "") == "repository",
          "a token carries access that is not to a repository");
    const std::string name = entry.value("name", "");
    const nlohmann::json actions = entry.value("actions", nlohmann::json::array());
    const bool public_pull =
        fuzz::FuzzRealm::IsPublicRepository(name) && actions == nlohmann::json::array({"pull"});
    if (public_pull) continue;
    if (!workspace.has_value()) Fail("an anonymous token carries access beyond public pulls");
    if (!absl::StartsWith(name, *workspace + "/")) {
      Fail(absl::StrCat("a token of workspace ", *workspace, " carries access to ", name));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    SetMinLogLevel(LogLevel::kError);  // a refused login logs a warning: not news here
    return true;
  }();
  (void)quiet;
  static std::unique_ptr<World> world = std::make_unique<World>();
  static RecordingIssuer* const issuer = new RecordingIssuer();
  static const gateway::RestRouter* const router = [] {
    gateway::RestRouterOptions options;
    options.in_process_tokens = issuer;
    // On the calling thread: one input, one deterministic run (the server uses token workers;
    // rest_router_test covers them).
    options.token_workers = 0;
    // /token never uses the channel when in-process; it is never connected.
    return new gateway::RestRouter(
        grpc::CreateChannel("unix:/nonexistent/fuzz.sock", grpc::InsecureChannelCredentials()),
        options);
  }();
  if (size < 1 || size > 8192) return 0;
  if (world->refresh_tokens.size() > kMaxIssuedRefreshTokens) world = std::make_unique<World>();
  issuer->world = world.get();

  const int mode = data[0] % 4;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t newline = rest.find('\n');
  const std::string_view header_line = rest.substr(0, newline);
  const std::string_view payload =
      newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);

  gateway::RestRequest request;
  request.forwarded_for = "192.0.2.1";
  const std::string expanded = world->realm.Expand(payload, /*form_encode=*/true);
  if (mode <= 1) {
    request.method = "GET";
    request.target = absl::StrCat("/token?", expanded);
    std::string header = world->realm.Expand(header_line, false);
    if (mode == 1) {
      const size_t colon = header.find(':');
      header = colon == std::string::npos ? std::string()
                                          : realm::FormatBasicAuthorization(
                                                header.substr(0, colon), header.substr(colon + 1));
    }
    request.authorization = std::move(header);
  } else {
    request.method = "POST";
    request.target = "/token";
    request.content_type =
        header_line.empty() ? "application/x-www-form-urlencoded" : std::string(header_line);
    request.body = expanded;
  }

  *issuer = RecordingIssuer();
  issuer->world = world.get();
  const Outcome out = Run(*router, request);
  const gateway::RestReply& reply = out.reply;

  Check(reply.status >= 200 && reply.status <= 599, "reply status outside 200..599");
  const nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
  Check(!body.is_discarded(), "reply body is not JSON");
  const std::optional<std::string> challenge = Header(reply, "WWW-Authenticate");
  Check((reply.status == 401) == challenge.has_value(),
        "WWW-Authenticate on a reply that is not 401, or a 401 without it");
  if (challenge.has_value()) {
    Check(absl::StartsWith(*challenge, "Basic realm=\""), "the 401 challenge is not Basic");
  }
  if (!issuer->called) {
    Check(reply.status != 200, "200 without asking the service");
    return 0;
  }
  if (issuer->status.ok()) {
    Check(reply.status == 200 || reply.status == 500, "the service said OK, the reply did not");
  } else {
    Check(reply.status != 200, "the service refused, the reply is 200");
  }
  const RecordingIssuer seen = *issuer;
  const bool refresh_grant = seen.grant_type == v1::IssueRegistryTokenRequest::REFRESH_TOKEN;
  if (reply.status == 200) {
    CheckGrants(*world, seen, TokenClaims(body));
    if (body.contains("refresh_token") && body["refresh_token"].is_string()) {
      world->refresh_tokens.insert(body["refresh_token"].get<std::string>());
    }
  }

  // Secrets: never in the reply, unless they are bytes it would contain anyway.
  const std::string visible = VisibleText(reply, refresh_grant && reply.status == 200);
  for (const std::string* secret : {&seen.password, &seen.refresh_token}) {
    if (secret->size() < 8 || !absl::StrContains(visible, *secret)) continue;
    std::string other(secret->size(), 'x');
    if ((*secret)[0] == 'x') other.assign(secret->size(), 'y');
    *issuer = RecordingIssuer();
    issuer->world = world.get();
    issuer->substitute = other;
    const Outcome again = Run(*router, request);
    issuer->substitute.reset();
    if (!absl::StrContains(VisibleText(again.reply, false), *secret)) {
      Fail("the reply contains the password or refresh token sent");
    }
  }
  return 0;
}
