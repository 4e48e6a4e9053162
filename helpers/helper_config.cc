#include "helpers/helper_config.h"

#include <cstddef>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "helpers/image_reference.h"

namespace registryauth::helpers {
namespace {

absl::Status LineError(std::size_t line, std::string_view what) {
  return absl::InvalidArgumentError(Cat("config line ", line, ": ", what));
}

// localhost, 127.0.0.0/8 or [::1], with a port: plaintext gRPC stays on this host.
bool IsLoopbackAddress(std::string_view address) {
  std::size_t colon = address.rfind(':');
  std::string_view host = colon == std::string_view::npos ? address : address.substr(0, colon);
  if (host == "localhost" || host == "[::1]") return true;
  if (!absl::StartsWith(ToAbsl(host), "127.")) return false;
  for (char c : host) {
    if ((c < '0' || c > '9') && c != '.') return false;  // an IPv4 literal, not 127.x.evil
  }
  return true;
}

}  // namespace

absl::StatusOr<HelperConfig> HelperConfig::Parse(std::string_view text) {
  HelperConfig config;
  std::set<std::string> seen;
  std::size_t number = 0;
  for (absl::string_view raw : absl::StrSplit(ToAbsl(text), '\n')) {
    ++number;
    std::string_view line = ToStd(raw);
    std::size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    line = ToStd(absl::StripAsciiWhitespace(ToAbsl(line)));
    if (line.empty()) continue;
    std::size_t space = line.find_first_of(" \t");
    if (space == std::string_view::npos) return LineError(number, "a key needs a value");
    std::string key(line.substr(0, space));
    // Unknown keys first: no message may quote a key that could be a pasted secret.
    static const std::set<std::string>* const kKnownKeys = new std::set<std::string>{
        "address",    "tls_ca",    "tls_cert",  "tls_key",        "api_key_file", "registry",
        "docker_app", "cache_dir", "token_ttl", "refresh_before", "timeout"};
    if (kKnownKeys->count(key) == 0) return LineError(number, "unknown key");
    std::string value(ToStd(absl::StripAsciiWhitespace(ToAbsl(line.substr(space + 1)))));
    if (value.find_first_of(" \t") != std::string::npos) {
      return LineError(number, Cat("one value expected for ", key));
    }
    if (key != "registry" && !seen.insert(key).second) {
      return LineError(number, Cat(key, " given twice"));
    }
    auto duration = [&](absl::Duration min, absl::Duration max,
                        absl::Duration& out) -> absl::Status {
      absl::Duration d;
      if (!absl::ParseDuration(value, &d) || d < min || d > max) {
        return LineError(number, Cat(key, " must be a duration from ", absl::FormatDuration(min),
                                     " to ", absl::FormatDuration(max)));
      }
      out = d;
      return absl::OkStatus();
    };
    absl::Status status;
    if (key == "address") {
      config.address = value;
    } else if (key == "tls_ca") {
      config.tls_ca_file = value;
    } else if (key == "tls_cert") {
      config.tls_cert_file = value;
    } else if (key == "tls_key") {
      config.tls_key_file = value;
    } else if (key == "api_key_file") {
      config.api_key_file = value;
    } else if (key == "registry") {
      absl::StatusOr<ImageReference> host = ParseServerUrl(value);
      if (!host.ok() || !host->path.empty() || value.find('/') != std::string::npos) {
        return LineError(number, "registry must be a host[:port]");
      }
      config.registries.push_back(host->registry);
    } else if (key == "docker_app") {
      std::vector<std::string> parts = absl::StrSplit(ToAbsl(value), '/');
      if (parts.size() != 2 || !IsValidResourceId(parts[0]) || !IsValidResourceId(parts[1])) {
        return LineError(number, "docker_app must be <workspace>/<app>");
      }
      config.docker_workspace = parts[0];
      config.docker_app = parts[1];
    } else if (key == "cache_dir") {
      config.cache_dir = value;
    } else if (key == "token_ttl") {
      status = duration(absl::Minutes(1), absl::Hours(24), config.token_ttl);
    } else if (key == "refresh_before") {
      status = duration(absl::ZeroDuration(), absl::Hours(1), config.refresh_before);
    } else if (key == "timeout") {
      status = duration(absl::Seconds(1), kMaxTimeout, config.timeout);
    } else {
      return LineError(number, "unknown key");
    }
    if (!status.ok()) return status;
  }
  if (config.address.empty()) return absl::InvalidArgumentError("config: address is required");
  if (config.registries.empty()) {
    return absl::InvalidArgumentError("config: at least one registry is required");
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError("config: give both tls_cert and tls_key, or neither");
  }
  if (!config.tls_cert_file.empty() && config.tls_ca_file.empty()) {
    return absl::InvalidArgumentError("config: tls_cert needs tls_ca");
  }
  if (config.tls_ca_file.empty() && !IsLoopbackAddress(config.address)) {
    return absl::InvalidArgumentError(
        "config: tls_ca is required for a service off this host (address is not loopback)");
  }
  return config;
}

bool HelperConfig::ServesRegistry(std::string_view host) const {
  std::string lower = absl::AsciiStrToLower(ToAbsl(host));
  for (const std::string& r : registries) {
    if (r == lower) return true;
  }
  return false;
}

std::string ResolveConfigPath(
    const std::optional<std::string>& flag,
    const std::function<std::optional<std::string>(const std::string&)>& getenv,
    const std::function<bool(const std::string&)>& exists) {
  if (flag.has_value() && !flag->empty()) return *flag;
  std::optional<std::string> env = getenv("REGAUTH_HELPER_CONFIG");
  if (env.has_value() && !env->empty()) return *env;
  std::optional<std::string> xdg = getenv("XDG_CONFIG_HOME");
  std::string user_dir;
  if (xdg.has_value() && !xdg->empty()) {
    user_dir = *xdg;
  } else if (std::optional<std::string> home = getenv("HOME"); home.has_value() && !home->empty()) {
    user_dir = Cat(*home, "/.config");
  }
  if (!user_dir.empty()) {
    std::string user_path = Cat(user_dir, "/regauth/credential-helper.conf");
    if (exists(user_path)) return user_path;
  }
  return kDefaultConfigPath;
}

}  // namespace registryauth::helpers
