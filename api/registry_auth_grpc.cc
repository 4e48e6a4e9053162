#include "api/registry_auth_grpc.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/status_conversion.h"
#include "common/secret.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/names.h"
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
  SetTime(c.create_time, [&] { return out->mutable_create_time(); });
  SetTime(c.update_time, [&] { return out->mutable_update_time(); });
  out->set_etag(RegistryService::EtagOf(c.version));
}

// ---- proto -> domain

FieldMask ToFieldMask(const google::protobuf::FieldMask& mask) {
  return FieldMask(mask.paths().begin(), mask.paths().end());
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
    case v1::RegistryConfig::SETTINGS_NOT_SET:
      break;
  }
  out.is_default = in.is_default();
  if (!in.secret().empty()) {
    out.secret = SecretString(in.secret());
    // The request message is a non-const heap object owned by gRPC; only its handle is const.
    WipeString(*const_cast<v1::RegistryConfig&>(in).mutable_secret());
  }
  return out;
}

grpc::Status Unimplemented(const char* rpc, const char* feature) {
  return grpc::Status(
      grpc::StatusCode::UNIMPLEMENTED,
      std::string(rpc) + " is not implemented in this version; " + feature + " will serve it");
}

}  // namespace

RegistryAuthGrpcService::RegistryAuthGrpcService(services::RegistryService& service)
    : service_(service) {}

// ---- Workspaces ----------------------------------------------------------------------------

