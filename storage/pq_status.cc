#include "storage/pq_status.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "pqxx/except"

namespace registryauth::storage {
namespace {

std::string SqlState(const std::exception& e) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) return sql->sqlstate();
  return "";
}

// read_only_sql_transaction: the connection reached a standby (after a failover, a DSN or DNS
// name that still leads to the old primary, now a standby). Retry, on a new connection.
constexpr char kReadOnlyTransaction[] = "25006";

bool IsUnavailableState(const std::string& state) {
  return absl::StartsWith(state, "08") ||   // connection exception
         absl::StartsWith(state, "53") ||   // insufficient resources (too many connections)
         absl::StartsWith(state, "57P") ||  // admin/crash shutdown, cannot connect now
         state == "57014" ||                // query_canceled: statement_timeout
         state == kReadOnlyTransaction;
}

// The constraint name from a message like `... violates check constraint "apps_id_format"`.
// Constraint names come from our schema, not from data.
std::string ConstraintName(const std::exception& e) {
  std::string_view what = e.what();
  const std::string_view marker = "constraint \"";
  size_t start = what.find(marker);
  if (start == std::string_view::npos) return "";
  start += marker.size();
  size_t end = what.find('"', start);
  if (end == std::string_view::npos) return "";
  return std::string(what.substr(start, end - start));
}

}  // namespace

bool IsConnectionLost(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return true;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) return true;
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) return true;
  const std::string state = SqlState(e);
  return absl::StartsWith(state, "08") || absl::StartsWith(state, "57P") ||
         state == kReadOnlyTransaction;
}

absl::Status StatusFromDbException(const std::exception& e, std::string_view operation) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat(ToAbsl(operation), ": database connection lost"));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat(
        ToAbsl(operation), ": database connection lost during commit; outcome unknown"));
  }
  if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat(ToAbsl(operation), ": already exists"));
  }
  if (dynamic_cast<const pqxx::foreign_key_violation*>(&e) != nullptr) {
    return absl::NotFoundError(absl::StrCat(ToAbsl(operation), ": parent not found"));
  }
  if (dynamic_cast<const pqxx::check_violation*>(&e) != nullptr ||
      dynamic_cast<const pqxx::not_null_violation*>(&e) != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(operation), ": value violates constraint ", ConstraintName(e)));
  }
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e) != nullptr) {
    return absl::UnavailableError(
        absl::StrCat(ToAbsl(operation), ": database connection lost; outcome unknown"));
  }
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    return absl::AbortedError(absl::StrCat(ToAbsl(operation), ": concurrent transaction conflict"));
  }
  const std::string state = SqlState(e);
  if (IsUnavailableState(state)) {
    return absl::UnavailableError(
        absl::StrCat(ToAbsl(operation), ": database unavailable (SQLSTATE ", state, ")"));
  }
  if (!state.empty()) {
    return absl::InternalError(
        absl::StrCat(ToAbsl(operation), ": database error (SQLSTATE ", state, ")"));
  }
  return absl::InternalError(absl::StrCat(ToAbsl(operation), ": database error"));
}

}  // namespace registryauth::storage
