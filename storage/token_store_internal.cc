#include "storage/token_store_internal.h"

#include <cstdint>
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "storage/store_internal.h"

namespace registryauth::storage::internal {
namespace {

absl::Status NotText(std::string_view op) {
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(op), ": value is not valid UTF-8 text"));
}

absl::Status CheckAll(std::initializer_list<std::string_view> values, std::string_view op) {
  for (std::string_view v : values) {
    if (!IsStorableText(v)) return NotText(op);
  }
  return absl::OkStatus();
}

// 1..max_bytes characters in [\x21-\x7e] (printable ASCII, no space).
bool IsPrintableAscii(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// ^([a-z]{1,32}|\*)$
bool IsGrantAction(std::string_view a) {
  if (a == "*") return true;
  if (a.empty() || a.size() > kMaxGrantActionBytes) return false;
  for (char c : a) {
    if (c < 'a' || c > 'z') return false;
  }
  return true;
}

// service_account_grants_valid() of 0003_tokens.sql.
bool GrantsValid(const std::vector<RepositoryGrant>& grants) {
  if (grants.size() > kMaxGrants) return false;
  for (const RepositoryGrant& g : grants) {
    if (!IsPrintableAscii(g.repository_pattern, kMaxGrantPatternBytes)) return false;
    if (g.actions.empty() || g.actions.size() > kMaxGrantActions) return false;
    for (const std::string& a : g.actions) {
      if (!IsGrantAction(a)) return false;
    }
  }
  return true;
}

}  // namespace

bool IsStorableText(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t cp;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // a continuation byte or 0xF8..0xFF
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += extra + 1;
  }
  return true;
}

bool IsTokenId(std::string_view id) {
  if (id.size() != 22) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::Status CheckText(const ServiceAccount& a, std::string_view op) {
  absl::Status s = CheckAll({a.workspace_id, a.id, a.display_name}, op);
  if (!s.ok()) return s;
  for (const RepositoryGrant& g : a.grants) {
    if (!IsStorableText(g.repository_pattern)) return NotText(op);
    for (const std::string& action : g.actions) {
      if (!IsStorableText(action)) return NotText(op);
    }
  }
  return absl::OkStatus();
}

absl::Status CheckText(const PullToken& t, std::string_view op) {
  return CheckAll({t.id, t.workspace_id, t.app_id, t.repository, t.created_by}, op);
}

absl::Status CheckText(const RefreshToken& t, std::string_view op) {
  return CheckAll({t.id, t.subject, t.service, t.workspace_id, t.client_id}, op);
}

absl::Status CheckThrottleKey(std::string_view key, std::string_view op) {
  if (!IsStorableText(key)) return NotText(op);
  if (key.empty() || key.size() > kMaxThrottleKeyBytes) {
    return ConstraintError(op, "login_throttle_key_length");
  }
  return absl::OkStatus();
}

absl::Status CheckConstraints(const ServiceAccount& a, std::string_view op) {
  if (CharLength(a.display_name) > 256) {
    return ConstraintError(op, "service_accounts_display_name_length");
  }
  if (!GrantsValid(a.grants)) return ConstraintError(op, "service_accounts_grants_valid");
  if (!IsResourceId(a.id)) return ConstraintError(op, "service_accounts_id_format");
  if (!IsUid(a.uid)) return ConstraintError(op, "service_accounts_uid_format");
  if (a.secret_hash.digest.size() != kSecretHashBytes) {
    return ConstraintError(op, "service_accounts_secret_hash_length");
  }
  return absl::OkStatus();
}

absl::Status CheckConstraints(const PullToken& t, std::string_view op) {
  if (!IsResourceId(t.app_id)) return ConstraintError(op, "pull_tokens_app_id_format");
  if (CharLength(t.created_by) > 1024) return ConstraintError(op, "pull_tokens_created_by_length");
  if (!IsTokenId(t.id)) return ConstraintError(op, "pull_tokens_id_format");
  if (!IsPrintableAscii(t.repository, 255)) {
    return ConstraintError(op, "pull_tokens_repository_format");
  }
  if (t.secret_hash.digest.size() != kSecretHashBytes) {
    return ConstraintError(op, "pull_tokens_secret_hash_length");
  }
  return absl::OkStatus();
}

absl::Status CheckConstraints(const RefreshToken& t, std::string_view op) {
  if (CharLength(t.client_id) > 255) return ConstraintError(op, "refresh_tokens_client_id_length");
  if (!IsTokenId(t.id)) return ConstraintError(op, "refresh_tokens_id_format");
  if (t.secret_hash.digest.size() != kSecretHashBytes) {
    return ConstraintError(op, "refresh_tokens_secret_hash_length");
  }
  if (CharLength(t.service) > 255) return ConstraintError(op, "refresh_tokens_service_length");
  if (!t.subject_generation.empty() && t.subject_generation.size() != kSecretHashBytes) {
    return ConstraintError(op, "refresh_tokens_subject_generation_length");
  }
  if (!IsPrintableAscii(t.subject, 256))
    return ConstraintError(op, "refresh_tokens_subject_format");
  return absl::OkStatus();
}

}  // namespace registryauth::storage::internal
