#include "services/validation.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "crypto/jwk_test_util.h"
#include "crypto/jws.h"
#include "gtest/gtest.h"

namespace registryauth::services {
namespace {

constexpr char kPat[] = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

// OK, or an INVALID_ARGUMENT whose message starts with "<field>: ".
::testing::AssertionResult FailsOn(const absl::Status& s, const std::string& field) {
  if (s.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure() << "expected INVALID_ARGUMENT, got " << s;
  }
  if (!absl::StartsWith(s.message(), field + ": ")) {
    return ::testing::AssertionFailure() << "message does not name " << field << ": " << s;
  }
  return ::testing::AssertionSuccess();
}

RegistryConfigInput Ghcr(std::string owner = "acme") {
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kGhcr;
  in.owner = std::move(owner);
  in.secret = SecretString(kPat);
  return in;
}

RegistryConfigInput Acr(std::string server = "myregistry.azurecr.io",
                        std::string user = "pull-token") {
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kAcr;
  in.login_server = std::move(server);
  in.username = std::move(user);
  in.secret = SecretString("s3cr3t-PASSWORD");
  return in;
}

RegistryConfigInput Distribution(std::string url = "https://registry.example.com",
                                 std::string ns = "acme") {
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kDistribution;
  in.url = std::move(url);
  in.repository_namespace = std::move(ns);
  return in;
}

RegistryConfigInput Generic(std::string url = "https://registry.example.com:5000") {
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kGeneric;
  in.url = std::move(url);
  in.username = "robot";
  in.secret = SecretString("hunter2-but-longer");
  return in;
}

RegistryConfigInput GitHubApp() {
  RegistryConfigInput in;
  in.type = in.settings_type = RegistryType::kGitHubApp;
  in.app_id = "123456";
  in.installation_id = 987654321;
  in.secret = crypto::testing::SharedRsaKeyPem();
  return in;
}

// ---- display_name

TEST(ValidateDisplayNameTest, AcceptsUnicodeAndEmpty) {
  EXPECT_TRUE(ValidateDisplayName("", "display_name").ok());
  EXPECT_TRUE(ValidateDisplayName("ACME Corp. – prod", "display_name").ok());
  EXPECT_TRUE(ValidateDisplayName("日本語 🚀", "display_name").ok());
  EXPECT_TRUE(ValidateDisplayName(std::string(256, 'x'), "display_name").ok());
}

TEST(ValidateDisplayNameTest, RejectsBadInput) {
  EXPECT_TRUE(
      FailsOn(ValidateDisplayName(std::string(257, 'x'), "app.display_name"), "app.display_name"));
  EXPECT_TRUE(FailsOn(ValidateDisplayName("a\nb", "display_name"), "display_name"));
  EXPECT_TRUE(FailsOn(ValidateDisplayName("tab\there", "display_name"), "display_name"));
  EXPECT_TRUE(FailsOn(ValidateDisplayName("del\x7f", "display_name"), "display_name"));
  EXPECT_TRUE(FailsOn(ValidateDisplayName("c1\xc2\x85", "display_name"), "display_name"));
  EXPECT_TRUE(FailsOn(ValidateDisplayName("bad\xff", "display_name"), "display_name"));
  EXPECT_TRUE(FailsOn(ValidateDisplayName("trunc\xe2\x80", "display_name"), "display_name"));
  EXPECT_TRUE(FailsOn(ValidateDisplayName("overlong\xc0\xaf", "display_name"), "display_name"));
  EXPECT_TRUE(
      FailsOn(ValidateDisplayName("surrogate\xed\xa0\x80", "display_name"), "display_name"));
  EXPECT_TRUE(
      FailsOn(ValidateDisplayName(std::string("nul\0x", 5), "display_name"), "display_name"));
}

// ---- ghcr.owner

TEST(ValidateGhcrOwnerTest, Good) {
  for (const char* owner : {"a", "acme", "Acme-Corp", "octo-cat-42", "x1"}) {
    EXPECT_TRUE(ValidateGhcrOwner(owner, "registry_config.ghcr.owner").ok()) << owner;
  }
  EXPECT_TRUE(ValidateGhcrOwner(std::string(39, 'a'), "f").ok());
}

TEST(ValidateGhcrOwnerTest, Bad) {
  for (const char* owner : {"", "-acme", "acme-", "ac--me", "ac_me", "ac.me", "ac me", "ac/me"}) {
    EXPECT_TRUE(FailsOn(ValidateGhcrOwner(owner, "registry_config.ghcr.owner"),
                        "registry_config.ghcr.owner"))
        << owner;
  }
  EXPECT_FALSE(ValidateGhcrOwner(std::string(40, 'a'), "f").ok());
}

// ---- acr.login_server

TEST(ValidateAcrLoginServerTest, Good) {
  for (const char* s : {"myregistry.azurecr.io", "my-reg-abc123.azurecr.io", "gov.azurecr.us",
                        "china1.azurecr.cn"}) {
    EXPECT_TRUE(ValidateAcrLoginServer(s, "registry_config.acr.login_server").ok()) << s;
  }
}

TEST(ValidateAcrLoginServerTest, Bad) {
  for (const char* s :
       {"", "azurecr.io", ".azurecr.io", "https://myregistry.azurecr.io",
        "myregistry.azurecr.io:443", "myregistry.azurecr.io/path", "MyRegistry.azurecr.io",
        "myregistry.azurecr.com", "my_reg.azurecr.io", "-reg.azurecr.io", "reg-.azurecr.io",
        "a..b.azurecr.io", "myregistry.azurecr.io.evil.com"}) {
    EXPECT_TRUE(FailsOn(ValidateAcrLoginServer(s, "registry_config.acr.login_server"),
                        "registry_config.acr.login_server"))
        << s;
  }
  EXPECT_FALSE(ValidateAcrLoginServer(std::string(64, 'a') + ".azurecr.io", "f").ok());
}

// ---- usernames

TEST(ValidateUsernameTest, GoodAndBad) {
  for (const char* u :
       {"robot", "robot$acme+ci", "00000000-0000-0000-0000-000000000000", "user@example.com"}) {
    EXPECT_TRUE(ValidateUsername(u, "registry_config.acr.username").ok()) << u;
  }
  EXPECT_TRUE(ValidateUsername(std::string(128, 'u'), "f").ok());
  for (const char* u : {"", "with space", "colon:user", "tab\tuser", "caf\xc3\xa9"}) {
    EXPECT_TRUE(FailsOn(ValidateUsername(u, "registry_config.generic.username"),
                        "registry_config.generic.username"))
        << u;
  }
  EXPECT_FALSE(ValidateUsername(std::string(129, 'u'), "f").ok());
}

// ---- URLs

TEST(ValidateRegistryUrlTest, Good) {
  for (const char* u : {"https://registry.example.com", "https://registry.example.com/",
                        "https://registry.example.com:5000", "https://Registry.Example.com:443/",
                        "https://10.0.0.5:5000", "https://[2001:db8::1]:5000", "https://localhost",
                        "http://localhost:5000", "http://127.0.0.1:5000", "http://127.12.0.1",
                        "http://[::1]:5000/", "https://registry"}) {
    EXPECT_TRUE(ValidateRegistryUrl(u, "registry_config.distribution.url").ok()) << u;
  }
}

TEST(ValidateRegistryUrlTest, Bad) {
  for (const char* u : {"",
                        "registry.example.com",
                        "ftp://registry.example.com",
                        "HTTPS://registry.example.com",
                        "http://registry.example.com",
                        "http://10.0.0.5:5000",
                        "http://[2001:db8::1]",
                        "https://user:pass@registry.example.com",
                        "https://registry.example.com/v2",
                        "https://registry.example.com//",
                        "https://registry.example.com?x=1",
                        "https://registry.example.com#frag",
                        "https://registry.example.com:0",
                        "https://registry.example.com:65536",
                        "https://registry.example.com:",
                        "https://registry.example.com:abc",
                        "https://",
                        "https://:5000",
                        "https://reg istry.example.com",
                        "https://registry_.example.com",
                        "https://256.1.1.1",
                        "https://1.2.3",
                        "https://[::1",
                        "https://[zz::1]",
                        "https://[::1]x",
                        "http://localhost.evil.com"}) {
    EXPECT_TRUE(FailsOn(ValidateRegistryUrl(u, "registry_config.generic.url"),
                        "registry_config.generic.url"))
        << u;
  }
  EXPECT_FALSE(ValidateRegistryUrl("https://" + std::string(2050, 'a'), "f").ok());
}

TEST(ValidateRegistryUrlTest, NeverEchoesUserInfo) {
  absl::Status s = ValidateRegistryUrl("https://bob:Sup3rS3cret@r.example.com", "url");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("Sup3rS3cret"), absl::string_view::npos) << s;
}

// ---- repository namespace

TEST(ValidateRepositoryNamespaceTest, Good) {
  for (const char* ns :
       {"acme", "teams/acme", "a.b", "a_b", "a__b", "a---b", "a-b/c.d/e__f", "0acme", "x/y/z"}) {
    EXPECT_TRUE(ValidateRepositoryNamespace(ns, "f").ok()) << ns;
  }
}

TEST(ValidateRepositoryNamespaceTest, Bad) {
  for (const char* ns : {"", "Acme", "/acme", "acme/", "a//b", "a___b", "a..b", "a._b", "-a", "a-",
                         "a_", ".a", "a b", "a:b"}) {
    EXPECT_TRUE(FailsOn(
        ValidateRepositoryNamespace(ns, "registry_config.distribution.repository_namespace"),
        "registry_config.distribution.repository_namespace"))
        << ns;
  }
  EXPECT_FALSE(ValidateRepositoryNamespace(std::string(256, 'a'), "f").ok());
  EXPECT_TRUE(ValidateRepositoryNamespace(std::string(255, 'a'), "f").ok());
}

// ---- secret

TEST(ValidateSecretFormatTest, GoodAndBadNeverEchoed) {
  EXPECT_TRUE(ValidateSecretFormat(kPat, "registry_config.secret").ok());
  EXPECT_TRUE(ValidateSecretFormat(std::string(4096, 'k'), "s").ok());
  EXPECT_TRUE(FailsOn(ValidateSecretFormat(std::string(4097, 'k'), "registry_config.secret"),
                      "registry_config.secret"));
  for (const std::string& bad :
       {std::string("ghp_with space_SECRETVALUE"), std::string("ghp_newline\nSECRETVALUE"),
        std::string("ghp_nonascii\xc3\xa9SECRETVALUE")}) {
    absl::Status s = ValidateSecretFormat(bad, "registry_config.secret");
    EXPECT_TRUE(FailsOn(s, "registry_config.secret"));
    EXPECT_EQ(s.message().find("SECRETVALUE"), absl::string_view::npos) << s;
    EXPECT_EQ(s.message().find("ghp_"), absl::string_view::npos) << s;
  }
}

// ---- whole config

TEST(ValidateRegistryConfigInputTest, GoodPerType) {
  EXPECT_TRUE(ValidateRegistryConfigInput(Ghcr(), false).ok());
  EXPECT_TRUE(ValidateRegistryConfigInput(Acr(), false).ok());
  EXPECT_TRUE(ValidateRegistryConfigInput(Distribution(), false).ok());
  EXPECT_TRUE(ValidateRegistryConfigInput(Generic(), false).ok());
  RegistryConfigInput d = Distribution();
  d.username = "svc";
  d.secret = SecretString("svc-password");
  EXPECT_TRUE(ValidateRegistryConfigInput(d, false).ok());
}

TEST(ValidateRegistryConfigInputTest, TypeRequiredAndMustMatchSettings) {
  RegistryConfigInput in = Ghcr();
  in.type = RegistryType::kUnspecified;
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(in, false), "registry_config.type"));

  in = Ghcr();
  in.settings_type = RegistryType::kUnspecified;
  absl::Status s = ValidateRegistryConfigInput(in, false);
  EXPECT_TRUE(FailsOn(s, "registry_config.ghcr"));
  EXPECT_NE(s.message().find("required for type GHCR"), absl::string_view::npos);

  in = Acr();
  in.type = RegistryType::kGhcr;
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(in, false), "registry_config.acr"));
}

