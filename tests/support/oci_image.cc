#include "tests/support/oci_image.h"

#include <openssl/evp.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/support/subprocess.h"

namespace registryauth::testing {
namespace {

using json = nlohmann::json;

constexpr std::size_t kTarBlock = 512;
constexpr int64_t kFixedMtime = 1700000000;  // 2023-11-14; any fixed value keeps bytes stable

std::string RawSha256(absl::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(md), len);
}

// `n` pseudo-random bytes: SHA-256(label || counter) blocks.
std::string DerivedBytes(const std::string& label, int64_t n) {
  std::string out;
  out.reserve(static_cast<std::size_t>(n) + 32);
  for (int64_t counter = 0; static_cast<int64_t>(out.size()) < n; ++counter) {
    out += RawSha256(absl::StrCat(label, "#", counter));
  }
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Writes `value` as a NUL-terminated octal field of `width` bytes (ustar numeric field).
void PutOctal(char* field, std::size_t width, int64_t value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                static_cast<unsigned long long>(value));
}

// One ustar header block for a regular file ('0') or directory ('5').
std::string TarHeader(const std::string& name, int64_t size, char type) {
  std::string block(kTarBlock, '\0');
  char* h = block.data();
  // A tar header holds fixed-width byte fields, not C strings: the block is zero-filled, and
  // "ustar" is copied with its NUL on purpose.
  // NOLINTBEGIN(bugprone-not-null-terminated-result)
  std::memcpy(h, name.data(), name.size());  // callers keep names < 100 bytes
  PutOctal(h + 100, 8, type == '5' ? 0755 : 0644);
  PutOctal(h + 108, 8, 0);  // uid
  PutOctal(h + 116, 8, 0);  // gid
  PutOctal(h + 124, 12, size);
  PutOctal(h + 136, 12, kFixedMtime);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);  // magic "ustar\0"
  std::memcpy(h + 263, "00", 2);     // version
  std::memcpy(h + 265, "root", 4);   // uname
  std::memcpy(h + 297, "root", 4);   // gname
  // NOLINTEND(bugprone-not-null-terminated-result)
  // Checksum: sum of all header bytes with the checksum field as 8 spaces.
  std::memset(h + 148, ' ', 8);
  unsigned int sum = 0;
  for (unsigned char c : block) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);  // six digits, NUL, then the space already there
  return block;
}

void AppendTarFile(std::string* tar, const std::string& name, const std::string& contents) {
  *tar += TarHeader(name, static_cast<int64_t>(contents.size()), '0');
  *tar += contents;
  tar->append((kTarBlock - contents.size() % kTarBlock) % kTarBlock, '\0');
}

// An uncompressed layer tar: a directory, a text file naming the seed, a pseudo-random file.
std::string LayerTar(const OciImageSpec& spec, int index) {
  const std::string dir = absl::StrCat("layer", index, "/");
  std::string tar = TarHeader(dir, 0, '5');
  AppendTarFile(&tar, dir + "seed.txt", absl::StrCat("seed ", spec.seed, "\nlayer ", index, "\n"));
  AppendTarFile(&tar, dir + "payload.bin",
                DerivedBytes(absl::StrCat(spec.seed, "/layer/", index), spec.layer_payload_bytes));
  tar.append(2 * kTarBlock, '\0');  // end-of-archive marker
  return tar;
}

absl::StatusOr<std::string> Gzip(const std::string& data) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip wrapper; zlib writes mtime 0, no name, OS "unix".
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const std::size_t written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return absl::InternalError("deflate failed");
  out.resize(written);
  return out;
}

std::string BlobPath(const std::string& dir, const std::string& digest) {
  return absl::StrCat(dir, "/blobs/sha256/", digest.substr(std::strlen("sha256:")));
}

