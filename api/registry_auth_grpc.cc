#include "api/registry_auth_grpc.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/status_conversion.h"
#include "common/log.h"
#include "common/secret.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/connection_check.h"
#include "services/names.h"
#include "services/registry_auth.h"
#include "services/registry_event_log.h"
#include "services/types.h"

namespace registryauth::api {
namespace {

using services::FieldMask;
using services::RegistryConfigInput;
using services::RegistryService;

// ---- domain -> proto

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t seconds = absl::ToUnixSeconds(t);  // floors
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
}

// Sets `*field` unless the time is unset (InfinitePast) or out of Timestamp's range.
template <typename Setter>
void SetTime(absl::Time t, Setter mutable_field) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
  ToProto(t, mutable_field());
}

void ToProto(const Workspace& w, v1::Workspace* out) {
  out->set_name(services::FormatWorkspaceName(w.id));
  out->set_display_name(w.display_name);
  SetTime(w.create_time, [&] { return out->mutable_create_time(); });
  SetTime(w.update_time, [&] { return out->mutable_update_time(); });
  out->set_etag(RegistryService::EtagOf(w.version));
}

void ToProto(const App& a, v1::App* out) {
  out->set_name(services::FormatAppName(a.workspace_id, a.id));
  out->set_display_name(a.display_name);
  if (!a.registry_config_id.empty()) {
    out->set_registry_config(
        services::FormatRegistryConfigName(a.workspace_id, a.registry_config_id));
  }
  out->set_repository(a.workspace_id + "/" + a.id);
  out->set_public_pull(a.public_pull);
  SetTime(a.create_time, [&] { return out->mutable_create_time(); });
  SetTime(a.update_time, [&] { return out->mutable_update_time(); });
  out->set_etag(RegistryService::EtagOf(a.version));
}

// Never sets `secret`; `secret_ciphertext` and `secret_key_id` stay server-side too.
void ToProto(const RegistryConfig& c, v1::RegistryConfig* out) {
  out->set_name(services::FormatRegistryConfigName(c.workspace_id, c.id));
  out->set_display_name(c.display_name);
  out->set_type(static_cast<v1::RegistryType>(static_cast<int>(c.type)));
  switch (c.type) {
    case RegistryType::kGhcr:
      out->mutable_ghcr()->set_owner(c.owner);
      out->mutable_ghcr()->set_pull_only(c.pull_only);
      break;
    case RegistryType::kAcr:
      out->mutable_acr()->set_login_server(c.login_server);
      out->mutable_acr()->set_username(c.username);
      break;
    case RegistryType::kDistribution:
      out->mutable_distribution()->set_url(c.url);
      out->mutable_distribution()->set_repository_namespace(c.repository_namespace);
      out->mutable_distribution()->set_username(c.username);
      break;
    case RegistryType::kGeneric:
      out->mutable_generic()->set_url(c.url);
      out->mutable_generic()->set_username(c.username);
      break;
    case RegistryType::kGitHubApp: {
      v1::GitHubAppSettings* app = out->mutable_github_app();
      app->set_app_id(c.app_id);
      app->set_installation_id(c.installation_id);
      for (const std::string& r : c.repositories) app->add_repositories(r);
      for (const auto& [name, level] : c.permissions) (*app->mutable_permissions())[name] = level;
      break;
    }
    case RegistryType::kUnspecified:
      break;
  }
  out->set_has_secret(!c.secret_ciphertext.empty());
  out->set_secret_hint(c.secret_hint);
  out->set_is_default(c.is_default);
  out->set_validation_status(
      static_cast<v1::ValidationStatus>(static_cast<int>(c.validation_status)));
  if (c.validated_at.has_value()) {
    SetTime(*c.validated_at, [&] { return out->mutable_validated_at(); });
  }
  out->set_last_validation_error(c.last_validation_error);
  if (c.credential_expire_time.has_value()) {
    SetTime(*c.credential_expire_time, [&] { return out->mutable_credential_expire_time(); });
  }
  SetTime(c.create_time, [&] { return out->mutable_create_time(); });
  SetTime(c.update_time, [&] { return out->mutable_update_time(); });
  out->set_etag(RegistryService::EtagOf(c.version));
}

void ToProto(const Member& m, v1::Member* out) {
  out->set_name(services::FormatMemberName(m.workspace_id, m.user_id));
  out->set_role(static_cast<v1::Member::Role>(static_cast<int>(m.role)));
  out->set_status(static_cast<v1::Member::Status>(static_cast<int>(m.status)));
  SetTime(m.create_time, [&] { return out->mutable_create_time(); });
  SetTime(m.update_time, [&] { return out->mutable_update_time(); });
  out->set_etag(RegistryService::EtagOf(m.version));
}