TEST(ValidateRegistryConfigInputTest, NamesTheBadField) {
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(Ghcr(""), false), "registry_config.ghcr.owner"));
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(Acr("x.example.com"), false),
                      "registry_config.acr.login_server"));
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(Acr("r.azurecr.io", ""), false),
                      "registry_config.acr.username"));
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(Distribution("http://r.example.com"), false),
                      "registry_config.distribution.url"));
  EXPECT_TRUE(
      FailsOn(ValidateRegistryConfigInput(Distribution("https://r.example.com", "Bad/NS"), false),
              "registry_config.distribution.repository_namespace"));
  RegistryConfigInput g = Generic();
  g.username.clear();
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(g, false), "registry_config.generic.username"));
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(Generic("https://x:99999"), false),
                      "registry_config.generic.url"));
  RegistryConfigInput named = Ghcr();
  named.display_name = "bad\x01";
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(named, false), "registry_config.display_name"));
}

TEST(ValidateRegistryConfigInputTest, StrayFieldsOfOtherTypesRejected) {
  RegistryConfigInput in = Ghcr();
  in.url = "https://r.example.com";
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(in, false), "registry_config"));
  in = Acr();
  in.repository_namespace = "acme";
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(in, false), "registry_config"));
}

TEST(ValidateRegistryConfigInputTest, SecretRequirementPerType) {
  for (RegistryConfigInput in : {Ghcr(), Acr(), Generic()}) {
    in.secret = SecretString();
    absl::Status s = ValidateRegistryConfigInput(in, false);
    EXPECT_TRUE(FailsOn(s, "registry_config.secret"));
    EXPECT_TRUE(ValidateRegistryConfigInput(in, /*secret_already_stored=*/true).ok());
  }
  EXPECT_TRUE(ValidateRegistryConfigInput(Distribution(), false).ok());
  RegistryConfigInput bad = Ghcr();
  bad.secret = SecretString("ghp_has space_0123456789");
  absl::Status s = ValidateRegistryConfigInput(bad, false);
  EXPECT_TRUE(FailsOn(s, "registry_config.secret"));
  EXPECT_EQ(s.message().find("0123456789"), absl::string_view::npos);
}

