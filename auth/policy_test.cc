#include "auth/policy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "auth/principal.h"
#include "common/secret.h"
#include "gtest/gtest.h"

namespace registryauth::auth {
namespace {

// The example of policy.h. sha256("foo") is the frontend's key hash.
constexpr std::string_view kExample =
    "# The Temporal build worker, over mTLS.\n"
    "caller build-worker\n"
    "  identity spiffe://example.org/build-worker\n"
    "  permissions credentials.read\n"
    "# The web front end, with an API key (only its SHA-256 is stored here).\n"
    "caller frontend\n"
    "  identity cn:frontend.internal\n"
    "  api_key sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\n"
    "  permissions registries.manage act_as_user\n";

std::unique_ptr<CallerPolicy> MustParse(std::string_view text) {
  auto policy = CallerPolicy::Parse(text);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? *std::move(policy) : nullptr;
}

std::string ParseError(std::string_view text) {
  auto policy = CallerPolicy::Parse(text);
  if (policy.ok()) return "<parsed>";
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(policy.status().message());
}

// "  api_key sha256:...\n" for `key`.
std::string KeyLine(std::string_view key) { return "  api_key " + HashApiKey(key) + "\n"; }

std::string NameOf(const std::optional<Principal>& p) { return p.has_value() ? p->name : "<none>"; }

std::string TempPath(std::string_view name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", std::string(name));
}

std::string WriteFile(std::string_view name, std::string_view content) {
  const std::string path = TempPath(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  EXPECT_TRUE(out.good()) << path;
  return path;
}

// ---------------------------------------------------------------------------------------------
// Parsing and lookup by identity

TEST(CallerPolicyTest, ParsesTheDocumentedExample) {
  auto policy = MustParse(kExample);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->caller_count(), 2u);

  std::optional<Principal> worker = policy->FindByIdentity("spiffe://example.org/build-worker");
  ASSERT_TRUE(worker.has_value());
  EXPECT_EQ(worker->name, "build-worker");
  EXPECT_EQ(worker->identity, "spiffe://example.org/build-worker");
  EXPECT_EQ(worker->method, AuthMethod::kMtls);
  EXPECT_EQ(worker->permissions, std::set<Permission>{Permission::kCredentialsRead});

  std::optional<Principal> frontend = policy->FindByIdentity("cn:frontend.internal");
  ASSERT_TRUE(frontend.has_value());
  EXPECT_EQ(frontend->name, "frontend");
  EXPECT_EQ(frontend->identity, "cn:frontend.internal");
  EXPECT_EQ(frontend->method, AuthMethod::kMtls);
  // registries.manage includes registries.read.
  EXPECT_EQ(frontend->permissions,
            (std::set<Permission>{Permission::kRegistriesManage, Permission::kRegistriesRead,
                                  Permission::kActAsUser}));
}

TEST(CallerPolicyTest, IdentitiesMatchExactly) {
  auto policy = MustParse(kExample);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(NameOf(policy->FindByIdentity("spiffe://example.org/build-worker")), "build-worker");
  EXPECT_EQ(NameOf(policy->FindByIdentity("cn:frontend.internal")), "frontend");
  for (std::string_view miss : {
           "",
           "spiffe://example.org/build-worker/",
           "spiffe://example.org/build-worker2",
           "spiffe://example.org/build-worke",
           "spiffe://example.org/Build-worker",
           "SPIFFE://example.org/build-worker",
           "spiffe://example.org",
           "spiffe://other.org/build-worker",
           " spiffe://example.org/build-worker",
           "example.org/build-worker",
           "cn:frontend.internal ",
           "cn:FRONTEND.internal",
           "cn:frontend",
           "frontend.internal",
           "CN:frontend.internal",
           "cn:build-worker",
           "build-worker",
           "frontend",
           "apikey:frontend",
       }) {
    EXPECT_FALSE(policy->FindByIdentity(miss).has_value()) << '"' << miss << '"';
  }
  // A NUL byte is part of the identity, not its end.
  EXPECT_FALSE(policy->FindByIdentity(std::string("cn:frontend.internal\0x", 22)).has_value());
}

TEST(CallerPolicyTest, CommentsBlankLinesTabsAndCrlf) {
  auto policy = MustParse(
      "\n"
      "   # indented comment\r\n"
      "caller a   # trailing comment\r\n"
      "\tidentity cn:host#1\r\n"  // '#' inside a token belongs to it
      "\t\tpermissions  tokens.mint\t credentials.read # both\r\n"
      "\r\n"
      "#caller b\n"
      "caller b\n"
      " identity spiffe://td/x\n"
      " permissions registries.read");  // no final newline
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->caller_count(), 2u);
  std::optional<Principal> a = policy->FindByIdentity("cn:host#1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->name, "a");
  EXPECT_EQ(a->permissions,
            (std::set<Permission>{Permission::kTokensMint, Permission::kCredentialsRead}));
  EXPECT_EQ(NameOf(policy->FindByIdentity("spiffe://td/x")), "b");
}

TEST(CallerPolicyTest, RepeatableLines) {
  auto policy = MustParse(
      "caller deployer\n"
      "  identity spiffe://example.org/ns/prod/sa/deployer\n"
      "  identity cn:deployer\n"
      "  permissions tokens.mint\n"
      "  permissions registries.read tokens.mint\n" +
      KeyLine("old-key") + KeyLine("new-key"));
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(NameOf(policy->FindByIdentity("spiffe://example.org/ns/prod/sa/deployer")), "deployer");
  EXPECT_EQ(NameOf(policy->FindByIdentity("cn:deployer")), "deployer");
  // Both keys work while one is rolled.
  EXPECT_EQ(NameOf(policy->FindByApiKey("old-key")), "deployer");
  EXPECT_EQ(NameOf(policy->FindByApiKey("new-key")), "deployer");
  std::optional<Principal> p = policy->FindByApiKey("new-key");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->permissions,
            (std::set<Permission>{Permission::kTokensMint, Permission::kRegistriesRead}));
}

TEST(CallerPolicyTest, AcceptsValidNamesAndIdentities) {
  for (const std::string& name :
       std::vector<std::string>{"a", "0", "build-worker", "a.b_c-d", std::string(63, 'z')}) {
    EXPECT_NE(
        MustParse(absl::StrCat("caller ", name, "\n  identity cn:x\n  permissions tokens.mint\n")),
        nullptr)
        << name;
  }
  for (std::string_view id : {"spiffe://example.org", "spiffe://example.org/a",
                              "spiffe://a-b_c.d/A/b.c/_-/x", "cn:x", "cn:ünïcode", "cn:a=b,c"}) {
    EXPECT_NE(MustParse(absl::StrCat("caller a\n  identity ", std::string(id),
                                     "\n  permissions tokens.mint\n")),
              nullptr)
        << id;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: every one names the line.

struct ErrorCase {
  std::string text;
  std::string message;
};

TEST(CallerPolicyTest, SyntaxErrorsNameTheLine) {
  const std::string ok_entry = "caller ok\n  identity cn:ok\n  permissions tokens.mint\n";
  const std::vector<ErrorCase> cases = {
      {"bogus line\n",
       "policy line 1: expected \"caller\", \"identity\", \"api_key\", \"permissions\" or "
       "\"workspaces\""},
      {ok_entry + "  identities cn:x\n",
       "policy line 4: expected \"caller\", \"identity\", \"api_key\", \"permissions\" or "
       "\"workspaces\""},
      {"  identity cn:x\n", "policy line 1: \"identity\" before the first \"caller\" line"},
      {"# c\n\npermissions tokens.mint\n",
       "policy line 3: \"permissions\" before the first \"caller\" line"},
      {"caller a\nidentity cn:x\n",
       "policy line 2: \"identity\" must be indented under its \"caller\" line"},
      {ok_entry + " caller b\n", "policy line 4: \"caller\" must not be indented"},
      {"caller\n", "policy line 1: \"caller\" takes exactly one name"},
      {"caller a b\n", "policy line 1: \"caller\" takes exactly one name"},
      {"caller Build\n", "policy line 1: caller name must match [a-z0-9][a-z0-9._-]{0,62}"},
      {"caller -a\n", "policy line 1: caller name must match [a-z0-9][a-z0-9._-]{0,62}"},
      {"caller a/b\n", "policy line 1: caller name must match [a-z0-9][a-z0-9._-]{0,62}"},
      {"caller " + std::string(64, 'a') + "\n",
       "policy line 1: caller name must match [a-z0-9][a-z0-9._-]{0,62}"},
      {"caller a\n  identity\n", "policy line 2: \"identity\" takes exactly one value"},
      {"caller a\n  identity cn:a cn:b\n", "policy line 2: \"identity\" takes exactly one value"},
      {"caller a\n  identity frontend\n",
       "policy line 2: identity must be spiffe://... or cn:<common name>"},
      {"caller a\n  identity https://example.org/x\n",
       "policy line 2: identity must be spiffe://... or cn:<common name>"},
      {"caller a\n  identity cn:\n",
       "policy line 2: identity cn: needs a common name of 1 to 256 bytes without control "
       "characters"},
      {"caller a\n  identity cn:" + std::string(257, 'x') + "\n",
       "policy line 2: identity cn: needs a common name of 1 to 256 bytes without control "
       "characters"},
      {"caller a\n  identity cn:a\001b\n",
       "policy line 2: identity cn: needs a common name of 1 to 256 bytes without control "
       "characters"},
      {"caller a\n  api_key\n",
       "policy line 2: api_key must be sha256:<64 hex digits>, the hash of the key (HashApiKey), "
       "never the key itself"},
      {"caller a\n  api_key sha256:abcd\n",
       "policy line 2: api_key must be sha256:<64 hex digits>, the hash of the key (HashApiKey), "
       "never the key itself"},
      {"caller a\n  api_key sha256:" + std::string(63, 'a') + "g\n",
       "policy line 2: api_key must be sha256:<64 hex digits>, the hash of the key (HashApiKey), "
       "never the key itself"},
      {"caller a\n  api_key sha1:" + std::string(64, 'a') + "\n",
       "policy line 2: api_key must be sha256:<64 hex digits>, the hash of the key (HashApiKey), "
       "never the key itself"},
      {"caller a\n  api_key " + HashApiKey("k") + " " + HashApiKey("l") + "\n",
       "policy line 2: api_key must be sha256:<64 hex digits>, the hash of the key (HashApiKey), "
       "never the key itself"},
      {"caller a\n  identity cn:a\n  permissions\n",
       "policy line 3: \"permissions\" needs at least one permission name"},
      {"caller a\n  identity cn:a\n  permissions credentials.read credentials.write\n",
       "policy line 3: unknown permission \"credentials.write\""},
      {"caller a\n  identity cn:a\n  permissions Credentials.Read\n",
       "policy line 3: unknown permission"},  // not quoted: not a permission-shaped token
      {"caller a\n  permissions tokens.mint\ncaller b\n",
       "policy line 1: caller \"a\" has no identity or api_key"},
      {ok_entry + "caller b\n  permissions tokens.mint\n",
       "policy line 4: caller \"b\" has no identity or api_key"},
      {"caller a\n  identity cn:a\n", "policy line 1: caller \"a\" has no permissions"},
      {"", "policy: no callers"},
      {"# nothing here\n\n   \n", "policy: no callers"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ParseError(c.text), c.message) << c.text;
  }
}

TEST(CallerPolicyTest, WorkspacesConfineACaller) {
  const auto policy = MustParse(
      "caller open\n  identity cn:open\n  permissions tokens.mint\n"
      "caller star\n  identity cn:star\n  permissions tokens.mint\n  workspaces *\n"
      "caller helper\n  identity cn:helper\n" +
      KeyLine("helper-key") + "  permissions tokens.mint\n  workspaces acme b-2\n  workspaces " +
      std::string(63, 'z') + "\n");
  ASSERT_NE(policy, nullptr);
  // No line, or `*`: every workspace, as before the line existed.
  for (const char* identity : {"cn:open", "cn:star"}) {
    const std::optional<Principal> p = policy->FindByIdentity(identity);
    ASSERT_TRUE(p.has_value());
    EXPECT_FALSE(p->workspaces.has_value()) << identity;
    EXPECT_TRUE(p->MayUseWorkspace("acme"));
    EXPECT_TRUE(p->MayUseWorkspace("anything"));
  }
  // Repeated lines add up; both ways of authenticating carry the list.
  const std::set<std::string, std::less<>> expected = {"acme", "b-2", std::string(63, 'z')};
  for (const std::optional<Principal>& p :
       {policy->FindByIdentity("cn:helper"), policy->FindByApiKey("helper-key")}) {
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE(p->workspaces.has_value());
    EXPECT_EQ(*p->workspaces, expected);
    EXPECT_TRUE(p->MayUseWorkspace("acme"));
    EXPECT_FALSE(p->MayUseWorkspace("beta"));
    EXPECT_FALSE(p->MayUseWorkspace("acm"));
    EXPECT_FALSE(p->MayUseWorkspace(""));
  }
}

TEST(CallerPolicyTest, WorkspacesErrorsNameTheLine) {
  const std::string head = "caller a\n  identity cn:a\n  permissions tokens.mint\n";
  const std::string bad_id = "workspace id must match ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ (or be *)";
  const std::vector<ErrorCase> cases = {
      {head + "  workspaces\n",
       "policy line 4: \"workspaces\" needs * or at least one workspace id"},
      {head + "  workspaces acme *\n",
       "policy line 4: caller \"a\": * (every workspace) cannot be combined with workspace "
       "ids"},
      {head + "  workspaces *\n  workspaces acme\n",
       "policy line 5: caller \"a\": * (every workspace) cannot be combined with workspace "
       "ids"},
      {head + "  workspaces acme\n  workspaces acme\n",
       "policy line 5: workspace \"acme\" listed twice"},
      {head + "  workspaces Acme\n", "policy line 4: " + bad_id},
      {head + "  workspaces 1acme\n", "policy line 4: " + bad_id},
      {head + "  workspaces acme-\n", "policy line 4: " + bad_id},
      {head + "  workspaces acme_x\n", "policy line 4: " + bad_id},
      {head + "  workspaces workspaces/acme\n", "policy line 4: " + bad_id},
      {head + "  workspaces " + std::string(64, 'a') + "\n", "policy line 4: " + bad_id},
      {head + "  workspaces **\n", "policy line 4: " + bad_id},
      {head + "workspaces acme\n",
       "policy line 4: \"workspaces\" must be indented under its \"caller\" line"},
      {"  workspaces acme\n", "policy line 1: \"workspaces\" before the first \"caller\" line"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ParseError(c.text), c.message) << c.text;
  }
}

TEST(CallerPolicyTest, DuplicatesAreRefused) {
  const std::string key = HashApiKey("the-key");
  std::string upper_key = key;
  for (char& c : upper_key) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  upper_key.replace(0, 7, "sha256:");
  const std::vector<ErrorCase> cases = {
      {"caller a\n  identity cn:a\n  permissions tokens.mint\n"
       "caller a\n  identity cn:b\n  permissions tokens.mint\n",
       "policy line 4: duplicate caller \"a\" (first on line 1)"},
      {"caller a\n  identity cn:x\n  permissions tokens.mint\n"
       "caller b\n  identity cn:x\n  permissions tokens.mint\n",
       "policy line 5: duplicate identity (first on line 2)"},
      {"caller a\n  identity spiffe://td/a\n  identity spiffe://td/a\n",
       "policy line 3: duplicate identity (first on line 2)"},
      {"caller a\n  api_key " + key +
           "\n  permissions tokens.mint\n"
           "caller b\n  api_key " +
           key + "\n  permissions tokens.mint\n",
       "policy line 5: duplicate api_key (first on line 2)"},
      // The same hash in upper-case hex is the same key.
      {"caller a\n  api_key " + key + "\n  api_key " + upper_key + "\n",
       "policy line 3: duplicate api_key (first on line 2)"},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ParseError(c.text), c.message) << c.text;
  }
}

TEST(CallerPolicyTest, ErrorsNeverEchoAKeyPastedByMistake) {
  const std::string key = "rak_SuPerSecret-Key_0123456789abcdefghijklmnopq";
  for (const std::string& text : {
           "caller a\n  api_key " + key + "\n",
           "caller a\n  api_key sha256:" + key + "\n",
           "caller a\n  identity " + key + "\n",
           "caller a\n  identity cn:x\n  permissions " + key + "\n",
           "caller " + key + "\n",
           key + "\n",
       }) {
    const std::string message = ParseError(text);
    EXPECT_EQ(message.find("SuPerSecret"), std::string::npos) << message;
    EXPECT_EQ(message.find("rak_"), std::string::npos) << message;
  }
}

// ---------------------------------------------------------------------------------------------
// API keys

TEST(CallerPolicyTest, FindByApiKey) {
  auto policy = MustParse("caller frontend\n" + KeyLine("rak_frontend-key") +
                          "  permissions registries.manage\n"
                          "caller deployer\n"
                          "  identity cn:deployer\n" +
                          KeyLine("rak_deployer-key") + "  permissions tokens.mint\n");
  ASSERT_NE(policy, nullptr);

  std::optional<Principal> frontend = policy->FindByApiKey("rak_frontend-key");
  ASSERT_TRUE(frontend.has_value());
  EXPECT_EQ(frontend->name, "frontend");
  EXPECT_EQ(frontend->identity, "apikey:frontend");
  EXPECT_EQ(frontend->method, AuthMethod::kApiKey);
  EXPECT_TRUE(frontend->Has(Permission::kRegistriesManage));
  EXPECT_TRUE(frontend->Has(Permission::kRegistriesRead));
  EXPECT_FALSE(frontend->Has(Permission::kTokensMint));

  std::optional<Principal> deployer = policy->FindByApiKey("rak_deployer-key");
  ASSERT_TRUE(deployer.has_value());
  EXPECT_EQ(deployer->name, "deployer");
  EXPECT_EQ(deployer->identity, "apikey:deployer");

  for (std::string_view wrong : {
           "",
           "rak_frontend-ke",  // a prefix of the real key
           "rak_",             // a prefix too
           "r",
           "rak_frontend-key ",  // the real key plus one character
           "rak_frontend-keyX",
           "RAK_FRONTEND-KEY",
           "rak_other-key",
       }) {
    EXPECT_FALSE(policy->FindByApiKey(wrong).has_value()) << '"' << wrong << '"';
  }
  // The stored hash is not itself a credential.
  EXPECT_FALSE(policy->FindByApiKey(HashApiKey("rak_frontend-key")).has_value());
  // API keys and identities are separate name spaces.
  EXPECT_FALSE(policy->FindByApiKey("cn:deployer").has_value());
  EXPECT_FALSE(policy->FindByIdentity("rak_deployer-key").has_value());
  EXPECT_FALSE(policy->FindByIdentity("apikey:deployer").has_value());
}

TEST(CallerPolicyTest, UpperCaseHexKeyHashIsAccepted) {
  std::string hash = HashApiKey("k");
  for (std::size_t i = 7; i < hash.size(); ++i) {
    if (hash[i] >= 'a' && hash[i] <= 'f') hash[i] = static_cast<char>(hash[i] - 'a' + 'A');
  }
  auto policy = MustParse("caller a\n  api_key " + hash + "\n  permissions tokens.mint\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(NameOf(policy->FindByApiKey("k")), "a");
}

TEST(CallerPolicyTest, PolicyWithoutApiKeysFindsNoKey) {
  auto policy = MustParse(kExample.substr(0, kExample.find("# The web")));
  ASSERT_NE(policy, nullptr);
  EXPECT_FALSE(policy->FindByApiKey("foo").has_value());
  EXPECT_FALSE(policy->FindByApiKey("").has_value());
}

TEST(HashApiKeyTest, KnownAnswers) {
  EXPECT_EQ(HashApiKey("foo"),
            "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
  EXPECT_EQ(HashApiKey(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HashApiKey("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '-' ? 62 : 63;
}

TEST(GenerateApiKeyTest, FormatAndUniqueness) {
  std::set<std::string> seen;
  std::set<char> alphabet;
  for (int i = 0; i < 2000; ++i) {
    absl::StatusOr<SecretString> key = GenerateApiKey();
    ASSERT_TRUE(key.ok()) << key.status();
    const std::string_view k = key->view();
    ASSERT_EQ(k.size(), 47u) << "rak_ + 43 characters";
    ASSERT_EQ(k.substr(0, 4), "rak_");
    for (char c : k.substr(4)) {
      ASSERT_TRUE(IsBase64UrlChar(c)) << int{c};
      alphabet.insert(c);
    }
    // 32 bytes = 256 bits in 43 characters (258 bits): the last 2 bits are zero padding.
    EXPECT_EQ(Base64UrlValue(k.back()) & 3, 0);
    EXPECT_TRUE(seen.emplace(k).second) << "duplicate key";
  }
  // Every character of the alphabet shows up in 86000 random characters (each is missed with
  // probability (63/64)^86000 < 1e-580), so the encoder maps all 64 values, '-' and '_' too.
  EXPECT_EQ(alphabet.size(), 64u);
}

TEST(GenerateApiKeyTest, GeneratedKeyWorksInAPolicy) {
  absl::StatusOr<SecretString> key = GenerateApiKey();
  ASSERT_TRUE(key.ok());
  auto policy = MustParse("caller ci\n  api_key " + HashApiKey(key->view()) +
                          "\n  permissions credentials.read\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(NameOf(policy->FindByApiKey(key->view())), "ci");
}

// ---------------------------------------------------------------------------------------------
// Files

TEST(CallerPolicyLoadFileTest, LoadsAFile) {
  const std::string path = WriteFile("policy_ok.txt", kExample);
  auto policy = CallerPolicy::LoadFile(path);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->caller_count(), 2u);
  EXPECT_EQ(NameOf((*policy)->FindByApiKey("foo")), "frontend");
}

TEST(CallerPolicyLoadFileTest, MissingFile) {
  const std::string path = TempPath("does_not_exist.txt");
  auto policy = CallerPolicy::LoadFile(path);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(policy.status().message().find(path), absl::string_view::npos) << policy.status();
}

TEST(CallerPolicyLoadFileTest, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of their mode";
  const std::string path = WriteFile("policy_unreadable.txt", kExample);
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  auto policy = CallerPolicy::LoadFile(path);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(CallerPolicyLoadFileTest, DirectoryIsRefused) {
  const std::string path = TempPath("policy_dir");
  ::mkdir(path.c_str(), 0700);
  auto policy = CallerPolicy::LoadFile(path);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CallerPolicyLoadFileTest, SizeLimitIsOneMiB) {
  // A valid policy padded with a comment to exactly 1 MiB loads; one byte more is refused.
  std::string text(kExample);
  text += "#";
  text += std::string((1 << 20) - text.size() - 1, 'x');
  text += "\n";
  ASSERT_EQ(text.size(), 1u << 20);
  auto policy = CallerPolicy::LoadFile(WriteFile("policy_1mib.txt", text));
  EXPECT_TRUE(policy.ok()) << policy.status();

  text.insert(text.size() - 1, "x");
  const std::string path = WriteFile("policy_too_large.txt", text);
  policy = CallerPolicy::LoadFile(path);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(policy.status().message(), absl::StrCat("policy file ", path, " is larger than 1 MiB"));
}

TEST(CallerPolicyLoadFileTest, ParseErrorsArePrefixedWithThePath) {
  const std::string path = WriteFile("policy_bad.txt", "caller a\n  identity cn:a\n");
  auto policy = CallerPolicy::LoadFile(path);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(policy.status().message(),
            absl::StrCat("policy file ", path, ": policy line 1: caller \"a\" has no permissions"));
}

// ---------------------------------------------------------------------------------------------
// PolicyHolder

TEST(PolicyHolderTest, ReloadSwapsOnSuccessAndKeepsTheOldPolicyOnError) {
  const std::string path = TempPath("policy_reload.txt");
  WriteFile("policy_reload.txt", "caller one\n  identity cn:one\n  permissions tokens.mint\n");
  auto initial = CallerPolicy::LoadFile(path);
  ASSERT_TRUE(initial.ok()) << initial.status();
  PolicyHolder holder(std::shared_ptr<const CallerPolicy>(*std::move(initial)));
  std::shared_ptr<const CallerPolicy> snapshot = holder.Get();
  EXPECT_EQ(NameOf(snapshot->FindByIdentity("cn:one")), "one");

  // A good file is swapped in; a snapshot taken before stays usable and unchanged.
  WriteFile("policy_reload.txt", "caller two\n  identity cn:two\n  permissions tokens.mint\n");
  ASSERT_TRUE(holder.ReloadFromFile(path).ok());
  EXPECT_EQ(NameOf(holder.Get()->FindByIdentity("cn:two")), "two");
  EXPECT_FALSE(holder.Get()->FindByIdentity("cn:one").has_value());
  EXPECT_EQ(NameOf(snapshot->FindByIdentity("cn:one")), "one");

  // A bad file: the error names the line, and the current policy stays.
  WriteFile("policy_reload.txt", "caller three\n  identity cn:three\n  permissions nope\n");
  absl::Status status = holder.ReloadFromFile(path);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("policy line 3: unknown permission \"nope\""),
            absl::string_view::npos)
      << status;
  EXPECT_EQ(NameOf(holder.Get()->FindByIdentity("cn:two")), "two");

  // An empty (e.g. truncated) file is an error too, not a policy that refuses everybody.
  WriteFile("policy_reload.txt", "");
  EXPECT_FALSE(holder.ReloadFromFile(path).ok());
  EXPECT_EQ(NameOf(holder.Get()->FindByIdentity("cn:two")), "two");

  // A missing file as well.
  EXPECT_EQ(holder.ReloadFromFile(TempPath("policy_reload_missing.txt")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(NameOf(holder.Get()->FindByIdentity("cn:two")), "two");

  // A reload changes a caller's confinement: principals found after it carry the new list.
  WriteFile("policy_reload.txt",
            "caller two\n  identity cn:two\n  permissions tokens.mint\n  workspaces acme\n");
  ASSERT_TRUE(holder.ReloadFromFile(path).ok());
  std::optional<Principal> confined = holder.Get()->FindByIdentity("cn:two");
  ASSERT_TRUE(confined.has_value());
  EXPECT_TRUE(confined->MayUseWorkspace("acme"));
  EXPECT_FALSE(confined->MayUseWorkspace("beta"));
  WriteFile("policy_reload.txt",
            "caller two\n  identity cn:two\n  permissions tokens.mint\n  workspaces beta\n");
  ASSERT_TRUE(holder.ReloadFromFile(path).ok());
  confined = holder.Get()->FindByIdentity("cn:two");
  ASSERT_TRUE(confined.has_value());
  EXPECT_FALSE(confined->MayUseWorkspace("acme"));
  EXPECT_TRUE(confined->MayUseWorkspace("beta"));
}

TEST(PolicyHolderTest, SetAndConcurrentGet) {
  auto a = CallerPolicy::Parse("caller a\n  identity cn:a\n  permissions tokens.mint\n");
  auto b = CallerPolicy::Parse("caller b\n  identity cn:b\n  permissions tokens.mint\n");
  ASSERT_TRUE(a.ok() && b.ok());
  std::shared_ptr<const CallerPolicy> pa(*std::move(a));
  std::shared_ptr<const CallerPolicy> pb(*std::move(b));
  PolicyHolder holder(pa);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        std::shared_ptr<const CallerPolicy> p = holder.Get();
        if (p == nullptr || p->caller_count() != 1) ++bad;
      }
    });
  }
  for (int i = 0; i < 2000; ++i) holder.Set(i % 2 == 0 ? pb : pa);
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(holder.Get(), pa);  // the last Set (i = 1999)
  holder.Set(nullptr);
  EXPECT_EQ(holder.Get(), nullptr);
}

}  // namespace
}  // namespace registryauth::auth
