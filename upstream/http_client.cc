#include "upstream/http_client.h"

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"

namespace registryauth::upstream {
namespace {

constexpr char kPayloadUrl[] = "type.registryauth/upstream.HttpErrorKind";

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

constexpr HttpErrorKind kAllKinds[] = {
    HttpErrorKind::kDns,      HttpErrorKind::kConnect,
    HttpErrorKind::kTimeout,  HttpErrorKind::kConnectionLost,
    HttpErrorKind::kTls,      HttpErrorKind::kTooLarge,
    HttpErrorKind::kRedirect, HttpErrorKind::kBadRequest,
    HttpErrorKind::kProtocol, HttpErrorKind::kBlocked,
};

}  // namespace

std::vector<std::string> HttpResponse::HeaderValues(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) out.push_back(v);
  }
  return out;
}

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

std::string_view HttpErrorKindName(HttpErrorKind kind) {
  switch (kind) {
    case HttpErrorKind::kDns:
      return "dns";
    case HttpErrorKind::kConnect:
      return "connect";
    case HttpErrorKind::kTimeout:
      return "timeout";
    case HttpErrorKind::kConnectionLost:
      return "connection_lost";
    case HttpErrorKind::kTls:
      return "tls";
    case HttpErrorKind::kTooLarge:
      return "too_large";
    case HttpErrorKind::kRedirect:
      return "redirect";
    case HttpErrorKind::kBadRequest:
      return "bad_request";
    case HttpErrorKind::kProtocol:
      return "protocol";
    case HttpErrorKind::kBlocked:
      return "blocked";
  }
  return "protocol";
}

absl::Status MakeHttpError(absl::StatusCode code, HttpErrorKind kind, std::string_view message) {
  absl::Status status(code, absl::string_view(message.data(), message.size()));
  const std::string_view name = HttpErrorKindName(kind);
  status.SetPayload(kPayloadUrl, absl::Cord(absl::string_view(name.data(), name.size())));
  return status;
}

std::optional<HttpErrorKind> GetHttpErrorKind(const absl::Status& status) {
  const auto payload = status.GetPayload(kPayloadUrl);  // absl::optional (not std)
  if (!payload.has_value()) return std::nullopt;
  const std::string name(*payload);
  for (HttpErrorKind kind : kAllKinds) {
    if (HttpErrorKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

bool IsRetryableHttpError(const absl::Status& status) {
  const std::optional<HttpErrorKind> kind = GetHttpErrorKind(status);
  if (!kind.has_value()) return false;
  switch (*kind) {
    case HttpErrorKind::kDns:
    case HttpErrorKind::kConnect:
    case HttpErrorKind::kTimeout:
    case HttpErrorKind::kConnectionLost:
      return true;
    default:
      return false;
  }
}

}  // namespace registryauth::upstream