void ToProto(const AuditEvent& e, v1::AuditEvent* out) {
  out->set_id(e.id);
  SetTime(e.time, [&] { return out->mutable_time(); });
  out->set_caller(e.caller);
  out->set_on_behalf_of(e.on_behalf_of);
  out->set_action(e.action);
  out->set_resource(e.resource);
  out->set_outcome(e.outcome);
  out->set_detail(e.detail);
  out->set_request_id(e.request_id);
  out->set_peer(e.peer);
}

// ---- proto -> domain

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

FieldMask ToFieldMask(const google::protobuf::FieldMask& mask) {
  return FieldMask(mask.paths().begin(), mask.paths().end());
}

// Moves a secret out of a request message into a SecretString and wipes the message's copy
// (the message is a heap object gRPC owns; only its handle is const).
SecretString TakeSecret(const std::string& field) {
  SecretString out(field);
  WipeString(const_cast<std::string&>(field));
  return out;
}

// Copies the settable fields (output-only ones are ignored) and moves the secret into a
// SecretString, wiping the request's copy.
RegistryConfigInput ToInput(const v1::RegistryConfig& in) {
  RegistryConfigInput out;
  out.display_name = in.display_name();
  out.type = static_cast<RegistryType>(static_cast<int>(in.type()));
  switch (in.settings_case()) {
    case v1::RegistryConfig::kGhcr:
      out.settings_type = RegistryType::kGhcr;
      out.owner = in.ghcr().owner();
      out.pull_only = in.ghcr().pull_only();
      break;
    case v1::RegistryConfig::kAcr:
      out.settings_type = RegistryType::kAcr;
      out.login_server = in.acr().login_server();
      out.username = in.acr().username();
      break;
    case v1::RegistryConfig::kDistribution:
      out.settings_type = RegistryType::kDistribution;
      out.url = in.distribution().url();
      out.repository_namespace = in.distribution().repository_namespace();
      out.username = in.distribution().username();
      break;
    case v1::RegistryConfig::kGeneric:
      out.settings_type = RegistryType::kGeneric;
      out.url = in.generic().url();
      out.username = in.generic().username();
      break;
    case v1::RegistryConfig::kGithubApp:
      out.settings_type = RegistryType::kGitHubApp;
      out.app_id = in.github_app().app_id();
      out.installation_id = in.github_app().installation_id();
      out.repositories.assign(in.github_app().repositories().begin(),
                              in.github_app().repositories().end());
      for (const auto& [name, level] : in.github_app().permissions()) {
        out.permissions.emplace_back(name, level);
      }
      break;
    case v1::RegistryConfig::SETTINGS_NOT_SET:
      break;
  }
  out.is_default = in.is_default();
  if (!in.secret().empty()) out.secret = TakeSecret(in.secret());
  return out;
}

// One RPC: authenticates it, and writes one access-log line when it ends (method, request id,
// caller, on-behalf-of user, peer, outcome, latency; never a request field that could be a
// secret).
class CallScope {
 public:
  CallScope(const char* method, grpc::ServerContext* context, const CallAuthenticator& authn)
      : method_(method), start_(absl::Now()) {
    absl::StatusOr<services::RequestContext> ctx =
        authn.Authenticate(context, &request_id_, &peer_);
    if (ctx.ok()) {
      ctx_ = *std::move(ctx);
    } else {
      auth_error_ = ctx.status();
    }
  }
  // A call whose principal is authenticated from the request itself (IssueRegistryToken).
  struct Anonymous {};
  CallScope(const char* method, grpc::ServerContext* context, const CallAuthenticator& authn,
            Anonymous)
      : method_(method),
        start_(absl::Now()),
        ctx_(authn.Anonymous(context, &request_id_, &peer_)) {}

  // The same for a call from the HTTP gateway in this process that bypasses gRPC.
  CallScope(const char* method, const CallAuthenticator& authn, const InProcessCall& call)
      : method_(method),
        start_(absl::Now()),
        ctx_(authn.AnonymousInProcess(call.request_id, call.client_address, &request_id_, &peer_)) {
  }

  bool authenticated() const { return auth_error_.ok(); }
  const absl::Status& auth_error() const { return auth_error_; }
  const services::RequestContext& ctx() const { return ctx_; }
  const std::string& request_id() const { return request_id_; }
  const std::string& peer() const { return peer_; }
  // What the caller claimed, for the record of a refused call (never an API key).
  std::string presented_identity() const { return "unauthenticated"; }

  // The access-log line of every call is the telemetry interceptor's
  // (observability/grpc_telemetry.h); a failed call adds one line with what only the service
  // knows: the error message (secret-free by construction) and the end user acted for.
  grpc::Status Done(grpc::Status status) {
    if (!status.ok()) {
      Log(LogLevel::kWarning, "rpc failed",
          {{"rpc", method_},
           {"request_id", request_id_},
           {"caller", ctx_.caller.identity.empty() ? "-" : ctx_.caller.identity},
           {"user", ctx_.on_behalf_of},
           {"peer", peer_},
           {"status", CodeName(status.error_code())},
           {"duration_ms", absl::ToDoubleMilliseconds(absl::Now() - start_)},
           {"error", status.error_message().substr(0, 300)}});
    }
    return status;
  }

