#include "storage/pq_status.h"

#include <stdexcept>
#include <string>

#include "gtest/gtest.h"
#include "pqxx/except"

namespace registryauth::storage {
namespace {

// The query text (and so any inlined value) must never reach the Status.
const std::string kQuery = "INSERT ... VALUES ('SECRET-VALUE')";
const std::string kWhat = "ERROR: something about 'SECRET-VALUE'";

void ExpectClean(const absl::Status& status) {
  EXPECT_EQ(status.message().find("SECRET-VALUE"), std::string::npos) << status;
  EXPECT_NE(status.message().find("op"), std::string::npos) << status;
}

TEST(PqStatusTest, MapsEachFamilyToItsCode) {
  struct Case {
    absl::StatusCode code;
    bool lost;
    absl::Status status;
  };
  auto map = [](const std::exception& e) { return StatusFromDbException(e, "op"); };
  auto lost = [](const std::exception& e) { return IsConnectionLost(e); };

  pqxx::unique_violation unique(kWhat, kQuery, "23505");
  pqxx::foreign_key_violation fk(kWhat, kQuery, "23503");
  pqxx::check_violation check("ERROR: new row violates check constraint \"apps_id_format\"", kQuery,
                              "23514");
  pqxx::serialization_failure serialization(kWhat);
  pqxx::deadlock_detected deadlock(kWhat);
  pqxx::statement_completion_unknown unknown(kWhat);
  pqxx::broken_connection broken(kWhat);
  pqxx::in_doubt_error in_doubt(kWhat);
  pqxx::sql_error admin_shutdown(kWhat, kQuery, "57P01");
  pqxx::sql_error timeout(kWhat, kQuery, "57014");
  pqxx::sql_error read_only(kWhat, kQuery, "25006");
  pqxx::syntax_error syntax(kWhat, kQuery, "42601");
  std::runtime_error other(kWhat);

  const Case cases[] = {
      {absl::StatusCode::kAlreadyExists, false, map(unique)},
      {absl::StatusCode::kNotFound, false, map(fk)},
      {absl::StatusCode::kInvalidArgument, false, map(check)},
      {absl::StatusCode::kAborted, false, map(serialization)},
      {absl::StatusCode::kAborted, false, map(deadlock)},
      {absl::StatusCode::kUnavailable, true, map(broken)},
      {absl::StatusCode::kUnavailable, true, map(in_doubt)},
      {absl::StatusCode::kUnavailable, true, map(unknown)},
      {absl::StatusCode::kUnavailable, true, map(admin_shutdown)},
      {absl::StatusCode::kUnavailable, false, map(timeout)},
      {absl::StatusCode::kUnavailable, false, map(read_only)},
      {absl::StatusCode::kInternal, false, map(syntax)},
      {absl::StatusCode::kInternal, false, map(other)},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.code(), c.code) << c.status;
    EXPECT_EQ(c.lost, c.status.message().find("connection lost") != std::string::npos ||
                          c.status.message().find("57P01") != std::string::npos)
        << c.status;
    ExpectClean(c.status);
  }
  EXPECT_NE(map(check).message().find("apps_id_format"), std::string::npos);
  EXPECT_NE(map(syntax).message().find("42601"), std::string::npos);
  EXPECT_TRUE(lost(broken));
  EXPECT_TRUE(lost(in_doubt));
  EXPECT_TRUE(lost(unknown));
  EXPECT_TRUE(lost(admin_shutdown));
  EXPECT_TRUE(lost(read_only));  // a standby: the pool must reconnect to reach the primary
  EXPECT_FALSE(lost(unique));
  EXPECT_FALSE(lost(timeout));
  EXPECT_FALSE(lost(other));
}

}  // namespace
}  // namespace registryauth::storage