// ---- GITHUB_APP

TEST(ValidateGitHubAppTest, GoodInputs) {
  EXPECT_TRUE(ValidateRegistryConfigInput(GitHubApp(), false).ok());
  RegistryConfigInput in = GitHubApp();
  in.app_id = "Iv23liAbCdEf12345678";
  in.repositories = {"api", "Web.Site_2-x"};
  in.permissions = {{"contents", "read"}, {"pull_requests", "write"}, {"administration", "admin"}};
  EXPECT_TRUE(ValidateRegistryConfigInput(in, false).ok())
      << ValidateRegistryConfigInput(in, false);
  in.app_id = "Iv1.0123456789abcdef";
  EXPECT_TRUE(ValidateRegistryConfigInput(in, false).ok());
  in.app_id = "9223372036854775807";
  EXPECT_TRUE(ValidateRegistryConfigInput(in, false).ok());
}

TEST(ValidateGitHubAppTest, BadAppIdInstallationAndNarrowing) {
  auto with = [](auto change) {
    RegistryConfigInput in = GitHubApp();
    change(in);
    return ValidateRegistryConfigInput(in, false);
  };
  for (const char* id :
       {"", "0123", "12345678901234567890", "12a", "Iv", "iv23abc", "Iv2-3", "Iv23 abc", "-1"}) {
    EXPECT_TRUE(
        FailsOn(with([&](auto& in) { in.app_id = id; }), "registry_config.github_app.app_id"))
        << id;
  }
  EXPECT_TRUE(FailsOn(with([](auto& in) { in.installation_id = 0; }),
                      "registry_config.github_app.installation_id"));
  EXPECT_TRUE(FailsOn(with([](auto& in) { in.installation_id = -5; }),
                      "registry_config.github_app.installation_id"));
  for (const char* repo : {"", ".", "..", "acme/web", "a b", "a,b", "caf\xC3\xA9"}) {
    EXPECT_TRUE(FailsOn(with([&](auto& in) { in.repositories = {repo}; }),
                        "registry_config.github_app.repositories"))
        << repo;
  }
  EXPECT_TRUE(FailsOn(with([](auto& in) { in.repositories = {std::string(101, 'a')}; }),
                      "registry_config.github_app.repositories"));
  EXPECT_TRUE(FailsOn(with([](auto& in) {
                        in.repositories = {"Web", "web"};
                      }),
                      "registry_config.github_app.repositories"));
  EXPECT_TRUE(FailsOn(with([](auto& in) {
                        in.repositories.assign(kMaxAppRepositories + 1, "r");
                        for (size_t i = 0; i < in.repositories.size(); ++i) {
                          in.repositories[i] += std::to_string(i);
                        }
                      }),
                      "registry_config.github_app.repositories"));
  for (auto [name, level] :
       std::vector<std::pair<std::string, std::string>>{{"Contents", "read"},
                                                        {"contents", "Read"},
                                                        {"contents", "sudo"},
                                                        {"", "read"},
                                                        {"1contents", "read"},
                                                        {"con-tents", "read"},
                                                        {std::string(65, 'a'), "read"}}) {
    // Init-captures: C++17 lets a lambda name a structured binding only this way.
    absl::Status s = with([&name = name, &level = level](auto& in) {
      in.permissions = {{name, level}};
    });
    EXPECT_TRUE(FailsOn(s, "registry_config.github_app.permissions") ||
                FailsOn(s, "registry_config.github_app.permissions[" + name + "]"))
        << name << "=" << level << ": " << s;
  }
  EXPECT_TRUE(FailsOn(with([](auto& in) {
                        in.permissions = {{"contents", "read"}, {"contents", "write"}};
                      }),
                      "registry_config.github_app.permissions"));
}

