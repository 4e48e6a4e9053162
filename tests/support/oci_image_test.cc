#include "tests/support/oci_image.h"

#include <zlib.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/subprocess.h"

namespace registryauth::testing {
namespace {

using json = nlohmann::json;

std::string NewDir() {
  absl::StatusOr<std::string> dir = MakeTempDir("oci");
  EXPECT_TRUE(dir.ok()) << dir.status();
  return dir.ok() ? *dir + "/layout" : "";
}

std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  inflateInit2(&zs, 15 + 16);
  std::string out;
  char buf[65536];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

TEST(OciImageTest, Sha256DigestKnownAnswer) {
  EXPECT_EQ(Sha256Digest(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Digest("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(OciImageTest, WritesAValidLayoutAndReadsItBack) {
  OciImageSpec spec;
  spec.seed = "web-v1";
  spec.tag = "v1";
  spec.layer_count = 2;
  const std::string dir = NewDir();
  absl::StatusOr<OciImage> written = WriteOciImage(dir, spec);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->Reference(), absl::StrCat("oci:", dir, ":v1"));
  ASSERT_EQ(written->layers.size(), 2u);

  // index.json names the manifest with the tag annotation.
  absl::StatusOr<std::string> index_text = ReadFile(dir + "/index.json");
  ASSERT_TRUE(index_text.ok());
  const json index = json::parse(*index_text);
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], written->manifest.digest);
  EXPECT_EQ(index["manifests"][0]["annotations"][kOciRefNameAnnotation], "v1");
  EXPECT_EQ(json::parse(*ReadFile(dir + "/oci-layout"))["imageLayoutVersion"], "1.0.0");

  // The manifest describes exactly the config and layers; the config's diff_ids are the
  // digests of the decompressed layers, each a tar that tar(1) lists.
  const json manifest = json::parse(written->manifest.bytes);
  EXPECT_EQ(manifest["mediaType"], kOciManifestMediaType);
  EXPECT_EQ(manifest["config"]["digest"], written->config.digest);
  EXPECT_EQ(manifest["config"]["size"], written->config.size);
  const json config = json::parse(written->config.bytes);
  ASSERT_EQ(config["rootfs"]["diff_ids"].size(), 2u);
  std::optional<std::string> tar = FindExecutable("tar", {"/usr/bin", "/bin"});
  for (int i = 0; i < 2; ++i) {
    const OciBlob& layer = written->layers[i];
    EXPECT_EQ(manifest["layers"][i]["digest"], layer.digest);
    EXPECT_EQ(layer.media_type, kOciLayerGzipMediaType);
    EXPECT_EQ(Sha256Digest(layer.bytes), layer.digest);
    const std::string plain = Gunzip(layer.bytes);
    ASSERT_FALSE(plain.empty()) << "layer " << i << " is not gzip";
    EXPECT_EQ(config["rootfs"]["diff_ids"][i], Sha256Digest(plain));
    EXPECT_EQ(written->diff_ids[i], Sha256Digest(plain));
    if (tar.has_value()) {
      const std::string path = absl::StrCat(dir, "/blobs/sha256/", layer.digest.substr(7));
      absl::StatusOr<SubprocessResult> listed = RunSubprocess(
          {*tar, "-tvzf", path}, {"PATH=/usr/bin:/bin", "LC_ALL=C"}, absl::Seconds(10));
      ASSERT_TRUE(listed.ok()) << listed.status();
      EXPECT_EQ(listed->exit_code, 0) << listed->stderr_text;
      EXPECT_EQ(listed->stderr_text, "");  // no "checksum" or "unexpected EOF" complaints
      EXPECT_TRUE(absl::StrContains(listed->stdout_text, absl::StrCat("layer", i, "/seed.txt")))
          << listed->stdout_text;
      EXPECT_TRUE(absl::StrContains(listed->stdout_text, "32768"))  // payload size
          << listed->stdout_text;
    }
  }

  absl::StatusOr<OciImage> read = ReadOciImage(dir, "v1");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(DescribeOciDifference(*written, *read), "");
  EXPECT_EQ(read->tag, "v1");
  absl::StatusOr<OciImage> only = ReadOciImage(dir, "");  // the single manifest
  ASSERT_TRUE(only.ok()) << only.status();
  EXPECT_EQ(only->tag, "v1");
  EXPECT_EQ(only->manifest.digest, written->manifest.digest);
}

TEST(OciImageTest, SameSeedSameBytesOtherSeedOtherImage) {
  OciImageSpec spec;
  spec.seed = "alpha";
  absl::StatusOr<OciImage> a = WriteOciImage(NewDir(), spec);
  absl::StatusOr<OciImage> a_again = WriteOciImage(NewDir(), spec);
  spec.seed = "beta";
  absl::StatusOr<OciImage> b = WriteOciImage(NewDir(), spec);
  ASSERT_TRUE(a.ok() && a_again.ok() && b.ok());
  EXPECT_EQ(a->manifest.digest, a_again->manifest.digest);
  EXPECT_EQ(DescribeOciDifference(*a, *a_again), "");
  EXPECT_NE(a->manifest.digest, b->manifest.digest);
  EXPECT_NE(a->config.digest, b->config.digest);
  for (std::size_t i = 0; i < a->layers.size(); ++i) {
    EXPECT_NE(a->layers[i].digest, b->layers[i].digest);
  }
  const std::string diff = DescribeOciDifference(*a, *b);
  EXPECT_TRUE(absl::StrContains(diff, "manifest: " + a->manifest.digest)) << diff;
  EXPECT_TRUE(absl::StrContains(diff, "layer 1: ")) << diff;
}

TEST(OciImageTest, ReadDetectsTamperingAndMissingTags) {
  const std::string dir = NewDir();
  OciImageSpec spec;
  spec.tag = "t";
  spec.layer_count = 1;
  absl::StatusOr<OciImage> image = WriteOciImage(dir, spec);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(ReadOciImage(dir, "other").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadOciImage(dir + "-nowhere", "t").status().code(), absl::StatusCode::kNotFound);
  // Writing again into the same layout is refused.
  EXPECT_EQ(WriteOciImage(dir, spec).status().code(), absl::StatusCode::kInvalidArgument);

  const std::string layer_path =
      absl::StrCat(dir, "/blobs/sha256/", image->layers[0].digest.substr(7));
  std::string bytes = image->layers[0].bytes;
  bytes[bytes.size() / 2] ^= 0x01;
  ASSERT_TRUE(WriteFile(layer_path, bytes).ok());
  absl::StatusOr<OciImage> tampered = ReadOciImage(dir, "t");
  EXPECT_EQ(tampered.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(tampered.status().message(), "layer 0")) << tampered.status();
}

TEST(OciImageTest, RefusesBadSpecsAndDirectoriesWithColons) {
  OciImageSpec spec;
  spec.layer_count = 0;
  EXPECT_EQ(WriteOciImage(NewDir(), spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec.layer_count = 1;
  EXPECT_EQ(WriteOciImage(NewDir() + ":x", spec).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace registryauth::testing
