// Rewriting of libpq connection strings (keyword/value "host=... dbname=..." or URI
// "postgresql://..."), so the store can add its timeouts and the test fixture can point a DSN at
// another database without string surgery.
//
//   ASSIGN_OR_RETURN(std::string conninfo,
//                    RewriteConnInfo(dsn, /*overrides=*/{{"dbname", "t1"}},
//                                    /*defaults=*/{{"connect_timeout", "3"}}));
//
// Pure functions; thread-safe. Error messages never echo the DSN (it may hold a password).
#ifndef REGISTRY_AUTH_STORAGE_CONNINFO_H_
#define REGISTRY_AUTH_STORAGE_CONNINFO_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace registryauth::storage {

using ConnParams = std::vector<std::pair<std::string, std::string>>;

// Parses `dsn` as libpq does and returns it in keyword/value form with every key of `overrides`
// set to its value and every key of `defaults` set unless `dsn` already sets it.
// INVALID_ARGUMENT if `dsn` does not parse or a key is not a libpq keyword.
absl::StatusOr<std::string> RewriteConnInfo(std::string_view dsn, const ConnParams& overrides,
                                            const ConnParams& defaults);

// The value `dsn` gives `key` (e.g. "password"), or nullopt when it sets none, sets it empty, or
// does not parse.
std::optional<std::string> ConnInfoValue(std::string_view dsn, std::string_view key);

// Quotes a value for a keyword/value connection string ('...' with \ and ' escaped).
std::string QuoteConnValue(std::string_view value);

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_CONNINFO_H_