TEST(ValidateGitHubAppTest, StrayFieldsBothWays) {
  RegistryConfigInput in = GitHubApp();
  in.username = "x-access-token";
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(in, false), "registry_config"));
  in = GitHubApp();
  in.owner = "acme";
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(in, false), "registry_config"));
  for (auto change : std::vector<void (*)(RegistryConfigInput&)>{
           [](RegistryConfigInput& c) { c.app_id = "1"; },
           [](RegistryConfigInput& c) { c.installation_id = 1; },
           [](RegistryConfigInput& c) { c.repositories = {"web"}; },
           [](RegistryConfigInput& c) {
             c.permissions = {{"contents", "read"}};
           }}) {
    RegistryConfigInput ghcr = Ghcr();
    change(ghcr);
    EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(ghcr, false), "registry_config"));
  }
}

TEST(ValidateGitHubAppTest, SecretMustBeAnRsaPrivateKeyAndIsNeverEchoed) {
  RegistryConfigInput in = GitHubApp();
  in.secret = SecretString();
  EXPECT_TRUE(FailsOn(ValidateRegistryConfigInput(in, false), "registry_config.secret"));
  EXPECT_TRUE(ValidateRegistryConfigInput(in, /*secret_already_stored=*/true).ok());

  const std::string pem(crypto::testing::SharedRsaKeyPem().view());
  const std::string body_line = pem.substr(pem.find('\n') + 1, 64);
  auto fails = [&](const std::string& secret) {
    absl::Status s =
        ValidateSecret(RegistryType::kGitHubApp, SecretString(secret), "registry_config.secret");
    EXPECT_EQ(s.message().find(body_line.substr(0, 16)), absl::string_view::npos) << s;
    return FailsOn(s, "registry_config.secret");
  };
  EXPECT_TRUE(fails("ghp_abcdefghijklmnopqrstuvwxyz0123456789"));  // a PAT by mistake
  EXPECT_TRUE(fails(pem.substr(0, pem.size() / 2)));               // truncated
  std::string flipped = pem;
  flipped[pem.size() / 2] = flipped[pem.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(fails(flipped));
  EXPECT_TRUE(fails(pem + std::string(kMaxGitHubAppKeyBytes, '\n')));
  EXPECT_TRUE(fails(std::string("\x01") + pem));
  absl::StatusOr<SecretString> ec = crypto::GenerateEs256KeyPem();
  ASSERT_TRUE(ec.ok());
  absl::Status s = ValidateSecret(RegistryType::kGitHubApp, *ec, "registry_config.secret");
  EXPECT_TRUE(FailsOn(s, "registry_config.secret"));
  EXPECT_NE(s.message().find("RSA"), absl::string_view::npos) << s;

  // GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY"): accepted like PKCS#8. Too small: refused
  // with the reason.
  absl::StatusOr<std::string> pkcs1 =
      crypto::testing::ReencodePrivateKeyPem(crypto::testing::SharedRsaKeyPem(), "traditional");
  ASSERT_TRUE(pkcs1.ok());
  ASSERT_TRUE(absl::StrContains(*pkcs1, "BEGIN RSA PRIVATE KEY"));
  EXPECT_TRUE(ValidateSecret(RegistryType::kGitHubApp, SecretString(*pkcs1), "f").ok());
  absl::StatusOr<std::string> small = crypto::testing::GenerateOtherKeyPem("RSA1024");
  ASSERT_TRUE(small.ok());
  s = ValidateSecret(RegistryType::kGitHubApp, SecretString(*small), "registry_config.secret");
  EXPECT_TRUE(FailsOn(s, "registry_config.secret"));
  EXPECT_NE(s.message().find("2048"), absl::string_view::npos) << s;
  absl::StatusOr<std::string> encrypted =
      crypto::testing::ReencodePrivateKeyPem(crypto::testing::SharedRsaKeyPem(), "encrypted");
  ASSERT_TRUE(encrypted.ok());
  EXPECT_TRUE(fails(*encrypted));

  // CRLF line ends (a key pasted from Windows) still parse.
  std::string crlf;
  for (char c : pem) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  EXPECT_TRUE(ValidateSecret(RegistryType::kGitHubApp, SecretString(crlf), "f").ok());
  // The other types keep their rule: a PEM (with spaces and newlines) is no password.
  EXPECT_TRUE(FailsOn(
      ValidateSecret(RegistryType::kGeneric, crypto::testing::SharedRsaKeyPem(), "f"), "f"));
}

TEST(SecretHintTest, GitHubAppKeyHintIsItsPublicFingerprint) {
  auto key = crypto::SigningKey::FromPrivateKeyPem(crypto::testing::SharedRsaKeyPem());
  ASSERT_TRUE(key.ok());
  const std::string hint = SecretHint(RegistryType::kGitHubApp, crypto::testing::SharedRsaKeyPem());
  EXPECT_EQ(hint, (*key)->public_key()->Sha256Fingerprint());
  EXPECT_TRUE(absl::StartsWith(hint, "SHA256:")) << hint;
  EXPECT_EQ(hint.size(), 7u + 44u);
  EXPECT_EQ(SecretHint(RegistryType::kGitHubApp, SecretString("not a key")), "");
  EXPECT_EQ(SecretHint(RegistryType::kGhcr, SecretString("ghp_abcdefghijklmnopqrstuvwxyza1b2")),
            "ghp_\xE2\x80\xA6"
            "a1b2");
}

// ---- hints

TEST(SecretHintTest, KnownPrefixesAndLastFour) {
  EXPECT_EQ(SecretHint("ghp_abcdefghijklmnopqrstuvwxyza1b2"),
            "ghp_\xE2\x80\xA6"
            "a1b2");
  EXPECT_EQ(SecretHint("github_pat_11ABCDEFG0123456789_wxyz"), "github_pat_\xE2\x80\xA6wxyz");
  EXPECT_EQ(SecretHint("gho_0123456789abcdefWXYZ"), "gho_\xE2\x80\xA6WXYZ");
  EXPECT_EQ(SecretHint("ghu_0123456789abcdef1234"),
            "ghu_\xE2\x80\xA6"
            "1234");
  EXPECT_EQ(SecretHint("ghs_0123456789abcdef5678"),
            "ghs_\xE2\x80\xA6"
            "5678");
  EXPECT_EQ(SecretHint("ghr_0123456789abcdef9999"),
            "ghr_\xE2\x80\xA6"
            "9999");
  EXPECT_EQ(SecretHint("plain-password-1234abcd"),
            "\xE2\x80\xA6"
            "abcd");
}

TEST(SecretHintTest, ShortSecretsRevealNothing) {
  EXPECT_EQ(SecretHint("ghp_short"), "\xE2\x80\xA6");
  EXPECT_EQ(SecretHint("123456789012345"), "\xE2\x80\xA6");  // 15 chars
  EXPECT_EQ(SecretHint("1234567890123456"),
            "\xE2\x80\xA6"
            "3456");  // 16 chars
  EXPECT_EQ(SecretHint(""), "");
}

}  // namespace
}  // namespace registryauth::services