 private:
  static std::string CodeName(grpc::StatusCode code) {
    return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  }

  const char* method_;
  absl::Time start_;
  std::string request_id_;
  std::string peer_;
  services::RequestContext ctx_;
  absl::Status auth_error_;
};

// Declares `scope` and `ctx` at the top of an RPC; returns the authentication error if any.
#define REGAUTH_BEGIN_CALL(context)                                                \
  CallScope scope(__func__, context, authn_);                                      \
  if (!scope.authenticated()) return scope.Done(ToGrpcStatus(scope.auth_error())); \
  const services::RequestContext& ctx = scope.ctx()

}  // namespace

RegistryAuthGrpcService::RegistryAuthGrpcService(services::RegistryAuth& api,
                                                 services::TokenRealm& realm,
                                                 const CallAuthenticator& authn)
    : api_(api), realm_(realm), authn_(authn) {}

// ---- Workspaces ----------------------------------------------------------------------------

grpc::Status RegistryAuthGrpcService::CreateWorkspace(grpc::ServerContext* context,
                                                      const v1::CreateWorkspaceRequest* request,
                                                      v1::Workspace* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<Workspace> w =
      api_.CreateWorkspace(ctx, request->workspace_id(), request->workspace().display_name());
  if (!w.ok()) return scope.Done(ToGrpcStatus(w.status()));
  ToProto(*w, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::GetWorkspace(grpc::ServerContext* context,
                                                   const v1::GetWorkspaceRequest* request,
                                                   v1::Workspace* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<Workspace> w = api_.GetWorkspace(ctx, request->name());
  if (!w.ok()) return scope.Done(ToGrpcStatus(w.status()));
  ToProto(*w, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::ListWorkspaces(grpc::ServerContext* context,
                                                     const v1::ListWorkspacesRequest* request,
                                                     v1::ListWorkspacesResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<services::ListResult<Workspace>> page =
      api_.ListWorkspaces(ctx, request->page_size(), request->page_token());
  if (!page.ok()) return scope.Done(ToGrpcStatus(page.status()));
  for (const Workspace& w : page->items) ToProto(w, response->add_workspaces());
  response->set_next_page_token(page->next_page_token);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::UpdateWorkspace(grpc::ServerContext* context,
                                                      const v1::UpdateWorkspaceRequest* request,
                                                      v1::Workspace* response) {
  REGAUTH_BEGIN_CALL(context);
  const v1::Workspace& in = request->workspace();
  absl::StatusOr<Workspace> w = api_.UpdateWorkspace(
      ctx, in.name(), in.display_name(), ToFieldMask(request->update_mask()), in.etag());
  if (!w.ok()) return scope.Done(ToGrpcStatus(w.status()));
  ToProto(*w, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::DeleteWorkspace(grpc::ServerContext* context,
                                                      const v1::DeleteWorkspaceRequest* request,
                                                      google::protobuf::Empty*) {
  REGAUTH_BEGIN_CALL(context);
  return scope.Done(
      ToGrpcStatus(api_.DeleteWorkspace(ctx, request->name(), request->etag(), request->force())));
}

// ---- Apps ----------------------------------------------------------------------------------

grpc::Status RegistryAuthGrpcService::CreateApp(grpc::ServerContext* context,
                                                const v1::CreateAppRequest* request,
                                                v1::App* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<App> a =
      api_.CreateApp(ctx, request->parent(), request->app_id(), request->app().display_name(),
                     request->app().registry_config(), request->app().public_pull());
  if (!a.ok()) return scope.Done(ToGrpcStatus(a.status()));
  ToProto(*a, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::GetApp(grpc::ServerContext* context,
                                             const v1::GetAppRequest* request, v1::App* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<App> a = api_.GetApp(ctx, request->name());
  if (!a.ok()) return scope.Done(ToGrpcStatus(a.status()));
  ToProto(*a, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::ListApps(grpc::ServerContext* context,
                                               const v1::ListAppsRequest* request,
                                               v1::ListAppsResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<services::ListResult<App>> page =
      api_.ListApps(ctx, request->parent(), request->page_size(), request->page_token());
  if (!page.ok()) return scope.Done(ToGrpcStatus(page.status()));
  for (const App& a : page->items) ToProto(a, response->add_apps());
  response->set_next_page_token(page->next_page_token);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::UpdateApp(grpc::ServerContext* context,
                                                const v1::UpdateAppRequest* request,
                                                v1::App* response) {
  REGAUTH_BEGIN_CALL(context);
  const v1::App& in = request->app();
  absl::StatusOr<App> a =
      api_.UpdateApp(ctx, in.name(), in.display_name(), in.registry_config(),
                     ToFieldMask(request->update_mask()), in.etag(), in.public_pull());
  if (!a.ok()) return scope.Done(ToGrpcStatus(a.status()));
  ToProto(*a, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::DeleteApp(grpc::ServerContext* context,
                                                const v1::DeleteAppRequest* request,
                                                google::protobuf::Empty*) {
  REGAUTH_BEGIN_CALL(context);
  return scope.Done(ToGrpcStatus(api_.DeleteApp(ctx, request->name(), request->etag())));
}

// ---- Registry configurations -------------------------------------------------------------

grpc::Status RegistryAuthGrpcService::CreateRegistryConfig(
    grpc::ServerContext* context, const v1::CreateRegistryConfigRequest* request,
    v1::RegistryConfig* response) {
  REGAUTH_BEGIN_CALL(context);
  RegistryConfigInput input;
  if (request->has_registry_config()) input = ToInput(request->registry_config());
  absl::StatusOr<RegistryConfig> c =
      api_.CreateRegistryConfig(ctx, request->parent(), request->registry_id(), std::move(input));
  if (!c.ok()) return scope.Done(ToGrpcStatus(c.status()));
  ToProto(*c, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::GetRegistryConfig(grpc::ServerContext* context,
                                                        const v1::GetRegistryConfigRequest* request,
                                                        v1::RegistryConfig* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<RegistryConfig> c = api_.GetRegistryConfig(ctx, request->name());
  if (!c.ok()) return scope.Done(ToGrpcStatus(c.status()));
  ToProto(*c, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::ListRegistryConfigs(
    grpc::ServerContext* context, const v1::ListRegistryConfigsRequest* request,
    v1::ListRegistryConfigsResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<services::ListResult<RegistryConfig>> page =
      api_.ListRegistryConfigs(ctx, request->parent(), request->page_size(), request->page_token());
  if (!page.ok()) return scope.Done(ToGrpcStatus(page.status()));
  for (const RegistryConfig& c : page->items) ToProto(c, response->add_registry_configs());
  response->set_next_page_token(page->next_page_token);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::UpdateRegistryConfig(
    grpc::ServerContext* context, const v1::UpdateRegistryConfigRequest* request,
    v1::RegistryConfig* response) {
  REGAUTH_BEGIN_CALL(context);
  RegistryConfigInput input;
  if (request->has_registry_config()) input = ToInput(request->registry_config());
  const v1::RegistryConfig& in = request->registry_config();
  absl::StatusOr<RegistryConfig> c = api_.UpdateRegistryConfig(
      ctx, in.name(), std::move(input), ToFieldMask(request->update_mask()), in.etag());
  if (!c.ok()) return scope.Done(ToGrpcStatus(c.status()));
  ToProto(*c, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::DeleteRegistryConfig(
    grpc::ServerContext* context, const v1::DeleteRegistryConfigRequest* request,
    google::protobuf::Empty*) {
  REGAUTH_BEGIN_CALL(context);
  return scope.Done(ToGrpcStatus(api_.DeleteRegistryConfig(ctx, request->name(), request->etag())));
}

// ---- Members -------------------------------------------------------------------------------

grpc::Status RegistryAuthGrpcService::CreateMember(grpc::ServerContext* context,
                                                   const v1::CreateMemberRequest* request,
                                                   v1::Member* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<Member> m =
      api_.CreateMember(ctx, request->parent(), request->member_id(),
                        static_cast<MemberRole>(static_cast<int>(request->member().role())),
                        static_cast<MemberStatus>(static_cast<int>(request->member().status())));
  if (!m.ok()) return scope.Done(ToGrpcStatus(m.status()));
  ToProto(*m, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::GetMember(grpc::ServerContext* context,
                                                const v1::GetMemberRequest* request,
                                                v1::Member* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<Member> m = api_.GetMember(ctx, request->name());
  if (!m.ok()) return scope.Done(ToGrpcStatus(m.status()));
  ToProto(*m, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::ListMembers(grpc::ServerContext* context,
                                                  const v1::ListMembersRequest* request,
                                                  v1::ListMembersResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<services::ListResult<Member>> page =
      api_.ListMembers(ctx, request->parent(), request->page_size(), request->page_token());
  if (!page.ok()) return scope.Done(ToGrpcStatus(page.status()));
  for (const Member& m : page->items) ToProto(m, response->add_members());
  response->set_next_page_token(page->next_page_token);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::UpdateMember(grpc::ServerContext* context,
                                                   const v1::UpdateMemberRequest* request,
                                                   v1::Member* response) {
  REGAUTH_BEGIN_CALL(context);
  const v1::Member& in = request->member();
  absl::StatusOr<Member> m =
      api_.UpdateMember(ctx, in.name(), static_cast<MemberRole>(static_cast<int>(in.role())),
                        static_cast<MemberStatus>(static_cast<int>(in.status())),
                        ToFieldMask(request->update_mask()), in.etag());
  if (!m.ok()) return scope.Done(ToGrpcStatus(m.status()));
  ToProto(*m, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::DeleteMember(grpc::ServerContext* context,
                                                   const v1::DeleteMemberRequest* request,
                                                   google::protobuf::Empty*) {
  REGAUTH_BEGIN_CALL(context);
  return scope.Done(ToGrpcStatus(api_.DeleteMember(ctx, request->name(), request->etag())));
}

// ---- Credentials, tokens, connection tests ------------------------------------------------

grpc::Status RegistryAuthGrpcService::GetCredentials(grpc::ServerContext* context,
                                                     const v1::GetCredentialsRequest* request,
                                                     v1::GetCredentialsResponse* response) {
  CallScope scope(__func__, context, authn_);
  if (!scope.authenticated()) {
    // Refused callers are on record too.
    api_.RecordRejected(scope.presented_identity(), "GetCredentials", request->name(),
                        scope.auth_error(), scope.request_id(), scope.peer());
    return scope.Done(ToGrpcStatus(scope.auth_error()));
  }
  // The client's deadline (for GITHUB_APP tokens from GitHub), less a margin to answer in.
  const absl::Time deadline = absl::FromChrono(context->deadline()) - absl::Milliseconds(200);
  // Checked (and a refusal audited) by the domain: patterns, their count, the ttl's range.
  services::CredentialNarrowing narrowing;
  if (request->has_narrowing()) {
    const v1::CredentialNarrowing& n = request->narrowing();
    narrowing.repositories.assign(n.repositories().begin(), n.repositories().end());
    if (n.has_ttl()) {
      narrowing.ttl = absl::Seconds(n.ttl().seconds()) + absl::Nanoseconds(n.ttl().nanos());
    }
  }
  absl::StatusOr<services::Credentials> c =
      api_.GetCredentials(scope.ctx(), request->name(), deadline, narrowing);
  if (!c.ok()) return scope.Done(ToGrpcStatus(c.status()));
  response->set_registry_host(c->registry_host);
  response->set_username(c->username);
  response->set_secret(std::string(c->secret.view()));
  response->set_repository_namespace(c->repository_namespace);
  response->set_type(static_cast<v1::RegistryType>(static_cast<int>(c->type)));
  if (c->expire_time.has_value()) {
    SetTime(*c->expire_time, [&] { return response->mutable_expire_time(); });
  }
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::MintPullToken(grpc::ServerContext* context,
                                                    const v1::MintPullTokenRequest* request,
                                                    v1::MintPullTokenResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::Duration ttl = absl::ZeroDuration();
  if (request->has_ttl()) {
    const google::protobuf::Duration& d = request->ttl();
    if (d.seconds() < 0 || d.nanos() < 0 || d.seconds() > 10LL * 365 * 24 * 3600) {
      return scope.Done(ToGrpcStatus(
          absl::InvalidArgumentError("ttl: must be a non-negative duration of at most 10 years")));
    }
    ttl = absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
  }
  absl::StatusOr<services::MintedPullToken> m = realm_.MintPullToken(ctx, request->app(), ttl);
  if (!m.ok()) return scope.Done(ToGrpcStatus(m.status()));
  response->set_username(m->username);
  response->set_password(std::string(m->password.view()));
  response->set_registry(m->registry);
  SetTime(m->token.expire_time, [&] { return response->mutable_expire_time(); });
  response->set_token_id(m->token.id);
  response->set_name(services::FormatPullTokenName(m->token.workspace_id, m->token.id));
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::TestConnection(grpc::ServerContext* context,
                                                     const v1::TestConnectionRequest* request,
                                                     v1::TestConnectionResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  // The client's deadline (gRPC's "none" is far in the future), less a margin to answer in.
  const absl::Time deadline = absl::FromChrono(context->deadline()) - absl::Milliseconds(200);
  absl::StatusOr<services::RegistryAuth::TestConnectionOutcome> out =
      api_.TestConnection(ctx, request->name(), deadline);
  if (!out.ok()) return scope.Done(ToGrpcStatus(out.status()));
  const services::ConnectionTestResult& test = out->test;
  response->set_result(static_cast<v1::ValidationStatus>(static_cast<int>(test.status)));
  for (const services::ConnectionCheckStep& step : test.steps) {
    v1::TestConnectionResponse::Step* s = response->add_steps();
    s->set_name(step.name);
    s->set_ok(step.ok);
    const absl::Duration d = std::max(step.duration, absl::ZeroDuration());
    const int64_t seconds = absl::ToInt64Seconds(d);
    s->mutable_duration()->set_seconds(seconds);
    s->mutable_duration()->set_nanos(
        static_cast<int32_t>(absl::ToInt64Nanoseconds(d - absl::Seconds(seconds))));
    s->set_detail(step.detail);
  }
  if (test.status != ValidationStatus::kValid) {
    ToProto(test.failure, response->mutable_error());
  }
  for (const std::string& w : test.warnings) response->add_warnings(w);
  if (test.credential_expires_at.has_value()) {
    SetTime(*test.credential_expires_at,
            [&] { return response->mutable_credential_expire_time(); });
  }
  response->set_credentials_verified(test.credentials_verified);
  response->set_recorded(out->recorded);
  return scope.Done(grpc::Status::OK);
}

// ---- Audit trail ------------------------------------------------------------------------------

grpc::Status RegistryAuthGrpcService::ListAuditEvents(grpc::ServerContext* context,
                                                      const v1::ListAuditEventsRequest* request,
                                                      v1::ListAuditEventsResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  AuditFilter filter;
  filter.resource = request->resource();
  filter.caller = request->caller();
  if (request->has_start_time()) filter.start_time = FromProto(request->start_time());
  if (request->has_end_time()) filter.end_time = FromProto(request->end_time());
  absl::StatusOr<services::ListResult<AuditEvent>> page =
      api_.ListAuditEvents(ctx, filter, request->page_size(), request->page_token());
  if (!page.ok()) return scope.Done(ToGrpcStatus(page.status()));
  for (const AuditEvent& e : page->items) ToProto(e, response->add_audit_events());
  response->set_next_page_token(page->next_page_token);
  return scope.Done(grpc::Status::OK);
}

// ---- Registry events --------------------------------------------------------------------------

namespace {

void ToProto(const RegistryEvent& e, v1::RegistryEvent* out) {
  out->set_event_id(e.event_id);
  SetTime(e.event_time, [&] { return out->mutable_event_time(); });
  SetTime(e.receive_time, [&] { return out->mutable_receive_time(); });
  out->set_action(e.action);
  out->set_repository(e.repository);
  out->set_digest(e.digest);
  out->set_tag(e.tag);
  out->set_media_type(e.media_type);
  out->set_size(e.size);
  v1::RegistryEventActor* actor = out->mutable_actor();
  actor->set_name(e.actor);
  // RegistryEventActorKind and v1::PrincipalKind share their numbers (model.h, the proto).
  const int kind = static_cast<int>(e.actor_kind);
  actor->set_kind(v1::PrincipalKind_IsValid(kind) ? static_cast<v1::PrincipalKind>(kind)
                                                  : v1::PRINCIPAL_KIND_UNSPECIFIED);
  actor->set_principal(services::PrincipalOfActor(e.actor, e.workspace_id));
  out->set_request_addr(e.request_addr);
  out->set_request_method(e.request_method);
  out->set_user_agent(e.user_agent);
}

}  // namespace

grpc::Status RegistryAuthGrpcService::ListRegistryEvents(
    grpc::ServerContext* context, const v1::ListRegistryEventsRequest* request,
    v1::ListRegistryEventsResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  RegistryEventFilter filter;
  filter.repository = request->repository();
  filter.tag = request->tag();
  filter.digest = request->digest();
  filter.action = request->action();
  filter.actor = request->actor();
  if (request->has_start_time()) filter.start_time = FromProto(request->start_time());
  if (request->has_end_time()) filter.end_time = FromProto(request->end_time());
  absl::StatusOr<services::ListResult<RegistryEvent>> page = api_.ListRegistryEvents(
      ctx, request->parent(), filter, request->page_size(), request->page_token());
  if (!page.ok()) return scope.Done(ToGrpcStatus(page.status()));
  for (const RegistryEvent& e : page->items) ToProto(e, response->add_registry_events());
  response->set_next_page_token(page->next_page_token);
  return scope.Done(grpc::Status::OK);
}

// ---- Token realm ------------------------------------------------------------------------------

namespace {

void ToProto(const PullToken& t, v1::PullToken* out) {
  out->set_name(services::FormatPullTokenName(t.workspace_id, t.id));
  out->set_app(services::FormatAppName(t.workspace_id, t.app_id));
  out->set_repository(t.repository);
  out->set_created_by(t.created_by);
  SetTime(t.create_time, [&] { return out->mutable_create_time(); });
  SetTime(t.expire_time, [&] { return out->mutable_expire_time(); });
  SetTime(t.revoke_time, [&] { return out->mutable_revoke_time(); });
}

void ToProto(const RefreshToken& t, v1::RefreshToken* out) {
  out->set_name(services::FormatRefreshTokenName(t.workspace_id, t.id));
  out->set_subject(t.subject);
  out->set_service(t.service);
  out->set_client_id(t.client_id);
  SetTime(t.create_time, [&] { return out->mutable_create_time(); });
  SetTime(t.expire_time, [&] { return out->mutable_expire_time(); });
  SetTime(t.last_used_time, [&] { return out->mutable_last_used_time(); });
  SetTime(t.revoke_time, [&] { return out->mutable_revoke_time(); });
}

void ToProto(const ServiceAccount& a, v1::ServiceAccount* out) {
  out->set_name(services::FormatServiceAccountName(a.workspace_id, a.id));
  out->set_display_name(a.display_name);
  for (const RepositoryGrant& g : a.grants) {
    v1::RepositoryGrant* pg = out->add_grants();
    pg->set_repository(g.repository_pattern);
    for (const std::string& action : g.actions) pg->add_actions(action);
  }
  out->set_disabled(!a.enabled);
  SetTime(a.expire_time, [&] { return out->mutable_expire_time(); });
  out->set_username(services::ServiceAccountUsername(a.workspace_id, a.id));
  SetTime(a.secret_rotate_time, [&] { return out->mutable_secret_rotate_time(); });
  SetTime(a.last_used_time, [&] { return out->mutable_last_used_time(); });
  SetTime(a.create_time, [&] { return out->mutable_create_time(); });
  SetTime(a.update_time, [&] { return out->mutable_update_time(); });
  out->set_etag(RegistryService::EtagOf(a.version));
  out->set_uid(a.uid);
}

void ToProto(const services::ServiceAccountWithSecret& a, v1::ServiceAccountCredentials* out) {
  ToProto(a.account, out->mutable_service_account());
  out->set_username(a.username);
  out->set_secret(std::string(a.secret.view()));
}

services::ServiceAccountInput ToInput(const v1::ServiceAccount& in) {
  services::ServiceAccountInput out;
  out.display_name = in.display_name();
  for (const v1::RepositoryGrant& g : in.grants()) {
    out.grants.push_back({g.repository(), {g.actions().begin(), g.actions().end()}});
  }
  out.enabled = !in.disabled();
  if (in.has_expire_time()) out.expire_time = FromProto(in.expire_time());
  return out;
}

}  // namespace

grpc::Status RegistryAuthGrpcService::RevokePullToken(grpc::ServerContext* context,
                                                      const v1::RevokePullTokenRequest* request,
                                                      v1::PullToken* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<PullToken> t = realm_.RevokePullToken(ctx, request->name());
  if (!t.ok()) return scope.Done(ToGrpcStatus(t.status()));
  ToProto(*t, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::RevokePullTokens(grpc::ServerContext* context,
                                                       const v1::RevokePullTokensRequest* request,
                                                       v1::RevokePullTokensResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<int64_t> n = realm_.RevokePullTokens(ctx, request->app());
  if (!n.ok()) return scope.Done(ToGrpcStatus(n.status()));
  response->set_revoked_count(*n);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::ListPullTokens(grpc::ServerContext* context,
                                                     const v1::ListPullTokensRequest* request,
                                                     v1::ListPullTokensResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<std::vector<PullToken>> tokens =
      realm_.ListPullTokens(ctx, request->parent(), request->page_size());
  if (!tokens.ok()) return scope.Done(ToGrpcStatus(tokens.status()));
  for (const PullToken& t : *tokens) ToProto(t, response->add_pull_tokens());
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::CreateServiceAccount(
    grpc::ServerContext* context, const v1::CreateServiceAccountRequest* request,
    v1::ServiceAccountCredentials* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<services::ServiceAccountWithSecret> a = realm_.CreateServiceAccount(
      ctx, request->parent(), request->service_account_id(), ToInput(request->service_account()));
  if (!a.ok()) return scope.Done(ToGrpcStatus(a.status()));
  ToProto(*a, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::GetServiceAccount(grpc::ServerContext* context,
                                                        const v1::GetServiceAccountRequest* request,
                                                        v1::ServiceAccount* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<ServiceAccount> a = realm_.GetServiceAccount(ctx, request->name());
  if (!a.ok()) return scope.Done(ToGrpcStatus(a.status()));
  ToProto(*a, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::ListServiceAccounts(
    grpc::ServerContext* context, const v1::ListServiceAccountsRequest* request,
    v1::ListServiceAccountsResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<services::ListResult<ServiceAccount>> page = realm_.ListServiceAccounts(
      ctx, request->parent(), request->page_size(), request->page_token());
  if (!page.ok()) return scope.Done(ToGrpcStatus(page.status()));
  for (const ServiceAccount& a : page->items) ToProto(a, response->add_service_accounts());
  response->set_next_page_token(page->next_page_token);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::UpdateServiceAccount(
    grpc::ServerContext* context, const v1::UpdateServiceAccountRequest* request,
    v1::ServiceAccount* response) {
  REGAUTH_BEGIN_CALL(context);
  const v1::ServiceAccount& in = request->service_account();
  absl::StatusOr<ServiceAccount> a = realm_.UpdateServiceAccount(
      ctx, in.name(), ToInput(in), ToFieldMask(request->update_mask()), in.etag());
  if (!a.ok()) return scope.Done(ToGrpcStatus(a.status()));
  ToProto(*a, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::DeleteServiceAccount(
    grpc::ServerContext* context, const v1::DeleteServiceAccountRequest* request,
    google::protobuf::Empty*) {
  REGAUTH_BEGIN_CALL(context);
  return scope.Done(
      ToGrpcStatus(realm_.DeleteServiceAccount(ctx, request->name(), request->etag())));
}

grpc::Status RegistryAuthGrpcService::RegenerateServiceAccountSecret(
    grpc::ServerContext* context, const v1::RegenerateServiceAccountSecretRequest* request,
    v1::ServiceAccountCredentials* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<services::ServiceAccountWithSecret> a =
      realm_.RegenerateServiceAccountSecret(ctx, request->name(), request->etag());
  if (!a.ok()) return scope.Done(ToGrpcStatus(a.status()));
  ToProto(*a, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::ListRefreshTokens(grpc::ServerContext* context,
                                                        const v1::ListRefreshTokensRequest* request,
                                                        v1::ListRefreshTokensResponse* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<std::vector<RefreshToken>> tokens =
      realm_.ListRefreshTokens(ctx, request->parent(), request->subject(), request->page_size());
  if (!tokens.ok()) return scope.Done(ToGrpcStatus(tokens.status()));
  for (const RefreshToken& t : *tokens) ToProto(t, response->add_refresh_tokens());
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::RevokeRefreshToken(
    grpc::ServerContext* context, const v1::RevokeRefreshTokenRequest* request,
    v1::RefreshToken* response) {
  REGAUTH_BEGIN_CALL(context);
  absl::StatusOr<RefreshToken> t = realm_.RevokeRefreshToken(ctx, request->name());
  if (!t.ok()) return scope.Done(ToGrpcStatus(t.status()));
  ToProto(*t, response);
  return scope.Done(grpc::Status::OK);
}

grpc::Status RegistryAuthGrpcService::IssueRegistryToken(
    grpc::ServerContext* context, const v1::IssueRegistryTokenRequest* request,
    v1::IssueRegistryTokenResponse* response) {
  CallScope scope(__func__, context, authn_, CallScope::Anonymous{});
  return scope.Done(IssueRegistryTokenFor(scope.ctx(), *request, response));
}

grpc::Status RegistryAuthGrpcService::IssueRegistryTokenInProcess(
    const InProcessCall& call, v1::IssueRegistryTokenRequest& request,
    v1::IssueRegistryTokenResponse* response, std::string* request_id) {
  CallScope scope("IssueRegistryToken", authn_, call);
  *request_id = scope.request_id();
  return scope.Done(IssueRegistryTokenFor(scope.ctx(), request, response));
}

grpc::Status RegistryAuthGrpcService::IssueRegistryTokenFor(
    const services::RequestContext& ctx, const v1::IssueRegistryTokenRequest& request,
    v1::IssueRegistryTokenResponse* response) {
  services::TokenRequest r;
  switch (request.grant_type()) {
    case v1::IssueRegistryTokenRequest::PASSWORD:
      r.grant_type = services::TokenGrantType::kPassword;
      break;
    case v1::IssueRegistryTokenRequest::REFRESH_TOKEN:
      r.grant_type = services::TokenGrantType::kRefreshToken;
      break;
    case v1::IssueRegistryTokenRequest::GRANT_TYPE_UNSPECIFIED:
      r.grant_type = services::TokenGrantType::kGet;
      break;
    default:
      return ToGrpcStatus(absl::InvalidArgumentError("grant_type: unknown value"));
  }
  r.service = request.service();
  r.scopes.assign(request.scopes().begin(), request.scopes().end());
  r.account = request.account();
  r.client_id = request.client_id();
  r.offline = request.offline_token();
  r.username = request.username();
  r.password = TakeSecret(request.password());
  r.refresh_token = TakeSecret(request.refresh_token());
  absl::StatusOr<services::IssuedToken> t = realm_.IssueToken(ctx, r);
  if (!t.ok()) return ToGrpcStatus(t.status());
  response->set_token(t->token);
  response->set_expires_in(absl::ToInt64Seconds(t->expires_in));
  SetTime(t->issued_at, [&] { return response->mutable_issued_at(); });
  response->set_refresh_token(std::string(t->refresh_token.view()));
  for (const std::string& granted : t->granted_scopes) response->add_granted_scopes(granted);
  return grpc::Status::OK;
}

}  // namespace registryauth::api
