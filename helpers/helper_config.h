// The credential helper's configuration file: which registry-auth service to ask, as whom, for
// which registries, and where to cache tokens. One `key value` per line; `#` starts a comment.
//
//   # /etc/regauth/credential-helper.conf
//   address       registry-auth.internal:50051
//   tls_ca        /etc/regauth/ca.pem          # TLS; required unless address is loopback
//   tls_cert      /etc/regauth/node.pem        # the helper's identity: a client certificate...
//   tls_key       /etc/regauth/node-key.pem
//   api_key_file  /etc/regauth/node.key        # ...or an API key (file mode 0600 or stricter)
//   registry      registry.example.com:5000    # one line per registry host the helper serves
//   docker_app    acme/web                     # what `docker-credential-regauth get` mints for
//   cache_dir     /var/cache/regauth-helper
//   token_ttl     1h                           # asked of MintPullToken (the server caps it)
//   refresh_before 5m                          # a cached token is used until this before expiry
//   timeout       10s                          # the whole MintPullToken call
//
// The file is found by `--config=PATH`, else $REGAUTH_HELPER_CONFIG, else
// $XDG_CONFIG_HOME/regauth/credential-helper.conf (or ~/.config/...) when it exists, else
// /etc/regauth/credential-helper.conf. Parse errors name the line, never quote a value (a key
// pasted into the wrong file stays out of logs). Thread-compatible.
//
//   ASSIGN_OR_RETURN(HelperConfig config, HelperConfig::Parse(text));
#ifndef REGISTRY_AUTH_HELPERS_HELPER_CONFIG_H_
#define REGISTRY_AUTH_HELPERS_HELPER_CONFIG_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace registryauth::helpers {

inline constexpr char kDefaultConfigPath[] = "/etc/regauth/credential-helper.conf";
// The kubelet gives an exec provider about a minute; a call must end well before that.
inline constexpr absl::Duration kMaxTimeout = absl::Seconds(30);

struct HelperConfig {
  std::string address;
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string api_key_file;
  std::vector<std::string> registries;  // lower-cased host[:port]
  std::string docker_workspace;         // from `docker_app <workspace>/<app>`; may be empty
  std::string docker_app;
  std::string cache_dir;  // empty: no cache
  absl::Duration token_ttl = absl::Hours(1);
  absl::Duration refresh_before = absl::Minutes(5);
  absl::Duration timeout = absl::Seconds(10);

  // INVALID_ARGUMENT `config line N: ...` for an unknown key, a missing or repeated value, a bad
  // duration (token_ttl 1m..24h, refresh_before 0..1h, timeout 1s..30s); `address` and at
  // least one `registry` are required; tls_cert and tls_key go together and need tls_ca; without
  // tls_ca the address must be loopback (an API key never travels in clear off this host).
  static absl::StatusOr<HelperConfig> Parse(std::string_view text);

  bool ServesRegistry(std::string_view host) const;
};

// The path the helper reads: `flag` when set, else the environment as described above.
// `exists` tells whether a file exists (injected for tests).
std::string ResolveConfigPath(
    const std::optional<std::string>& flag,
    const std::function<std::optional<std::string>(const std::string&)>& getenv,
    const std::function<bool(const std::string&)>& exists);

}  // namespace registryauth::helpers

#endif  // REGISTRY_AUTH_HELPERS_HELPER_CONFIG_H_
