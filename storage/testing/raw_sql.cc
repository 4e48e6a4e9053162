#include "storage/testing/raw_sql.h"

#include <exception>

#include "pqxx/connection"
#include "pqxx/result"
#include "pqxx/transaction"
#include "storage/pq_status.h"

namespace registryauth::storage::testing {

absl::StatusOr<std::string> RunSqlForTest(std::string_view dsn, std::string_view sql) {
  try {
    pqxx::connection conn{std::string(dsn)};
    pqxx::work txn(conn);
    pqxx::result rows = txn.exec(std::string(sql));
    txn.commit();
    if (rows.empty() || rows.columns() == 0 || rows[0][0].is_null()) return std::string();
    return std::string(rows[0][0].c_str());
  } catch (const std::exception& e) {
    return StatusFromDbException(e, "run test SQL");
  }
}

}  // namespace registryauth::storage::testing
