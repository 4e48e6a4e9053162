// Container images without a container engine: writes an OCI image layout directory by hand
// (image-spec v1.0: `oci-layout`, `index.json`, `blobs/sha256/<hex>`) with a config, one or more
// gzip-compressed tar layers and an OCI manifest, all derived from a seed string, so two seeds
// give two different images and one seed always gives the same bytes. And reads such a
// directory back (e.g. what `skopeo copy docker://... oci:DIR:TAG` wrote), checking every blob
// against its digest, so a test can compare a pulled image with the pushed one byte for byte.
//
//   OciImageSpec spec;
//   spec.seed = "web-v1";
//   spec.tag = "v1";
//   ASSIGN_OR_RETURN(OciImage pushed, WriteOciImage(dir, spec));
//   skopeo->Copy(pushed.Reference(), registry->Reference("acme/web", "v1"));
//   skopeo->Copy(registry->Reference("acme/web", "v1"), "oci:" + out_dir + ":v1");
//   ASSIGN_OR_RETURN(OciImage pulled, ReadOciImage(out_dir, "v1"));
//   EXPECT_EQ(DescribeOciDifference(pushed, pulled), "");
//
// Layers are gzip (zlib, deterministic: no timestamp, no file name), because skopeo compresses
// uncompressed layers when pushing to a registry, which would change every digest. Free
// functions; thread-safe.
#ifndef REGISTRY_AUTH_TESTS_SUPPORT_OCI_IMAGE_H_
#define REGISTRY_AUTH_TESTS_SUPPORT_OCI_IMAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace registryauth::testing {

inline constexpr char kOciManifestMediaType[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciConfigMediaType[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kOciLayerGzipMediaType[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kOciRefNameAnnotation[] = "org.opencontainers.image.ref.name";

// "sha256:" + lower-case hex SHA-256 of `bytes` (OpenSSL EVP).
std::string Sha256Digest(absl::string_view bytes);

// A content descriptor and the content itself.
struct OciBlob {
  std::string media_type;
  std::string digest;  // "sha256:<64 hex>"
  int64_t size = 0;
  std::string bytes;
};

struct OciImageSpec {
  std::string seed = "registry-auth";       // every byte of content derives from it
  std::string tag = "latest";               // index.json's org.opencontainers.image.ref.name
  int layer_count = 2;                      // 1..16
  int64_t layer_payload_bytes = 32 * 1024;  // pseudo-random (incompressible) file per layer
  std::string architecture = "amd64";
  std::string os = "linux";
};

struct OciImage {
  std::string dir;  // the layout directory
  std::string tag;
  OciBlob manifest;
  OciBlob config;
  std::vector<OciBlob> layers;        // in manifest order
  std::vector<std::string> diff_ids;  // sha256 of each uncompressed layer tar (from the config)

  // The skopeo/containers-image reference `oci:<dir>:<tag>`.
  std::string Reference() const;
};

// Creates the layout in `dir` (created if missing; must not already hold an index.json).
// INVALID_ARGUMENT for a bad spec or a `dir` containing ':' (the oci: transport could not name
// it); INTERNAL for I/O or compression failures.
absl::StatusOr<OciImage> WriteOciImage(const std::string& dir, const OciImageSpec& spec);

// Reads the image tagged `tag` from the layout in `dir` (`tag` empty: the index must hold
// exactly one manifest). Checks the oci-layout file, that every blob's file matches its
// descriptor's digest and size (DATA_LOSS otherwise), that the manifest is an OCI image
// manifest, and fills diff_ids from the config. NOT_FOUND if the tag is not in the index.
absl::StatusOr<OciImage> ReadOciImage(const std::string& dir, const std::string& tag);

// "" when `a` and `b` have the same manifest, config and layers (media types, digests, sizes
// and bytes); otherwise one line per difference, naming digests only (never dumping blobs).
std::string DescribeOciDifference(const OciImage& a, const OciImage& b);

}  // namespace registryauth::testing

#endif  // REGISTRY_AUTH_TESTS_SUPPORT_OCI_IMAGE_H_
