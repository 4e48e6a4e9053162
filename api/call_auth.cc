#include "api/call_auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "api/peer_identity.h"
#include "common/secret.h"
#include "services/names.h"

namespace registryauth::api {
namespace {

constexpr char kRequestIdHeader[] = "x-request-id";
constexpr char kUserHeader[] = "x-registryauth-user";
constexpr char kForwardedForHeader[] = "x-forwarded-for";

std::optional<std::string> OneMetadata(const grpc::ServerContext& context, const char* key) {
  return SingleMetadataValue(context.client_metadata(), key);
}

bool UsableRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// 16 random bytes per id, drawn from a per-thread buffer that one RAND_bytes call refills
// every 16 ids (issue 20: a call into OpenSSL's locked generator per request cost more than the
// rest of the id). Request ids are not secrets, but they stay unpredictable, so they reveal
// nothing about the replica's traffic.
bool NextRequestIdBytes(unsigned char* out, size_t n) {
  thread_local unsigned char buffer[256];
  thread_local size_t used = sizeof(buffer);
  if (used + n > sizeof(buffer)) {
    if (RAND_bytes(buffer, sizeof(buffer)) != 1) return false;
    used = 0;
  }
  std::memcpy(out, buffer + used, n);
  OPENSSL_cleanse(buffer + used, n);
  used += n;
  return true;
}

std::string NewRequestId() {
  unsigned char bytes[16];
  if (!NextRequestIdBytes(bytes, sizeof(bytes))) {
    // Request ids are not secrets; a fallback only has to be unique enough to trace a call.
    static std::atomic<uint64_t> counter{0};
    return absl::StrCat("req-", counter.fetch_add(1));
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

}  // namespace

CallAuthenticator::CallAuthenticator(const auth::PolicyHolder& policy, bool allow_unauthenticated)
    : policy_(policy), allow_unauthenticated_(allow_unauthenticated) {}

auth::Principal CallAuthenticator::DevPrincipal() {
  auth::Principal p;
  p.name = "dev";
  p.identity = "dev:unauthenticated";
  p.method = auth::AuthMethod::kDevUnauthenticated;
  p.permissions = {auth::Permission::kCredentialsRead, auth::Permission::kTokensMint,
                   auth::Permission::kRegistriesRead, auth::Permission::kRegistriesManage,
                   auth::Permission::kActAsUser};
  return p;
}

services::RequestContext CallAuthenticator::Anonymous(grpc::ServerContext* context,
                                                      std::string* request_id,
                                                      std::string* peer) const {
  std::optional<std::string> sent_id = OneMetadata(*context, kRequestIdHeader);
  std::string transport_peer = context->peer();
  std::optional<std::string> forwarded;
  // In-process calls have no network peer: gRPC reports "unknown" (older versions "inproc...").
  // Only the HTTP gateway reaches the server in-process; it says who its client was.
  if (transport_peer == "unknown" || transport_peer.rfind("inproc", 0) == 0) {
    forwarded = OneMetadata(*context, kForwardedForHeader);
  }
  services::RequestContext ctx =
      AnonymousContext(sent_id.value_or(""), std::move(transport_peer), forwarded.value_or(""));
  context->AddInitialMetadata(kRequestIdHeader, ctx.request_id);
  *request_id = ctx.request_id;
  *peer = ctx.peer;
  return ctx;
}

services::RequestContext CallAuthenticator::AnonymousInProcess(std::string_view sent_request_id,
                                                               std::string_view client_address,
                                                               std::string* request_id,
                                                               std::string* peer) const {
  services::RequestContext ctx = AnonymousContext(sent_request_id, "in-process", client_address);
  *request_id = ctx.request_id;
  *peer = ctx.peer;
  return ctx;
}

services::RequestContext CallAuthenticator::AnonymousContext(std::string_view sent_request_id,
                                                             std::string transport_peer,
                                                             std::string_view client_address) {
  services::RequestContext ctx;
  const std::string sent(sent_request_id);
  ctx.request_id = UsableRequestId(sent) ? sent : NewRequestId();
  ctx.peer = std::move(transport_peer);
  if (!client_address.empty() && client_address.size() <= 128) {
    ctx.peer = "http:" + std::string(client_address);
  }
  return ctx;
}

absl::StatusOr<services::RequestContext> CallAuthenticator::Authenticate(
    grpc::ServerContext* context, std::string* request_id, std::string* peer) const {
  services::RequestContext ctx = Anonymous(context, request_id, peer);

  std::shared_ptr<const auth::CallerPolicy> policy = policy_.Get();
  std::shared_ptr<const grpc::AuthContext> auth_context = context->auth_context();
  std::optional<std::string> cert_identity =
      auth_context != nullptr ? CertificateIdentity(*auth_context) : std::nullopt;
  if (cert_identity.has_value()) {
    std::optional<auth::Principal> p =
        policy != nullptr ? policy->FindByIdentity(*cert_identity) : std::nullopt;
    if (!p.has_value()) {
      return absl::UnauthenticatedError(
          absl::StrCat("unknown caller identity ", cert_identity->substr(0, 256)));
    }
    p->method = auth::AuthMethod::kMtls;
    ctx.caller = *std::move(p);
  } else if (std::optional<SecretString> key = ApiKeyFromMetadata(context->client_metadata());
             key.has_value()) {
    std::optional<auth::Principal> p =
        policy != nullptr ? policy->FindByApiKey(key->view()) : std::nullopt;
    if (!p.has_value()) return absl::UnauthenticatedError("invalid API key");
    ctx.caller = *std::move(p);
  } else if (context->client_metadata().count("x-api-key") > 0 ||
             context->client_metadata().count("authorization") > 0) {
    return absl::UnauthenticatedError("malformed API key");
  } else if (allow_unauthenticated_) {
    ctx.caller = DevPrincipal();
  } else {
    return absl::UnauthenticatedError(
        "no credentials: present a client certificate or an API key (x-api-key)");
  }

  if (std::optional<std::string> user = OneMetadata(*context, kUserHeader); user.has_value()) {
    if (!services::IsValidUserId(*user)) {
      return absl::InvalidArgumentError(
          "x-registryauth-user: must be 1..256 printable ASCII characters without space or '/'");
    }
    ctx.on_behalf_of = *std::move(user);
  }
  return ctx;
}

CallAuthenticator::CallerForTelemetry CallAuthenticator::IdentifyForTelemetry(
    const grpc::ServerContextBase& context) const {
  CallerForTelemetry out;
  std::shared_ptr<const auth::CallerPolicy> policy = policy_.Get();
  std::shared_ptr<const grpc::AuthContext> auth_context = context.auth_context();
  std::optional<std::string> cert_identity =
      auth_context != nullptr ? CertificateIdentity(*auth_context) : std::nullopt;
  std::optional<auth::Principal> p;
  if (cert_identity.has_value()) {
    if (policy != nullptr) p = policy->FindByIdentity(*cert_identity);
  } else if (std::optional<SecretString> key = ApiKeyFromMetadata(context.client_metadata());
             key.has_value()) {
    if (policy != nullptr) p = policy->FindByApiKey(key->view());
  } else if (context.client_metadata().count("x-api-key") == 0 &&
             context.client_metadata().count("authorization") == 0 && allow_unauthenticated_) {
    p = DevPrincipal();
  }
  if (p.has_value()) {
    out.identity = p->identity;
    out.name = p->name;
  }
  return out;
}

}  // namespace registryauth::api
