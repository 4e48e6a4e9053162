#include "storage/memory_token_store.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "storage/store_internal.h"
#include "storage/token_store_internal.h"

namespace registryauth::storage {
namespace {

using internal::CheckConstraints;
using internal::CheckText;
using internal::CheckThrottleKey;
using internal::ChildExists;
using internal::ChildNotFound;
using internal::EffectivePageSize;
using internal::EffectiveTokenListLimit;
using internal::IsStorableText;
using internal::TruncateToMicros;
using internal::VersionMismatch;

constexpr char kServiceAccount[] = "service account";

absl::Status TokenNotFound(std::string_view kind) {
  return absl::NotFoundError(absl::StrCat(ToAbsl(kind), " not found"));
}

absl::Status TokenExists(std::string_view kind) {
  return absl::AlreadyExistsError(absl::StrCat(ToAbsl(kind), " already exists"));
}

void NormalizeTimes(ServiceAccount& a) {
  a.expire_time = TruncateToMicros(a.expire_time);
  a.secret_rotate_time = TruncateToMicros(a.secret_rotate_time);
  a.last_used_time = TruncateToMicros(a.last_used_time);
  a.create_time = TruncateToMicros(a.create_time);
  a.update_time = TruncateToMicros(a.update_time);
}

void NormalizeTimes(PullToken& t) {
  t.create_time = TruncateToMicros(t.create_time);
  t.expire_time = TruncateToMicros(t.expire_time);
  t.revoke_time = TruncateToMicros(t.revoke_time);
}

void NormalizeTimes(RefreshToken& t) {
  t.create_time = TruncateToMicros(t.create_time);
  t.expire_time = TruncateToMicros(t.expire_time);
  t.last_used_time = TruncateToMicros(t.last_used_time);
  t.revoke_time = TruncateToMicros(t.revoke_time);
}

void NormalizeTimes(ThrottleState& s) {
  s.window_start = TruncateToMicros(s.window_start);
  s.blocked_until = TruncateToMicros(s.blocked_until);
}

ThrottleState ZeroThrottleState(std::string_view key) {
  ThrottleState state;
  state.key = std::string(key);
  return state;
}

// Newest first; equal create times by id, descending (the Postgres indexes' order).
template <typename Token>
bool NewerFirst(const Token& a, const Token& b) {
  if (a.create_time != b.create_time) return a.create_time > b.create_time;
  return a.id > b.id;
}

template <typename Token, typename Matches>
std::vector<Token> NewestFirst(const std::map<std::string, Token>& tokens, Matches matches,
                               int limit) {
  std::vector<Token> found;
  for (const auto& [id, token] : tokens) {
    if (matches(token)) found.push_back(token);
  }
  const size_t n = std::min(found.size(), static_cast<size_t>(EffectiveTokenListLimit(limit)));
  std::partial_sort(found.begin(), found.begin() + n, found.end(), &NewerFirst<Token>);
  found.resize(n);
  return found;
}

template <typename Token>
int64_t DeleteExpired(std::map<std::string, Token>& tokens, absl::Time before) {
  int64_t deleted = 0;
  for (auto it = tokens.begin(); it != tokens.end();) {
    if (it->second.expire_time < before) {
      it = tokens.erase(it);
      ++deleted;
    } else {
      ++it;
    }
  }
  return deleted;
}

// Revoke*: sets revoke_time if not revoked yet (InfiniteFuture means not revoked).
template <typename Token>
bool Revoke(Token& token, absl::Time when) {
  if (token.revoke_time != absl::InfiniteFuture()) return false;
  token.revoke_time = TruncateToMicros(when);
  return true;
}

}  // namespace

absl::Status InMemoryTokenStore::WorkspaceExists(std::string_view workspace_id) {
  return workspaces_.GetWorkspace(workspace_id).status();
}

// ---- Service accounts

absl::StatusOr<ServiceAccount> InMemoryTokenStore::CreateServiceAccount(
    const ServiceAccount& account) {
  constexpr char kOp[] = "create service account";
  absl::Status valid = CheckText(account, kOp);
  if (valid.ok()) valid = CheckConstraints(account, kOp);
  if (!valid.ok()) return valid;
  ServiceAccount row = account;
  row.version = 1;
  NormalizeTimes(row);
  const AccountKey key(row.workspace_id, row.id);
  // Refusals in the database's order: constraints, then duplicates, then the workspace key.
  {
    absl::MutexLock lock(&mu_);
    if (accounts_.count(key) > 0) return ChildExists(kServiceAccount, row.workspace_id, row.id);
  }
  absl::Status workspace = WorkspaceExists(row.workspace_id);
  if (!workspace.ok()) return workspace;
  absl::MutexLock lock(&mu_);
  if (!accounts_.emplace(key, row).second) {
    return ChildExists(kServiceAccount, row.workspace_id, row.id);
  }
  return row;
}

absl::StatusOr<ServiceAccount> InMemoryTokenStore::GetServiceAccount(std::string_view workspace_id,
                                                                     std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = accounts_.find(AccountKey(workspace_id, id));
  if (it == accounts_.end()) return ChildNotFound(kServiceAccount, workspace_id, id);
  return it->second;
}

absl::StatusOr<Page<ServiceAccount>> InMemoryTokenStore::ListServiceAccounts(
    std::string_view workspace_id, const ListOptions& options) {
  if (!IsStorableText(options.start_after)) {
    return absl::InvalidArgumentError("list service accounts: start_after is not valid UTF-8 text");
  }
  absl::Status workspace = WorkspaceExists(workspace_id);
  if (!workspace.ok()) return workspace;
  const std::string ws(workspace_id);
  const int page_size = EffectivePageSize(options);
  Page<ServiceAccount> page;
  absl::MutexLock lock(&mu_);
  for (auto it = accounts_.upper_bound(AccountKey(ws, options.start_after));
       it != accounts_.end() && it->first.first == ws; ++it) {
    if (static_cast<int>(page.items.size()) == page_size) {
      page.has_more = true;
      break;
    }
    page.items.push_back(it->second);
  }
  return page;
}

absl::StatusOr<ServiceAccount> InMemoryTokenStore::UpdateServiceAccount(
    const ServiceAccount& account, int64_t expected_version) {
  constexpr char kOp[] = "update service account";
  absl::Status text = CheckText(account, kOp);
  if (!text.ok()) return text;
  absl::MutexLock lock(&mu_);
  auto it = accounts_.find(AccountKey(account.workspace_id, account.id));
  if (it == accounts_.end()) {
    return ChildNotFound(kServiceAccount, account.workspace_id, account.id);
  }
  ServiceAccount& row = it->second;
  if (expected_version > 0 && row.version != expected_version) {
    return VersionMismatch(kServiceAccount);
  }
  ServiceAccount updated = account;
  updated.uid = row.uid;                                // given at creation, never changed
  absl::Status valid = CheckConstraints(updated, kOp);  // the database checks the new row
  if (!valid.ok()) return valid;
  updated.create_time = row.create_time;
  updated.last_used_time = row.last_used_time;
  updated.version = row.version + 1;
  NormalizeTimes(updated);
  row = std::move(updated);
  return row;
}

absl::Status InMemoryTokenStore::DeleteServiceAccount(std::string_view workspace_id,
                                                      std::string_view id,
                                                      int64_t expected_version) {
  absl::MutexLock lock(&mu_);
  auto it = accounts_.find(AccountKey(workspace_id, id));
  if (it == accounts_.end()) return ChildNotFound(kServiceAccount, workspace_id, id);
  if (expected_version > 0 && it->second.version != expected_version) {
    return VersionMismatch(kServiceAccount);
  }
  accounts_.erase(it);
  return absl::OkStatus();
}

absl::Status InMemoryTokenStore::TouchServiceAccount(std::string_view workspace_id,
                                                     std::string_view id, absl::Time when) {
  absl::MutexLock lock(&mu_);
  auto it = accounts_.find(AccountKey(workspace_id, id));
  if (it == accounts_.end()) return ChildNotFound(kServiceAccount, workspace_id, id);
  it->second.last_used_time = std::max(it->second.last_used_time, TruncateToMicros(when));
  return absl::OkStatus();
}

// ---- Pull tokens

absl::Status InMemoryTokenStore::CreatePullToken(const PullToken& token) {
  constexpr char kOp[] = "create pull token";
  absl::Status valid = CheckText(token, kOp);
  if (valid.ok()) valid = CheckConstraints(token, kOp);
  if (!valid.ok()) return valid;
  PullToken row = token;
  NormalizeTimes(row);
  {
    absl::MutexLock lock(&mu_);
    if (pull_tokens_.count(row.id) > 0) return TokenExists("pull token");
  }
  absl::Status workspace = WorkspaceExists(row.workspace_id);
  if (!workspace.ok()) return workspace;
  absl::MutexLock lock(&mu_);
  if (!pull_tokens_.emplace(row.id, row).second) return TokenExists("pull token");
  return absl::OkStatus();
}

absl::StatusOr<PullToken> InMemoryTokenStore::GetPullToken(std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = pull_tokens_.find(std::string(id));
  if (it == pull_tokens_.end()) return TokenNotFound("pull token");
  return it->second;
}

absl::StatusOr<std::vector<PullToken>> InMemoryTokenStore::ListPullTokens(
    std::string_view workspace_id, std::string_view app_id, int limit) {
  absl::Status workspace = WorkspaceExists(workspace_id);
  if (!workspace.ok()) return workspace;
  absl::MutexLock lock(&mu_);
  return NewestFirst(
      pull_tokens_,
      [&](const PullToken& t) {
        return t.workspace_id == workspace_id && (app_id.empty() || t.app_id == app_id);
      },
      limit);
}

absl::StatusOr<bool> InMemoryTokenStore::RevokePullToken(std::string_view id, absl::Time when) {
  absl::MutexLock lock(&mu_);
  auto it = pull_tokens_.find(std::string(id));
  if (it == pull_tokens_.end()) return TokenNotFound("pull token");
  return Revoke(it->second, when);
}

absl::StatusOr<int64_t> InMemoryTokenStore::RevokePullTokensOfApp(std::string_view workspace_id,
                                                                  std::string_view app_id,
                                                                  absl::Time when) {
  absl::MutexLock lock(&mu_);
  int64_t revoked = 0;
  for (auto& [id, token] : pull_tokens_) {
    if (token.workspace_id == workspace_id && token.app_id == app_id && Revoke(token, when)) {
      ++revoked;
    }
  }
  return revoked;
}

absl::StatusOr<int64_t> InMemoryTokenStore::DeleteExpiredPullTokens(absl::Time before) {
  absl::MutexLock lock(&mu_);
  return DeleteExpired(pull_tokens_, before);
}

// ---- Refresh tokens

absl::Status InMemoryTokenStore::CreateRefreshToken(const RefreshToken& token) {
  constexpr char kOp[] = "create refresh token";
  absl::Status valid = CheckText(token, kOp);
  if (valid.ok()) valid = CheckConstraints(token, kOp);
  if (!valid.ok()) return valid;
  RefreshToken row = token;
  NormalizeTimes(row);
  {
    absl::MutexLock lock(&mu_);
    if (refresh_tokens_.count(row.id) > 0) return TokenExists("refresh token");
  }
  absl::Status workspace = WorkspaceExists(row.workspace_id);
  if (!workspace.ok()) return workspace;
  absl::MutexLock lock(&mu_);
  if (!refresh_tokens_.emplace(row.id, row).second) return TokenExists("refresh token");
  return absl::OkStatus();
}

absl::StatusOr<RefreshToken> InMemoryTokenStore::GetRefreshToken(std::string_view id) {
  absl::MutexLock lock(&mu_);
  auto it = refresh_tokens_.find(std::string(id));
  if (it == refresh_tokens_.end()) return TokenNotFound("refresh token");
  return it->second;
}

absl::StatusOr<std::vector<RefreshToken>> InMemoryTokenStore::ListRefreshTokens(
    std::string_view workspace_id, std::string_view subject, int limit) {
  absl::Status workspace = WorkspaceExists(workspace_id);
  if (!workspace.ok()) return workspace;
  absl::MutexLock lock(&mu_);
  return NewestFirst(
      refresh_tokens_,
      [&](const RefreshToken& t) {
        return t.workspace_id == workspace_id && (subject.empty() || t.subject == subject);
      },
      limit);
}

absl::StatusOr<bool> InMemoryTokenStore::RevokeRefreshToken(std::string_view id, absl::Time when) {
  absl::MutexLock lock(&mu_);
  auto it = refresh_tokens_.find(std::string(id));
  if (it == refresh_tokens_.end()) return TokenNotFound("refresh token");
  return Revoke(it->second, when);
}

absl::StatusOr<int64_t> InMemoryTokenStore::RevokeRefreshTokensOfSubject(std::string_view subject,
                                                                         absl::Time when) {
  absl::MutexLock lock(&mu_);
  int64_t revoked = 0;
  for (auto& [id, token] : refresh_tokens_) {
    if (token.subject == subject && Revoke(token, when)) ++revoked;
  }
  return revoked;
}

absl::Status InMemoryTokenStore::TouchRefreshToken(std::string_view id, absl::Time when) {
  absl::MutexLock lock(&mu_);
  auto it = refresh_tokens_.find(std::string(id));
  if (it == refresh_tokens_.end()) return TokenNotFound("refresh token");
  it->second.last_used_time = std::max(it->second.last_used_time, TruncateToMicros(when));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> InMemoryTokenStore::DeleteExpiredRefreshTokens(absl::Time before) {
  absl::MutexLock lock(&mu_);
  return DeleteExpired(refresh_tokens_, before);
}

// ---- Failed-login throttle

absl::StatusOr<ThrottleState> InMemoryTokenStore::RecordLoginFailure(std::string_view key,
                                                                     absl::Time now,
                                                                     const ThrottlePolicy& policy) {
  absl::Status valid = CheckThrottleKey(key, "record login failure");
  if (!valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  auto it = throttle_.try_emplace(std::string(key), ZeroThrottleState(key)).first;
  ThrottleState next = NextThrottleState(it->second, now, policy);
  NormalizeTimes(next);
  it->second = next;
  return next;
}

absl::StatusOr<ThrottleState> InMemoryTokenStore::GetThrottleState(std::string_view key) {
  absl::MutexLock lock(&mu_);
  auto it = throttle_.find(std::string(key));
  if (it == throttle_.end()) return ZeroThrottleState(key);
  return it->second;
}

absl::Status InMemoryTokenStore::ClearLoginFailures(std::string_view key) {
  absl::MutexLock lock(&mu_);
  throttle_.erase(std::string(key));
  return absl::OkStatus();
}

absl::StatusOr<int64_t> InMemoryTokenStore::DeleteStaleThrottleStates(
    absl::Time before, const ThrottlePolicy& policy) {
  absl::MutexLock lock(&mu_);
  int64_t deleted = 0;
  for (auto it = throttle_.begin(); it != throttle_.end();) {
    const ThrottleState& s = it->second;
    if (s.window_start + policy.window <= before && s.blocked_until <= before) {
      it = throttle_.erase(it);
      ++deleted;
    } else {
      ++it;
    }
  }
  return deleted;
}

// ---- Key rotation

absl::StatusOr<std::map<uint32_t, int64_t>> InMemoryTokenStore::CountSecretHashesByKeyId() {
  absl::MutexLock lock(&mu_);
  std::map<uint32_t, int64_t> counts;
  for (const auto& [key, account] : accounts_) ++counts[account.secret_hash.key_id];
  for (const auto& [id, token] : pull_tokens_) ++counts[token.secret_hash.key_id];
  for (const auto& [id, token] : refresh_tokens_) ++counts[token.secret_hash.key_id];
  return counts;
}

}  // namespace registryauth::storage
