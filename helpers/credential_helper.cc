#include "helpers/credential_helper.h"

#include <sys/stat.h>

#include <algorithm>
#include <exception>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "common/file_io.h"
#include "common/secret.h"
#include "common/strings.h"
#include "helpers/helper_config.h"
#include "helpers/image_reference.h"
#include "helpers/pull_token_minter.h"
#include "helpers/token_cache.h"
#include "nlohmann/json.hpp"

namespace registryauth::helpers {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

constexpr char kUsage[] =
    "usage: docker-credential-regauth get|store|erase|list\n"
    "       regauth-credential-helper [--config=PATH] docker get|store|erase|list\n"
    "       regauth-credential-helper [--config=PATH] kubelet\n";

// The gRPC code's name, for messages (`UNAVAILABLE`).
std::string CodeName(absl::StatusCode code) {
  return absl::AsciiStrToUpper(absl::StatusCodeToString(code));
}

// A MintPullToken failure, worded for the person reading the node's logs.
std::string DescribeMintError(const absl::Status& status, const std::string& workspace,
                              const std::string& app, const HelperConfig& config) {
  std::string what = Cat("workspaces/", workspace, "/apps/", app);
  std::string detail = Cat(" (", CodeName(status.code()), ": ", status.message(), ")");
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return Cat("unknown app ", what, detail);
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return Cat("no permission to mint pull tokens for ", what, detail);
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return Cat("registry-auth service unreachable at ", config.address, detail);
    default:
      return Cat("MintPullToken for ", what, " failed", detail);
  }
}

// Reads all of stdin up to kMaxStdinBytes.
absl::StatusOr<std::string> ReadInput(std::istream& in) {
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxStdinBytes) {
      return absl::InvalidArgumentError(Cat("input larger than ", kMaxStdinBytes, " bytes"));
    }
  }
  return text;
}

class Helper {
 public:
  Helper(const HelperIo& io, const HelperDeps& deps, HelperConfig config)
      : io_(io), deps_(deps), config_(std::move(config)) {}

  // A valid token for the app, to hand to `registry_host`: the cached one this service minted
  // for that host, or a new one (then cached).
  absl::StatusOr<CachedToken> Token(const std::string& registry_host, const std::string& workspace,
                                    const std::string& app) {
    TokenCache cache(config_.cache_dir, config_.address, registry_host, *deps_.clock);
    if (std::optional<CachedToken> cached = cache.Get(workspace, app, config_.refresh_before)) {
      return *std::move(cached);
    }
    absl::StatusOr<std::unique_ptr<PullTokenMinter>> minter = deps_.make_minter(config_);
    if (!minter.ok()) return minter.status();
    absl::StatusOr<CachedToken> token = (*minter)->Mint(workspace, app, config_.token_ttl);
    if (!token.ok()) {
      return absl::Status(token.status().code(),
                          DescribeMintError(token.status(), workspace, app, config_));
    }
    absl::Status put = cache.Put(workspace, app, *token);
    if (!put.ok()) *io_.err << "regauth-credential-helper: warning: " << put.message() << "\n";
    return token;
  }

  int Docker(const std::string& verb) {
    if (verb == "list") {  // reads nothing: docker sends no input for list
      *io_.out << "{}\n";
      return kExitOk;
    }
    absl::StatusOr<std::string> input = ReadInput(*io_.in);
    if (!input.ok()) return DockerError(std::string(input.status().message()));
    std::string server_url(ToStd(absl::StripAsciiWhitespace(ToAbsl(*input))));
    if (verb == "store") {
      return DockerError(
          "store is not supported: the regauth helper mints short-lived pull tokens itself");
    }
    if (verb == "erase") {
      // Every host's and service's tokens in the folder.
      absl::Status cleared = TokenCache(config_.cache_dir, "", "", *deps_.clock).Clear();
      if (!cleared.ok()) return DockerError(std::string(cleared.message()));
      return kExitOk;
    }
    // get
    absl::StatusOr<ImageReference> ref = ParseServerUrl(server_url);
    if (!ref.ok()) return DockerError(std::string(ref.status().message()));
    if (!config_.ServesRegistry(ref->registry)) {
      return DockerNotFound(
          Cat("not our registry: ", ref->registry, " is not a registry this helper serves"));
    }
    std::string workspace = ref->workspace;
    std::string app = ref->app;
    if (!ref->path.empty() && workspace.empty()) {
      return DockerError(Cat("repository ", ref->path, " is not <workspace>/<app>"));
    }
    if (workspace.empty()) {
      if (config_.docker_workspace.empty()) {
        return DockerNotFound(Cat("no app to mint for: the server URL ", ref->registry,
                                  " names no <workspace>/<app> and the config sets no docker_app"));
      }
      workspace = config_.docker_workspace;
      app = config_.docker_app;
    }
    absl::StatusOr<CachedToken> token = Token(ref->registry, workspace, app);
    if (!token.ok()) return DockerError(std::string(token.status().message()));
    *io_.out << FormatDockerCredentials(server_url, token->username, token->password.view())
             << "\n";
    return kExitOk;
  }

