#include "storage/conninfo.h"

#include <string>

#include "gtest/gtest.h"

namespace registryauth::storage {
namespace {

TEST(ConnInfoTest, OverridesAndDefaultsOnKeywordForm) {
  absl::StatusOr<std::string> out =
      RewriteConnInfo("host=db port=5433 dbname=prod connect_timeout=9", {{"dbname", "test_1"}},
                      {{"connect_timeout", "3"}, {"keepalives", "1"}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_NE(out->find("dbname='test_1'"), std::string::npos) << *out;
  EXPECT_EQ(out->find("prod"), std::string::npos) << *out;
  EXPECT_NE(out->find("connect_timeout='9'"), std::string::npos) << *out;  // DSN wins
  EXPECT_NE(out->find("keepalives='1'"), std::string::npos) << *out;
  EXPECT_NE(out->find("host='db'"), std::string::npos) << *out;
  EXPECT_NE(out->find("port='5433'"), std::string::npos) << *out;
}

TEST(ConnInfoTest, AcceptsUris) {
  absl::StatusOr<std::string> out =
      RewriteConnInfo("postgresql://alice:s3cr%27t@10.0.0.5:6543/app?sslmode=require", {}, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_NE(out->find("user='alice'"), std::string::npos) << *out;
  EXPECT_NE(out->find("password='s3cr\\'t'"), std::string::npos) << *out;
  EXPECT_NE(out->find("host='10.0.0.5'"), std::string::npos) << *out;
  EXPECT_NE(out->find("dbname='app'"), std::string::npos) << *out;
  EXPECT_NE(out->find("sslmode='require'"), std::string::npos) << *out;
  // The output parses again to the same thing.
  absl::StatusOr<std::string> again = RewriteConnInfo(*out, {}, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *out);
}

TEST(ConnInfoTest, QuotesBackslashesAndQuotes) {
  EXPECT_EQ(QuoteConnValue(R"(a b'c\d)"), R"('a b\'c\\d')");
  EXPECT_EQ(QuoteConnValue(""), "''");
}

TEST(ConnInfoTest, RejectsBadInputWithoutEchoingIt) {
  absl::StatusOr<std::string> bad = RewriteConnInfo("password=hunter2 nonsense", {}, {});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(RewriteConnInfo("host=x", {{"no_such_key", "1"}}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ConnInfoTest, ValueOfAKeyInEitherForm) {
  EXPECT_EQ(ConnInfoValue("host=h password='p w'", "password"), "p w");
  EXPECT_EQ(ConnInfoValue("postgresql://u:secret@h/db", "password"), "secret");
  EXPECT_EQ(ConnInfoValue("host=h", "password"), std::nullopt);
  EXPECT_EQ(ConnInfoValue("host=h password=''", "password"), std::nullopt);
  EXPECT_EQ(ConnInfoValue("host=h password='unterminated", "password"), std::nullopt);
}

}  // namespace
}  // namespace registryauth::storage