absl::Status MakeDirs(const std::string& path) {
  std::string partial;
  for (std::size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || (path[i] == '/' && i > 0)) {
      partial = path.substr(0, i);
      if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::InternalError(absl::StrCat("mkdir ", partial, ": ", std::strerror(errno)));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<OciBlob> PutBlob(const std::string& dir, std::string media_type, std::string bytes) {
  OciBlob blob;
  blob.media_type = std::move(media_type);
  blob.digest = Sha256Digest(bytes);
  blob.size = static_cast<int64_t>(bytes.size());
  blob.bytes = std::move(bytes);
  const absl::Status written = WriteFile(BlobPath(dir, blob.digest), blob.bytes);
  if (!written.ok()) return written;
  return blob;
}

json Descriptor(const OciBlob& blob) {
  return {{"mediaType", blob.media_type}, {"digest", blob.digest}, {"size", blob.size}};
}

bool IsSha256Digest(const std::string& digest) {
  if (!absl::StartsWith(digest, "sha256:") || digest.size() != 7 + 64) return false;
  for (std::size_t i = 7; i < digest.size(); ++i) {
    const char c = digest[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Loads the blob a descriptor names and checks digest and size.
absl::StatusOr<OciBlob> LoadBlob(const std::string& dir, const json& descriptor,
                                 const std::string& what) {
  if (!descriptor.is_object() || !descriptor.contains("digest") ||
      !descriptor["digest"].is_string() || !descriptor.contains("size") ||
      !descriptor["size"].is_number_integer()) {
    return absl::DataLossError(absl::StrCat(what, ": malformed descriptor"));
  }
  OciBlob blob;
  blob.digest = descriptor["digest"].get<std::string>();
  blob.size = descriptor["size"].get<int64_t>();
  if (descriptor.contains("mediaType") && descriptor["mediaType"].is_string()) {
    blob.media_type = descriptor["mediaType"].get<std::string>();
  }
  if (!IsSha256Digest(blob.digest)) {
    return absl::DataLossError(absl::StrCat(what, ": unsupported digest ", blob.digest));
  }
  absl::StatusOr<std::string> bytes = ReadFile(BlobPath(dir, blob.digest));
  if (!bytes.ok())
    return absl::DataLossError(absl::StrCat(what, ": blob ", blob.digest, " missing"));
  if (Sha256Digest(*bytes) != blob.digest) {
    return absl::DataLossError(absl::StrCat(what, ": blob ", blob.digest, " has other content"));
  }
  if (static_cast<int64_t>(bytes->size()) != blob.size) {
    return absl::DataLossError(absl::StrCat(what, ": blob ", blob.digest, " is ", bytes->size(),
                                            " bytes, descriptor says ", blob.size));
  }
  blob.bytes = *std::move(bytes);
  return blob;
}

void CompareBlob(const std::string& what, const OciBlob& a, const OciBlob& b, std::string* out) {
  if (a.media_type != b.media_type) {
    absl::StrAppend(out, what, ": media type ", a.media_type, " vs ", b.media_type, "\n");
  }
  if (a.digest != b.digest || a.size != b.size) {
    absl::StrAppend(out, what, ": ", a.digest, " (", a.size, " bytes) vs ", b.digest, " (", b.size,
                    " bytes)\n");
  } else if (a.bytes != b.bytes) {
    absl::StrAppend(out, what, ": same descriptor ", a.digest, " but different bytes\n");
  }
}

}  // namespace

std::string Sha256Digest(absl::string_view bytes) {
  return absl::StrCat("sha256:", absl::BytesToHexString(RawSha256(bytes)));
}

std::string OciImage::Reference() const { return absl::StrCat("oci:", dir, ":", tag); }

absl::StatusOr<OciImage> WriteOciImage(const std::string& dir, const OciImageSpec& spec) {
  if (dir.empty() || dir.find(':') != std::string::npos) {
    return absl::InvalidArgumentError("OCI layout directory must be non-empty without ':'");
  }
  if (spec.tag.empty() || spec.layer_count < 1 || spec.layer_count > 16 ||
      spec.layer_payload_bytes < 0) {
    return absl::InvalidArgumentError("bad OciImageSpec");
  }
  struct stat st;
  if (stat(absl::StrCat(dir, "/index.json").c_str(), &st) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(dir, " already holds an OCI layout"));
  }
  if (absl::Status made = MakeDirs(absl::StrCat(dir, "/blobs/sha256")); !made.ok()) return made;

  OciImage image;
  image.dir = dir;
  image.tag = spec.tag;
  json history = json::array();
  for (int i = 0; i < spec.layer_count; ++i) {
    const std::string tar = LayerTar(spec, i);
    image.diff_ids.push_back(Sha256Digest(tar));
    absl::StatusOr<std::string> gz = Gzip(tar);
    if (!gz.ok()) return gz.status();
    absl::StatusOr<OciBlob> layer = PutBlob(dir, kOciLayerGzipMediaType, *std::move(gz));
    if (!layer.ok()) return layer.status();
    image.layers.push_back(*std::move(layer));
    history.push_back({{"created", "2023-11-14T22:13:20Z"},
                       {"created_by", absl::StrCat("registry-auth test layer ", i)}});
  }
  // nlohmann::json orders object keys, so the same spec always gives the same bytes.
  const json config = {
      {"architecture", spec.architecture},
      {"os", spec.os},
      {"created", "2023-11-14T22:13:20Z"},
      {"config",
       {{"Env", {"PATH=/usr/local/bin:/usr/bin:/bin"}},
        {"Cmd", {"/bin/true"}},
        {"Labels", {{"org.example.registry-auth.seed", spec.seed}}}}},
      {"rootfs", {{"type", "layers"}, {"diff_ids", image.diff_ids}}},
      {"history", history},
  };
  absl::StatusOr<OciBlob> config_blob = PutBlob(dir, kOciConfigMediaType, config.dump());
  if (!config_blob.ok()) return config_blob.status();
  image.config = *std::move(config_blob);

  json layers = json::array();
  for (const OciBlob& layer : image.layers) layers.push_back(Descriptor(layer));
  const json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kOciManifestMediaType},
      {"config", Descriptor(image.config)},
      {"layers", layers},
      {"annotations", {{"org.example.registry-auth.seed", spec.seed}}},
  };
  absl::StatusOr<OciBlob> manifest_blob = PutBlob(dir, kOciManifestMediaType, manifest.dump());
  if (!manifest_blob.ok()) return manifest_blob.status();
  image.manifest = *std::move(manifest_blob);

  json entry = Descriptor(image.manifest);
  entry["annotations"] = {{kOciRefNameAnnotation, spec.tag}};
  entry["platform"] = {{"architecture", spec.architecture}, {"os", spec.os}};
  const json index = {{"schemaVersion", 2}, {"manifests", {entry}}};
  if (absl::Status s =
          WriteFile(absl::StrCat(dir, "/oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WriteFile(absl::StrCat(dir, "/index.json"), index.dump()); !s.ok()) {
    return s;
  }
  return image;
}

absl::StatusOr<OciImage> ReadOciImage(const std::string& dir, const std::string& tag) {
  absl::StatusOr<std::string> layout = ReadFile(absl::StrCat(dir, "/oci-layout"));
  if (!layout.ok()) return absl::NotFoundError(absl::StrCat(dir, " has no oci-layout file"));
  const json layout_json = json::parse(*layout, nullptr, /*allow_exceptions=*/false);
  if (!layout_json.is_object() || layout_json.value("imageLayoutVersion", "") != "1.0.0") {
    return absl::DataLossError(absl::StrCat(dir, "/oci-layout is not version 1.0.0"));
  }
  absl::StatusOr<std::string> index_text = ReadFile(absl::StrCat(dir, "/index.json"));
  if (!index_text.ok()) return absl::NotFoundError(absl::StrCat(dir, " has no index.json"));
  const json index = json::parse(*index_text, nullptr, /*allow_exceptions=*/false);
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return absl::DataLossError(absl::StrCat(dir, "/index.json is malformed"));
  }
  const json* chosen = nullptr;
  const json& manifests = index["manifests"];
  if (tag.empty()) {
    if (manifests.size() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(dir, "/index.json holds ", manifests.size(), " manifests; name a tag"));
    }
    chosen = &manifests[0];
  } else {
    for (const json& m : manifests) {
      if (m.is_object() && m.contains("annotations") && m["annotations"].is_object() &&
          m["annotations"].value(kOciRefNameAnnotation, "") == tag) {
        chosen = &m;
      }
    }
    if (chosen == nullptr) {
      return absl::NotFoundError(absl::StrCat("no manifest tagged ", tag, " in ", dir));
    }
  }

  OciImage image;
  image.dir = dir;
  image.tag = tag;
  if (tag.empty() && chosen->contains("annotations") && (*chosen)["annotations"].is_object()) {
    image.tag = (*chosen)["annotations"].value(kOciRefNameAnnotation, "");
  }
  absl::StatusOr<OciBlob> manifest = LoadBlob(dir, *chosen, "manifest");
  if (!manifest.ok()) return manifest.status();
  image.manifest = *std::move(manifest);
  const json m = json::parse(image.manifest.bytes, nullptr, /*allow_exceptions=*/false);
  if (!m.is_object() || m.value("schemaVersion", 0) != 2 || !m.contains("config") ||
      !m.contains("layers") || !m["layers"].is_array()) {
    return absl::DataLossError("manifest is not an image manifest");
  }
  const std::string declared = m.value("mediaType", "");
  if (!declared.empty() && declared != kOciManifestMediaType) {
    return absl::DataLossError(absl::StrCat("manifest media type is ", declared));
  }
  if (image.manifest.media_type.empty()) image.manifest.media_type = declared;
  absl::StatusOr<OciBlob> config = LoadBlob(dir, m["config"], "config");
  if (!config.ok()) return config.status();
  image.config = *std::move(config);
  for (std::size_t i = 0; i < m["layers"].size(); ++i) {
    absl::StatusOr<OciBlob> layer = LoadBlob(dir, m["layers"][i], absl::StrCat("layer ", i));
    if (!layer.ok()) return layer.status();
    image.layers.push_back(*std::move(layer));
  }
  const json c = json::parse(image.config.bytes, nullptr, /*allow_exceptions=*/false);
  if (c.is_object() && c.contains("rootfs") && c["rootfs"].is_object() &&
      c["rootfs"].contains("diff_ids") && c["rootfs"]["diff_ids"].is_array()) {
    for (const json& d : c["rootfs"]["diff_ids"]) {
      if (d.is_string()) image.diff_ids.push_back(d.get<std::string>());
    }
  }
  return image;
}

std::string DescribeOciDifference(const OciImage& a, const OciImage& b) {
  std::string out;
  CompareBlob("manifest", a.manifest, b.manifest, &out);
  CompareBlob("config", a.config, b.config, &out);
  if (a.layers.size() != b.layers.size()) {
    absl::StrAppend(&out, "layer count: ", a.layers.size(), " vs ", b.layers.size(), "\n");
  }
  for (std::size_t i = 0; i < a.layers.size() && i < b.layers.size(); ++i) {
    CompareBlob(absl::StrCat("layer ", i), a.layers[i], b.layers[i], &out);
  }
  if (a.diff_ids != b.diff_ids) absl::StrAppend(&out, "diff_ids differ\n");
  return out;
}

}  // namespace registryauth::testing