  int Kubelet() {
    absl::StatusOr<std::string> input = ReadInput(*io_.in);
    if (!input.ok()) return KubeletError(std::string(input.status().message()));
    absl::StatusOr<std::string> image = ParseCredentialProviderRequest(*input);
    if (!image.ok()) return KubeletError(std::string(image.status().message()));
    absl::StatusOr<ImageReference> ref = ParseImageReference(*image);
    if (!ref.ok()) return KubeletError(std::string(ref.status().message()));
    if (!config_.ServesRegistry(ref->registry)) {
      return KubeletError(
          Cat("not our registry: ", ref->registry, " is not a registry this helper serves"));
    }
    if (ref->workspace.empty()) {
      return KubeletError(Cat("repository ", ref->path, " is not <workspace>/<app>"));
    }
    absl::StatusOr<CachedToken> token = Token(ref->registry, ref->workspace, ref->app);
    if (!token.ok()) return KubeletError(std::string(token.status().message()));
    absl::Duration usable = token->expire_time - config_.refresh_before - deps_.clock->Now();
    long long cache_seconds = std::max<long long>(0, absl::ToInt64Seconds(usable));
    *io_.out << FormatCredentialProviderResponse(ref->Repository(), token->username,
                                                 token->password.view(), cache_seconds)
             << "\n";
    return kExitOk;
  }

 private:
  int DockerError(const std::string& message) {
    *io_.err << "regauth-credential-helper: " << message << "\n";
    *io_.out << message << "\n";
    return kExitError;
  }
  int DockerNotFound(const std::string& why) {
    *io_.err << "regauth-credential-helper: " << why << "\n";
    *io_.out << kNotFoundMessage << "\n";
    return kExitError;
  }
  int KubeletError(const std::string& message) {
    *io_.err << "regauth-credential-helper: " << message << "\n";
    return kExitError;
  }

  const HelperIo& io_;
  const HelperDeps& deps_;
  HelperConfig config_;
};

std::string_view Basename(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool FileExists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

int Run(std::string_view argv0, const std::vector<std::string>& args, const HelperIo& io,
        const HelperDeps& deps) {
  std::optional<std::string> config_flag;
  std::vector<std::string> words;
  for (const std::string& arg : args) {
    if (absl::StartsWith(arg, "--config=")) {
      config_flag = arg.substr(9);
    } else {
      words.push_back(arg);
    }
  }
  bool docker = Basename(argv0) == kDockerHelperName;
  if (!docker && !words.empty() && words[0] == "docker") {
    docker = true;
    words.erase(words.begin());
  }
  bool kubelet = !docker && words.size() == 1 && words[0] == "kubelet";
  bool docker_verb =
      docker && words.size() == 1 &&
      (words[0] == "get" || words[0] == "store" || words[0] == "erase" || words[0] == "list");
  if (!kubelet && !docker_verb) {
    if (!words.empty() && (words[0] == "help" || words[0] == "--help")) {
      *io.out << kUsage;
      return kExitOk;
    }
    *io.err << kUsage;
    return kExitUsage;
  }
  std::string path = ResolveConfigPath(config_flag, io.getenv, FileExists);
  absl::StatusOr<std::string> text = ReadSmallFile(path, "config file");
  absl::StatusOr<HelperConfig> config =
      text.ok() ? HelperConfig::Parse(*text) : absl::StatusOr<HelperConfig>(text.status());
  if (!config.ok()) {
    std::string message = Cat("config ", path, ": ", config.status().message());
    *io.err << "regauth-credential-helper: " << message << "\n";
    if (docker) *io.out << message << "\n";
    return kExitError;
  }
  Helper helper(io, deps, *std::move(config));
  return kubelet ? helper.Kubelet() : helper.Docker(words[0]);
}

}  // namespace

absl::StatusOr<std::string> ParseCredentialProviderRequest(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return absl::InvalidArgumentError("CredentialProviderRequest: not a JSON object");
  }
  auto string_field = [&](const char* name) -> std::optional<std::string> {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (string_field("apiVersion") != std::optional<std::string>(kKubeletApiVersion)) {
    return absl::InvalidArgumentError(
        Cat("CredentialProviderRequest: apiVersion must be ", kKubeletApiVersion));
  }
  if (string_field("kind") != std::optional<std::string>("CredentialProviderRequest")) {
    return absl::InvalidArgumentError(
        "CredentialProviderRequest: kind must be CredentialProviderRequest");
  }
  std::optional<std::string> image = string_field("image");
  if (!image.has_value() || image->empty()) {
    return absl::InvalidArgumentError("CredentialProviderRequest: image is required");
  }
  return *image;
}

std::string FormatCredentialProviderResponse(const std::string& auth_key,
                                             const std::string& username, std::string_view password,
                                             long long cache_seconds) {
  nlohmann::json j = {
      {"apiVersion", kKubeletApiVersion},
      {"kind", "CredentialProviderResponse"},
      {"cacheKeyType", "Image"},
      {"cacheDuration", Cat(cache_seconds, "s")},
      {"auth", {{auth_key, {{"username", username}, {"password", std::string(password)}}}}},
  };
  std::string text = j.dump();
  WipeString(j["auth"][auth_key]["password"].get_ref<std::string&>());
  return text;
}

std::string FormatDockerCredentials(const std::string& server_url, const std::string& username,
                                    std::string_view secret) {
  nlohmann::json j = {
      {"ServerURL", server_url}, {"Username", username}, {"Secret", std::string(secret)}};
  std::string text = j.dump();
  WipeString(j["Secret"].get_ref<std::string&>());
  return text;
}

int RunCredentialHelper(std::string_view argv0, const std::vector<std::string>& args,
                        const HelperIo& io, const HelperDeps& deps) {
  try {
    return Run(argv0, args, io, deps);
  } catch (const std::exception&) {
    *io.err << "regauth-credential-helper: internal error\n";
    return kExitError;
  } catch (...) {
    *io.err << "regauth-credential-helper: internal error\n";
    return kExitError;
  }
}

}  // namespace registryauth::helpers
