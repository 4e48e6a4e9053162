#include "auth/policy.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace registryauth::auth {
namespace {

constexpr char kKey[] = "rak_test-key-0123456789abcdefghijklmnopqrstuvwxyz";

std::string Policy() {
  return absl::StrCat(
      "# comment\n"
      "caller build-worker\n"
      "  identity spiffe://example.org/build-worker\n"
      "  permissions credentials.read\n"
      "\n"
      "caller frontend   # trailing comment\n"
      "  identity cn:frontend.internal\n"
      "  api_key ", HashApiKey(kKey), "\n"
      "  permissions registries.manage\n"
      "  permissions act_as_user\n");
}

TEST(CallerPolicyTest, FindsCallersByIdentityAndApiKey) {
  auto policy = CallerPolicy::Parse(Policy());
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->caller_count(), 2u);

  auto worker = (*policy)->FindByIdentity("spiffe://example.org/build-worker");
  ASSERT_TRUE(worker.has_value());
  EXPECT_EQ(worker->name, "build-worker");
  EXPECT_TRUE(worker->Has(Permission::kCredentialsRead));
  EXPECT_FALSE(worker->Has(Permission::kRegistriesManage));

  auto fe = (*policy)->FindByIdentity("cn:frontend.internal");
  ASSERT_TRUE(fe.has_value());
  EXPECT_TRUE(fe->Has(Permission::kActAsUser));
  EXPECT_TRUE(fe->Has(Permission::kRegistriesManage));

  auto by_key = (*policy)->FindByApiKey(kKey);
  ASSERT_TRUE(by_key.has_value());
  EXPECT_EQ(by_key->identity, "apikey:frontend");
  EXPECT_EQ(by_key->method, AuthMethod::kApiKey);

  EXPECT_FALSE((*policy)->FindByApiKey("rak_wrong").has_value());
  EXPECT_FALSE((*policy)->FindByApiKey("").has_value());
  EXPECT_FALSE((*policy)->FindByApiKey(std::string(kKey).substr(0, 20)).has_value());
  EXPECT_FALSE((*policy)->FindByIdentity("spiffe://example.org/build-worker/x").has_value());
  EXPECT_FALSE((*policy)->FindByIdentity("cn:FRONTEND.internal").has_value());
}

TEST(CallerPolicyTest, ErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string expect;
  };
  const Case cases[] = {
      {"caller a\n  identity cn:a\n  permissions credentials.write\n",
       "policy line 3: unknown permission \"credentials.write\""},
      {"  identity cn:a\n", "policy line 1: indented line before"},
      {"caller Bad_Name\n", "policy line 1: `caller NAME`"},
      {"caller a\n  permissions tokens.mint\n", "policy line 1: caller a needs at least one"},
      {"caller a\n  identity cn:a\ncaller a\n  identity cn:b\n", "policy line 3: caller a defined"},
      {"caller a\n  identity cn:x\ncaller b\n  identity cn:x\n", "policy line 4: identity cn:x"},
      {"caller a\n  identity https://x\n", "policy line 2: identity must be"},
      {"caller a\n  api_key sha256:abc\n", "policy line 2: api_key must be"},
      {"caller a\n  colour blue\n", "policy line 2: unknown setting `colour`"},
      {"allow everything\n", "policy line 1: expected `caller NAME`"},
  };
  for (const Case& c : cases) {
    auto p = CallerPolicy::Parse(c.text);
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(p.status().message(), c.expect))
        << p.status() << " expected " << c.expect;
  }
}

TEST(CallerPolicyTest, DuplicateApiKeyRefusedAndKeyNeverInErrors) {
  const std::string hash = HashApiKey(kKey);
  auto p = CallerPolicy::Parse(absl::StrCat("caller a\n  api_key ", hash, "\ncaller b\n  api_key ",
                                            hash, "\n"));
  ASSERT_FALSE(p.ok());
  EXPECT_FALSE(absl::StrContains(p.status().message(), hash.substr(7)));
}

TEST(ApiKeyTest, GeneratedKeysHaveTheFormatAndDiffer) {
  auto a = GenerateApiKey();
  auto b = GenerateApiKey();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 4u + 43u);
  EXPECT_TRUE(absl::StartsWith(std::string(a->view()), "rak_"));
  EXPECT_NE(a->view(), b->view());
  EXPECT_EQ(HashApiKey("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(PolicyHolderTest, ReloadKeepsTheOldPolicyOnError) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/policy.txt");
  { std::ofstream(path) << Policy(); }
  PolicyHolder holder(nullptr);
  ASSERT_TRUE(holder.ReloadFromFile(path).ok());
  EXPECT_EQ(holder.Get()->caller_count(), 2u);
  { std::ofstream(path) << "caller broken\n  permissions nope\n"; }
  absl::Status s = holder.ReloadFromFile(path);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(absl::StrContains(s.message(), "policy line 2")) << s;
  EXPECT_EQ(holder.Get()->caller_count(), 2u);  // still the old one
  EXPECT_EQ(holder.ReloadFromFile(path + ".missing").code(), absl::StatusCode::kNotFound);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace registryauth::auth
