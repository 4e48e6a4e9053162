#include "services/registry_event_receiver.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstddef>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/registry_event_envelope.h"

namespace registryauth::services {
namespace {

constexpr size_t kMinSecretChars = 32;
constexpr size_t kMaxSecretChars = 256;
constexpr size_t kMaxSecrets = 2;

std::array<unsigned char, 32> Sha256Of(std::string_view data) {
  std::array<unsigned char, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data());
  return digest;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsVisibleAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// `Bearer <token>` (scheme case-insensitive, one or more spaces): the token, or "" if the
// header has another form.
std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != kScheme[i]) return {};
  }
  if (authorization[kScheme.size()] != ' ') return {};
  return Trim(authorization.substr(kScheme.size()));
}

}  // namespace

const char* RegistryEventMetrics::Name(Result result) {
  switch (result) {
    case Result::kStored:
      return "stored";
    case Result::kDuplicate:
      return "duplicate";
    case Result::kUnknownWorkspace:
      return "unknown_workspace";
    case Result::kUnauthenticated:
      return "unauthenticated";
    case Result::kInvalid:
      return "invalid";
    case Result::kError:
      break;
  }
  return "error";
}

absl::StatusOr<std::vector<SecretString>> ParseRegistryEventSecrets(const SecretString& file) {
  std::vector<SecretString> secrets;
  std::string_view rest = file.view();
  int line_number = 0;
  while (!rest.empty()) {
    ++line_number;
    const size_t end = rest.find('\n');
    const std::string_view line = Trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (line.empty()) continue;
    if (line.size() < kMinSecretChars || line.size() > kMaxSecretChars || !IsVisibleAscii(line)) {
      return absl::InvalidArgumentError(
          absl::StrCat("registry events secret file: line ", line_number, ": a secret must be ",
                       kMinSecretChars, "..", kMaxSecretChars, " visible ASCII characters"));
    }
    if (secrets.size() == kMaxSecrets) {
      return absl::InvalidArgumentError(
          "registry events secret file: at most two secrets (the current and the next)");
    }
    secrets.emplace_back(line);
  }
  if (secrets.empty()) {
    return absl::InvalidArgumentError("registry events secret file: no secret");
  }
  return secrets;
}

RegistryEventReceiver::RegistryEventReceiver(const std::vector<SecretString>& secrets,
                                             storage::RegistryStore& store, const Guard& guard,
                                             const Clock& clock, RegistryEventMetrics* metrics)
    : store_(store), guard_(guard), clock_(clock), metrics_(metrics) {
  for (const SecretString& s : secrets) secret_digests_.push_back(Sha256Of(s.view()));
}

bool RegistryEventReceiver::Authorized(std::string_view authorization) const {
  // Digests of equal length, so the comparison time depends neither on the secrets' lengths nor
  // on how much of one a guess shares; every secret is compared, with no early exit.
  const Digest presented = Sha256Of(BearerToken(authorization));
  const bool has_token = !BearerToken(authorization).empty();
  int matches = 0;
  for (const Digest& d : secret_digests_) {
    matches |= static_cast<int>(CRYPTO_memcmp(d.data(), presented.data(), d.size()) == 0);
  }
  return has_token && matches != 0;
}

void RegistryEventReceiver::Count(RegistryEventMetrics::Result result, int64_t count) const {
  if (metrics_ != nullptr && count > 0) metrics_->OnRegistryEvents(result, count);
}

absl::StatusOr<RegistryEventReceiver::Result> RegistryEventReceiver::Notify(
    const Notification& n) const {
  if (!Authorized(n.authorization)) {
    Count(RegistryEventMetrics::Result::kUnauthenticated, 1);
    const absl::Status refused = absl::UnauthenticatedError("invalid credentials");
    guard_.RecordRejected("registry", kAction, kResource, refused, n.request_id, n.peer);
    return refused;
  }
  absl::StatusOr<std::vector<RegistryEvent>> parsed = ParseRegistryEnvelope(n.body);
  if (!parsed.ok()) {
    Count(RegistryEventMetrics::Result::kInvalid, 1);
    return parsed.status();
  }
  Result result;
  result.received = static_cast<int64_t>(parsed->size());

  // Which workspaces exist: one lookup per distinct workspace of the envelope.
  std::map<std::string, bool> exists;
  for (const RegistryEvent& e : *parsed) {
    if (e.workspace_id.empty() || exists.count(e.workspace_id) > 0) continue;
    absl::StatusOr<Workspace> ws = store_.GetWorkspace(e.workspace_id);
    if (!ws.ok() && !absl::IsNotFound(ws.status())) {
      Count(RegistryEventMetrics::Result::kError, 1);
      return ws.status();
    }
    exists[e.workspace_id] = ws.ok();
  }
  const absl::Time now = clock_.Now();
  std::vector<RegistryEvent> keep;
  keep.reserve(parsed->size());
  for (RegistryEvent& e : *parsed) {
    const auto it = exists.find(e.workspace_id);
    if (it == exists.end() || !it->second) {
      ++result.unknown_workspace;
      continue;
    }
    e.receive_time = now;
    keep.push_back(std::move(e));
  }
  if (!keep.empty()) {
    absl::StatusOr<int64_t> stored = store_.AppendRegistryEvents(keep);
    if (!stored.ok()) {
      Count(RegistryEventMetrics::Result::kError, 1);
      return stored.status();
    }
    result.stored = *stored;
    result.duplicates = static_cast<int64_t>(keep.size()) - *stored;
  }
  Count(RegistryEventMetrics::Result::kStored, result.stored);
  Count(RegistryEventMetrics::Result::kDuplicate, result.duplicates);
  Count(RegistryEventMetrics::Result::kUnknownWorkspace, result.unknown_workspace);
  return result;
}

}  // namespace registryauth::services
