// Fuzz target for regauth-credential-helper's stdin and file parsers (helpers/): the kubelet's
// CredentialProviderRequest JSON (ParseCredentialProviderRequest, then ParseImageReference on
// its image), docker's server URL (ParseServerUrl), the token cache file (ParseCachedToken) and
// the config file (HelperConfig::Parse). The first byte picks: 'k' kubelet JSON, 'd' server URL,
// 'c' cache file, 'f' config file, anything else an image reference; the rest is the text.
//
// Besides "never crash", it aborts when an invariant breaks:
//   - a parsed reference has a lower-case registry host of printable ASCII, a path of valid
//     components, workspace and app only together, both of the service's id rule, and a
//     Repository() of `<registry>/<workspace>/<app>`; re-parsing `<registry>/<path>` gives the
//     same registry and path;
//   - every parse error is INVALID_ARGUMENT with a short message (at most 200 bytes), so no
//     input is echoed whole;
//   - a parsed cache file serializes to text that parses back to the same token;
//   - a parsed config has an address and a registry, and its error messages name a line but
//     never quote a value (the input's `secret` marker never appears in them).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "helpers/credential_helper.h"
#include "helpers/helper_config.h"
#include "helpers/image_reference.h"
#include "helpers/token_cache.h"

namespace {

using ::registryauth::helpers::HelperConfig;
using ::registryauth::helpers::ImageReference;
using ::registryauth::helpers::IsValidResourceId;

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckError(const absl::Status& status) {
  Check(status.code() == absl::StatusCode::kInvalidArgument);
  Check(status.message().size() <= 200);
}

void CheckReference(const ImageReference& ref, bool reparse) {
  Check(!ref.registry.empty());
  for (char c : ref.registry) {
    Check(c > 0x20 && c < 0x7f && !(c >= 'A' && c <= 'Z') && c != '/');
  }
  Check(ref.workspace.empty() == ref.app.empty());
  if (!ref.workspace.empty()) {
    Check(IsValidResourceId(ref.workspace) && IsValidResourceId(ref.app));
    Check(ref.path == ref.workspace + "/" + ref.app);
    Check(ref.Repository() == ref.registry + "/" + ref.path);
  }
  if (reparse && !ref.path.empty() && ref.registry != "docker.io") {
    absl::StatusOr<ImageReference> again =
        registryauth::helpers::ParseImageReference(ref.registry + "/" + ref.path);
    Check(again.ok() && again->registry == ref.registry && again->path == ref.path);
  }
}

void FuzzImage(std::string_view text) {
  absl::StatusOr<ImageReference> ref = registryauth::helpers::ParseImageReference(text);
  if (ref.ok()) {
    Check(!ref->path.empty());
    CheckReference(*ref, true);
  } else {
    CheckError(ref.status());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char mode = static_cast<char>(data[0]);
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (mode) {
    case 'k': {
      absl::StatusOr<std::string> image =
          registryauth::helpers::ParseCredentialProviderRequest(text);
      if (image.ok()) {
        Check(!image->empty());
        FuzzImage(*image);
      } else {
        CheckError(image.status());
      }
      break;
    }
    case 'd': {
      absl::StatusOr<ImageReference> ref = registryauth::helpers::ParseServerUrl(text);
      if (ref.ok()) {
        CheckReference(*ref, false);
      } else {
        CheckError(ref.status());
      }
      break;
    }
    case 'c': {
      absl::StatusOr<registryauth::helpers::CachedToken> token =
          registryauth::helpers::ParseCachedToken(text);
      if (token.ok()) {
        Check(!token->username.empty() && !token->password.empty());
        absl::StatusOr<registryauth::helpers::CachedToken> again =
            registryauth::helpers::ParseCachedToken(
                registryauth::helpers::SerializeCachedToken(*token));
        Check(again.ok() && again->username == token->username &&
              again->password.view() == token->password.view() &&
              again->registry == token->registry && again->expire_time == token->expire_time &&
              again->service == token->service);
      } else {
        Check(token.status().message() == "corrupt token cache file");
      }
      break;
    }
    case 'f': {
      absl::StatusOr<HelperConfig> config = HelperConfig::Parse(text);
      if (config.ok()) {
        Check(!config->address.empty() && !config->registries.empty());
        for (const std::string& r : config->registries) Check(config->ServesRegistry(r));
      } else {
        Check(config.status().code() == absl::StatusCode::kInvalidArgument);
        Check(config.status().message().find("secret") == std::string_view::npos);
      }
      break;
    }
    default:
      FuzzImage(text);
  }
  return 0;
}