grpc::Status RegistryAuthGrpcService::CreateWorkspace(grpc::ServerContext*,
                                                      const v1::CreateWorkspaceRequest* request,
                                                      v1::Workspace* response) {
  absl::StatusOr<Workspace> w =
      service_.CreateWorkspace(request->workspace_id(), request->workspace().display_name());
  if (!w.ok()) return ToGrpcStatus(w.status());
  ToProto(*w, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::GetWorkspace(grpc::ServerContext*,
                                                   const v1::GetWorkspaceRequest* request,
                                                   v1::Workspace* response) {
  absl::StatusOr<Workspace> w = service_.GetWorkspace(request->name());
  if (!w.ok()) return ToGrpcStatus(w.status());
  ToProto(*w, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::ListWorkspaces(grpc::ServerContext*,
                                                     const v1::ListWorkspacesRequest* request,
                                                     v1::ListWorkspacesResponse* response) {
  absl::StatusOr<services::ListResult<Workspace>> page =
      service_.ListWorkspaces(request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const Workspace& w : page->items) ToProto(w, response->add_workspaces());
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::UpdateWorkspace(grpc::ServerContext*,
                                                      const v1::UpdateWorkspaceRequest* request,
                                                      v1::Workspace* response) {
  const v1::Workspace& in = request->workspace();
  absl::StatusOr<Workspace> w = service_.UpdateWorkspace(
      in.name(), in.display_name(), ToFieldMask(request->update_mask()), in.etag());
  if (!w.ok()) return ToGrpcStatus(w.status());
  ToProto(*w, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::DeleteWorkspace(grpc::ServerContext*,
                                                      const v1::DeleteWorkspaceRequest* request,
                                                      google::protobuf::Empty*) {
  return ToGrpcStatus(service_.DeleteWorkspace(request->name(), request->etag(), request->force()));
}

// ---- Apps ----------------------------------------------------------------------------------

grpc::Status RegistryAuthGrpcService::CreateApp(grpc::ServerContext*,
                                                const v1::CreateAppRequest* request,
                                                v1::App* response) {
  absl::StatusOr<App> a =
      service_.CreateApp(request->parent(), request->app_id(), request->app().display_name(),
                         request->app().registry_config());
  if (!a.ok()) return ToGrpcStatus(a.status());
  ToProto(*a, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::GetApp(grpc::ServerContext*, const v1::GetAppRequest* request,
                                             v1::App* response) {
  absl::StatusOr<App> a = service_.GetApp(request->name());
  if (!a.ok()) return ToGrpcStatus(a.status());
  ToProto(*a, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::ListApps(grpc::ServerContext*,
                                               const v1::ListAppsRequest* request,
                                               v1::ListAppsResponse* response) {
  absl::StatusOr<services::ListResult<App>> page =
      service_.ListApps(request->parent(), request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const App& a : page->items) ToProto(a, response->add_apps());
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::UpdateApp(grpc::ServerContext*,
                                                const v1::UpdateAppRequest* request,
                                                v1::App* response) {
  const v1::App& in = request->app();
  absl::StatusOr<App> a = service_.UpdateApp(in.name(), in.display_name(), in.registry_config(),
                                             ToFieldMask(request->update_mask()), in.etag());
  if (!a.ok()) return ToGrpcStatus(a.status());
  ToProto(*a, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::DeleteApp(grpc::ServerContext*,
                                                const v1::DeleteAppRequest* request,
                                                google::protobuf::Empty*) {
  return ToGrpcStatus(service_.DeleteApp(request->name(), request->etag()));
}

// ---- Registry configurations -------------------------------------------------------------

grpc::Status RegistryAuthGrpcService::CreateRegistryConfig(
    grpc::ServerContext*, const v1::CreateRegistryConfigRequest* request,
    v1::RegistryConfig* response) {
  RegistryConfigInput input;
  if (request->has_registry_config()) input = ToInput(request->registry_config());
  absl::StatusOr<RegistryConfig> c =
      service_.CreateRegistryConfig(request->parent(), request->registry_id(), std::move(input));
  if (!c.ok()) return ToGrpcStatus(c.status());
  ToProto(*c, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::GetRegistryConfig(grpc::ServerContext*,
                                                        const v1::GetRegistryConfigRequest* request,
                                                        v1::RegistryConfig* response) {
  absl::StatusOr<RegistryConfig> c = service_.GetRegistryConfig(request->name());
  if (!c.ok()) return ToGrpcStatus(c.status());
  ToProto(*c, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::ListRegistryConfigs(
    grpc::ServerContext*, const v1::ListRegistryConfigsRequest* request,
    v1::ListRegistryConfigsResponse* response) {
  absl::StatusOr<services::ListResult<RegistryConfig>> page =
      service_.ListRegistryConfigs(request->parent(), request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (const RegistryConfig& c : page->items) ToProto(c, response->add_registry_configs());
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::UpdateRegistryConfig(
    grpc::ServerContext*, const v1::UpdateRegistryConfigRequest* request,
    v1::RegistryConfig* response) {
  RegistryConfigInput input;
  if (request->has_registry_config()) input = ToInput(request->registry_config());
  const v1::RegistryConfig& in = request->registry_config();
  absl::StatusOr<RegistryConfig> c = service_.UpdateRegistryConfig(
      in.name(), std::move(input), ToFieldMask(request->update_mask()), in.etag());
  if (!c.ok()) return ToGrpcStatus(c.status());
  ToProto(*c, response);
  return grpc::Status::OK;
}

grpc::Status RegistryAuthGrpcService::DeleteRegistryConfig(
    grpc::ServerContext*, const v1::DeleteRegistryConfigRequest* request,
    google::protobuf::Empty*) {
  return ToGrpcStatus(service_.DeleteRegistryConfig(request->name(), request->etag()));
}

// ---- Not served by this version --------------------------------------------------------

grpc::Status RegistryAuthGrpcService::MintPullToken(grpc::ServerContext*,
                                                    const v1::MintPullTokenRequest*,
                                                    v1::MintPullTokenResponse*) {
  return Unimplemented("MintPullToken",
                       "the pull-token issuer (short-lived, app-scoped "
                       "registry tokens)");
}

grpc::Status RegistryAuthGrpcService::GetCredentials(grpc::ServerContext*,
                                                     const v1::GetCredentialsRequest*,
                                                     v1::GetCredentialsResponse*) {
  return Unimplemented("GetCredentials", "the audited credential release for build workers");
}

grpc::Status RegistryAuthGrpcService::TestConnection(grpc::ServerContext*,
                                                     const v1::TestConnectionRequest*,
                                                     v1::TestConnectionResponse*) {
  return Unimplemented("TestConnection", "the registry connection probe (GHCR / Docker v2)");
}

}  // namespace registryauth::api
