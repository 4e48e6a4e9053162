#include "storage/testing/sql_probe.h"

#include <exception>

#include "pqxx/pqxx"
#include "storage/pq_status.h"

namespace registryauth::testing {

absl::StatusOr<SqlRows> QueryRows(const std::string& dsn, const std::string& sql,
                                  const std::vector<std::string>& params) {
  try {
    pqxx::connection conn(dsn);
    pqxx::work tx(conn);
    const pqxx::result result = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    SqlRows rows;
    rows.reserve(result.size());
    for (const pqxx::row& row : result) {
      std::vector<std::string>& out = rows.emplace_back();
      out.reserve(row.size());
      for (const pqxx::field& field : row) out.emplace_back(field.is_null() ? "" : field.c_str());
    }
    return rows;  // the transaction is aborted on destruction: nothing is changed
  } catch (const std::exception& e) {
    return storage::StatusFromDbException(e, "test query");
  }
}

absl::StatusOr<std::vector<std::string>> QueryColumn(const std::string& dsn, const std::string& sql,
                                                     const std::vector<std::string>& params) {
  absl::StatusOr<SqlRows> rows = QueryRows(dsn, sql, params);
  if (!rows.ok()) return rows.status();
  std::vector<std::string> column;
  column.reserve(rows->size());
  for (const std::vector<std::string>& row : *rows) column.push_back(row.empty() ? "" : row[0]);
  return column;
}

absl::StatusOr<std::string> ExecuteSql(const std::string& dsn, const std::string& sql) {
  try {
    pqxx::connection conn(dsn);
    pqxx::work tx(conn);
    const pqxx::result result = tx.exec(sql);
    tx.commit();
    if (result.empty() || result.columns() == 0 || result[0][0].is_null()) return std::string();
    return std::string(result[0][0].c_str());
  } catch (const std::exception& e) {
    return storage::StatusFromDbException(e, "test statement");
  }
}

}  // namespace registryauth::testing
