#include "helpers/token_cache.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/file_io.h"
#include "common/secret.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace registryauth::helpers {
namespace {

absl::Status Corrupt() { return absl::InvalidArgumentError("corrupt token cache file"); }

}  // namespace

std::string SerializeCachedToken(const CachedToken& token) {
  nlohmann::json j = {
      {"username", token.username}, {"password", std::string(token.password.view())},
      {"registry", token.registry}, {"expire_unix", absl::ToUnixSeconds(token.expire_time)},
      {"service", token.service},
  };
  std::string text = j.dump();
  std::string& password = j["password"].get_ref<std::string&>();
  WipeString(password);
  return text;
}

absl::StatusOr<CachedToken> ParseCachedToken(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Corrupt();
  auto string_field = [&](const char* name) -> const std::string* {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return nullptr;
    return it->get_ptr<const std::string*>();
  };
  const std::string* username = string_field("username");
  const std::string* password = string_field("password");
  const std::string* registry = string_field("registry");
  const std::string* service = string_field("service");
  auto expire = j.find("expire_unix");
  if (username == nullptr || password == nullptr || registry == nullptr || service == nullptr ||
      expire == j.end() || !expire->is_number_integer() || username->empty() || password->empty()) {
    if (password != nullptr) WipeString(*j["password"].get_ptr<std::string*>());
    return Corrupt();
  }
  CachedToken token;
  token.username = *username;
  token.password = SecretString(*password);
  token.registry = *registry;
  token.expire_time = absl::FromUnixSeconds(expire->get<std::int64_t>());
  token.service = *service;
  WipeString(*j["password"].get_ptr<std::string*>());
  return token;
}

std::string TokenCache::PathOf(const std::string& workspace, const std::string& app) const {
  return Cat(dir_, "/", registry_host_, "_", workspace, "_", app, ".json");
}

// The registry host is part of a file name: only the characters of a host[:port] or [IPv6]:port
// (image_reference.h has lower-cased it), never '/', '_' or a leading '.'.
bool TokenCache::UsableHost() const {
  if (registry_host_.empty() || registry_host_.front() == '.') return false;
  for (char c : registry_host_) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '[' || c == ']';
    if (!ok) return false;
  }
  return true;
}

std::optional<CachedToken> TokenCache::Get(const std::string& workspace, const std::string& app,
                                           absl::Duration refresh_before) const {
  if (dir_.empty() || !UsableHost() || !CheckOrCreateDir().ok()) return std::nullopt;
  absl::StatusOr<SecretString> text = ReadPrivateFile(PathOf(workspace, app), "token cache file");
  if (!text.ok()) return std::nullopt;
  absl::StatusOr<CachedToken> token = ParseCachedToken(text->view());
  if (!token.ok()) return std::nullopt;
  if (token->service != service_) return std::nullopt;  // another config's service minted it
  if (token->expire_time - refresh_before <= clock_.Now()) return std::nullopt;
  return *std::move(token);
}

absl::Status TokenCache::CheckOrCreateDir() const {
  struct stat st {};
  if (lstat(dir_.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::FailedPreconditionError(Cat("cannot read cache_dir ", dir_));
    }
    if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(Cat("cannot create cache_dir ", dir_));
    }
    if (lstat(dir_.c_str(), &st) != 0) {
      return absl::FailedPreconditionError(Cat("cannot read cache_dir ", dir_));
    }
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(Cat("cache_dir ", dir_, " is not a folder"));
  }
  if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        Cat("cache_dir ", dir_, " must be owned by the helper's user and private (chmod 700)"));
  }
  return absl::OkStatus();
}

absl::Status TokenCache::Put(const std::string& workspace, const std::string& app,
                             const CachedToken& token) const {
  if (dir_.empty()) return absl::OkStatus();
  if (!UsableHost())
    return absl::InvalidArgumentError("registry host unusable as a cache file name");
  absl::Status dir = CheckOrCreateDir();
  if (!dir.ok()) return dir;
  CachedToken scoped = token;
  scoped.service = service_;
  std::string text = SerializeCachedToken(scoped);
  absl::Status written = WriteFileAtomically(PathOf(workspace, app), text);
  WipeString(text);
  return written;
}

absl::Status TokenCache::Clear() const {
  if (dir_.empty()) return absl::OkStatus();
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) {
    return errno == ENOENT ? absl::OkStatus()
                           : absl::FailedPreconditionError(Cat("cannot read cache_dir ", dir_));
  }
  absl::Status result;
  while (struct dirent* entry = readdir(d)) {
    std::string_view name = entry->d_name;
    if (!EndsWith(name, ".json")) continue;
    std::string path = Cat(dir_, "/", name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      result = absl::FailedPreconditionError(Cat("cannot remove ", path));
    }
  }
  closedir(d);
  return result;
}

}  // namespace registryauth::helpers
