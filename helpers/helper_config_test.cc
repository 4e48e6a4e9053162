#include "helpers/helper_config.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace registryauth::helpers {
namespace {

TEST(HelperConfigTest, ParsesEveryKey) {
  absl::StatusOr<HelperConfig> config = HelperConfig::Parse(
      "# comment\n"
      "address  registry-auth.internal:50051\n"
      "tls_ca /etc/regauth/ca.pem\n"
      "tls_cert /etc/regauth/node.pem   # trailing comment\n"
      "tls_key /etc/regauth/node-key.pem\n"
      "api_key_file /etc/regauth/node.key\n"
      "registry Registry.Example.com:5000\n"
      "registry other.example\n"
      "docker_app acme/web\n"
      "cache_dir /var/cache/regauth-helper\n"
      "token_ttl 2h\n"
      "refresh_before 10m\n"
      "timeout 5s\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->address, "registry-auth.internal:50051");
  EXPECT_EQ(config->tls_ca_file, "/etc/regauth/ca.pem");
  EXPECT_EQ(config->tls_cert_file, "/etc/regauth/node.pem");
  EXPECT_EQ(config->tls_key_file, "/etc/regauth/node-key.pem");
  EXPECT_EQ(config->api_key_file, "/etc/regauth/node.key");
  EXPECT_EQ(config->registries,
            (std::vector<std::string>{"registry.example.com:5000", "other.example"}));
  EXPECT_EQ(config->docker_workspace, "acme");
  EXPECT_EQ(config->docker_app, "web");
  EXPECT_EQ(config->cache_dir, "/var/cache/regauth-helper");
  EXPECT_EQ(config->token_ttl, absl::Hours(2));
  EXPECT_EQ(config->refresh_before, absl::Minutes(10));
  EXPECT_EQ(config->timeout, absl::Seconds(5));
  EXPECT_TRUE(config->ServesRegistry("REGISTRY.example.com:5000"));
  EXPECT_FALSE(config->ServesRegistry("registry.example.com"));
}

TEST(HelperConfigTest, PlaintextOnlyToLoopback) {
  for (const char* address : {"localhost:50051", "127.0.0.1:1", "[::1]:50051"}) {
    absl::StatusOr<HelperConfig> config =
        HelperConfig::Parse(std::string("address ") + address + "\nregistry r\n");
    EXPECT_TRUE(config.ok()) << address << ": " << config.status();
  }
}

TEST(HelperConfigTest, Defaults) {
  absl::StatusOr<HelperConfig> config =
      HelperConfig::Parse("address 127.0.0.1:1\nregistry r.test\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->token_ttl, absl::Hours(1));
  EXPECT_EQ(config->refresh_before, absl::Minutes(5));
  EXPECT_EQ(config->timeout, absl::Seconds(10));
  EXPECT_EQ(config->cache_dir, "");
}

TEST(HelperConfigTest, ErrorsNameTheLineAndNeverQuoteAValue) {
  struct Case {
    const char* text;
    const char* want;
  };
  for (const Case& c : {
           Case{"address a:1\nregistry r.test\nsecret hunter2\n", "config line 3: unknown key"},
           Case{"address a:1\naddress b:1\nregistry r\n", "config line 2: address given twice"},
           Case{"address a:1\nhunter2 x\nhunter2 y\n", "config line 2: unknown key"},
           Case{"hunter2 x y\n", "config line 1: unknown key"},
           Case{"address\n", "config line 1: a key needs a value"},
           Case{"address a:1 b:2\n", "config line 1: one value expected"},
           Case{"address a:1\nregistry r.test/acme\n", "config line 2: registry must be"},
           Case{"address a:1\nregistry r\ndocker_app acme\n", "config line 3: docker_app"},
           Case{"address a:1\nregistry r\ntimeout 31s\n", "config line 3: timeout must be"},
           Case{"address a:1\nregistry r\ntoken_ttl 10s\n", "config line 3: token_ttl must be"},
           Case{"address a:1\nregistry r\nrefresh_before x\n", "config line 3: refresh_before"},
           Case{"registry r\n", "address is required"},
           Case{"address regauth.internal:50051\nregistry r\napi_key_file /k\n",
                "tls_ca is required for a service off this host"},
           Case{"address 127.0.0.1.evil.example:50051\nregistry r\n", "tls_ca is required"},
           Case{"address a:1\n", "at least one registry"},
           Case{"address a:1\nregistry r\ntls_cert c\n", "both tls_cert and tls_key"},
           Case{"address a:1\nregistry r\ntls_cert c\ntls_key k\n", "tls_cert needs tls_ca"},
       }) {
    absl::StatusOr<HelperConfig> config = HelperConfig::Parse(c.text);
    ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(config.status().message().find(c.want), std::string::npos)
        << c.text << " -> " << config.status();
    EXPECT_EQ(config.status().message().find("hunter2"), std::string::npos);
  }
}

TEST(ResolveConfigPathTest, FlagThenEnvThenXdgThenEtc) {
  auto env = [](std::map<std::string, std::string> vars) {
    return [vars](const std::string& name) -> std::optional<std::string> {
      auto it = vars.find(name);
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  };
  auto all_exist = [](const std::string&) { return true; };
  auto none_exist = [](const std::string&) { return false; };
  EXPECT_EQ(ResolveConfigPath("/f", env({{"REGAUTH_HELPER_CONFIG", "/e"}}), all_exist), "/f");
  EXPECT_EQ(ResolveConfigPath(std::nullopt, env({{"REGAUTH_HELPER_CONFIG", "/e"}}), all_exist),
            "/e");
  EXPECT_EQ(ResolveConfigPath(std::nullopt, env({{"XDG_CONFIG_HOME", "/x"}}), all_exist),
            "/x/regauth/credential-helper.conf");
  EXPECT_EQ(ResolveConfigPath(std::nullopt, env({{"HOME", "/h"}}), all_exist),
            "/h/.config/regauth/credential-helper.conf");
  EXPECT_EQ(ResolveConfigPath(std::nullopt, env({{"HOME", "/h"}}), none_exist), kDefaultConfigPath);
}

}  // namespace
}  // namespace registryauth::helpers
