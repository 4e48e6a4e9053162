// The helper's on-disk cache of minted pull tokens, one file per registry host and app, so the
// node asks MintPullToken once per token lifetime rather than once per pull (each helper run is
// a new process). A TokenCache object is scoped to one service (the config's `address`) and one
// registry host: a token is served only to the host it was minted for, by the service that
// minted it, even when several configs share one cache_dir (docs/security.md row 33r). The folder
// must be the helper user's own (created 0700; a folder group or others can enter is refused); each
// file is 0600, replaced atomically (common/file_io), and read only while it is private. A token is
// served until `refresh_before` ahead of its expiry; a missing, unreadable, foreign-moded or
// corrupt file is a miss (the helper mints again and overwrites it), never an error the pull sees.
//
//   TokenCache cache(config.cache_dir, config.address, "registry.example.com", clock);
//   if (std::optional<CachedToken> t = cache.Get("acme", "web", absl::Minutes(5))) ...
//   cache.Put("acme", "web", token);  // errors are returned for a warning, not fatal
//
// Thread-compatible; several helper processes may race on one file (the last rename wins, each
// reader sees one whole token).
#ifndef REGISTRY_AUTH_HELPERS_TOKEN_CACHE_H_
#define REGISTRY_AUTH_HELPERS_TOKEN_CACHE_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/secret.h"

namespace registryauth::helpers {

// A minted pull credential.
struct CachedToken {
  std::string username;
  SecretString password;
  std::string registry;  // the host the service says it is for
  absl::Time expire_time;
  // The service (config `address`) that minted it; TokenCache::Put fills it in and Get serves
  // only a token of its own service.
  std::string service;
};

// The cache file's text (JSON) and back; exposed for tests and the fuzz target. Parse returns
// INVALID_ARGUMENT "corrupt token cache file" for anything but a well-formed token.
std::string SerializeCachedToken(const CachedToken& token);
absl::StatusOr<CachedToken> ParseCachedToken(std::string_view text);

class TokenCache {
 public:
  // `dir` empty: a cache that never hits and never writes. `service` is the address of the
  // registry-auth service that mints the tokens; `registry_host` the lower-cased host[:port] the
  // tokens are handed to (a name outside [a-z0-9.:[]-] never hits and is never written).
  TokenCache(std::string dir, std::string service, std::string registry_host, const Clock& clock)
      : dir_(std::move(dir)),
        service_(std::move(service)),
        registry_host_(std::move(registry_host)),
        clock_(clock) {}

  // The cached token of `<workspace>/<app>` for this cache's registry host, if its service is
  // this cache's and it is still valid for more than `refresh_before`.
  std::optional<CachedToken> Get(const std::string& workspace, const std::string& app,
                                 absl::Duration refresh_before) const;

  // Stores the token (creating the folder 0700 if missing), recording this cache's service.
  // FAILED_PRECONDITION if the folder is accessible by group or others, or not a folder;
  // INVALID_ARGUMENT for a registry host that cannot be a file name; other errors from the write.
  absl::Status Put(const std::string& workspace, const std::string& app,
                   const CachedToken& token) const;

  // Removes every cached token (docker's `erase`). OK when there is nothing to remove.
  absl::Status Clear() const;

  // The file of `<workspace>/<app>`: `<dir>/<registry_host>_<workspace>_<app>.json` (hosts and
  // ids have no '_').
  std::string PathOf(const std::string& workspace, const std::string& app) const;

 private:
  absl::Status CheckOrCreateDir() const;
  bool UsableHost() const;

  std::string dir_;
  std::string service_;
  std::string registry_host_;
  const Clock& clock_;
};

}  // namespace registryauth::helpers

#endif  // REGISTRY_AUTH_HELPERS_TOKEN_CACHE_H_
