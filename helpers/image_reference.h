// Where a pull goes, from what the two protocols hand the helper: the kubelet's image reference
// (`registry.example.com:5000/acme/web:v1`, `.../acme/web@sha256:<hex>`) and docker's server URL
// (`registry.example.com:5000`, `https://registry.example.com:5000/v2/`, sometimes with a path).
// Pure functions on untrusted text: every input is bounded (kMaxReferenceLength) and checked
// byte by byte; errors quote nothing but short, printable input.
//
//   absl::StatusOr<ImageReference> ref = ParseImageReference("reg.example:5000/acme/web:v1");
//   ref->registry == "reg.example:5000"; ref->workspace == "acme"; ref->app == "web";
//
// Parsing checks the syntax only; whether the registry is one the helper serves, and whether the
// path is `<workspace>/<app>` (both ids of the service's rule ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$,
// the only repositories the token realm serves), is the caller's next question, so that a
// foreign image is "not our registry" rather than "bad reference". Thread-safe.
#ifndef REGISTRY_AUTH_HELPERS_IMAGE_REFERENCE_H_
#define REGISTRY_AUTH_HELPERS_IMAGE_REFERENCE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace registryauth::helpers {

inline constexpr std::size_t kMaxReferenceLength = 1024;

struct ImageReference {
  std::string registry;   // host[:port], lower-cased
  std::string path;       // the repository path, e.g. `acme/web`; empty for a bare server URL
  std::string workspace;  // set only when `path` is `<workspace>/<app>` with valid ids
  std::string app;
  std::string tag;     // without ':'; may be empty
  std::string digest;  // `<algorithm>:<hex>`; may be empty

  // `<registry>/<workspace>/<app>`: the kubelet's auth key for the image.
  std::string Repository() const { return registry + "/" + workspace + "/" + app; }
};

// True iff `id` matches ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ (the service's workspace/app ids).
bool IsValidResourceId(std::string_view id);

// An image reference `[registry/]path[:tag][@digest]`. Without a registry host (a first
// component with no '.' or ':' and not `localhost`) the registry is `docker.io`, as docker
// reads it. INVALID_ARGUMENT for bad syntax: empty path components, characters outside the
// distribution grammar, a bad port, tag or digest, longer than kMaxReferenceLength.
absl::StatusOr<ImageReference> ParseImageReference(std::string_view reference);

// docker's server URL: an optional `http://` / `https://`, the host[:port], and optionally a
// path; `/v1/`, `/v2/` and a trailing `/` are ignored. INVALID_ARGUMENT for anything else
// (a query, a fragment, user info, a tag).
absl::StatusOr<ImageReference> ParseServerUrl(std::string_view server_url);

}  // namespace registryauth::helpers

#endif  // REGISTRY_AUTH_HELPERS_IMAGE_REFERENCE_H_
