#include "storage/pg_internal.h"

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace registryauth::storage::internal {

std::string Micros(std::string_view column) {
  const absl::string_view c = ToAbsl(column);
  return absl::StrCat("CASE WHEN ", c, " IS NULL THEN NULL WHEN isfinite(", c,
                      ") THEN (extract(epoch FROM ", c, ") * 1000000)::bigint WHEN ", c,
                      " < 'epoch' THEN '", kMicrosPast, "'::bigint ELSE '", kMicrosFuture,
                      "'::bigint END");
}

std::string TimeParam(absl::Time t) {
  if (t == absl::InfinitePast()) return "-infinity";
  if (t == absl::InfiniteFuture()) return "infinity";
  return absl::FormatTime("%Y-%m-%d %H:%M:%E6S+00", TruncateToMicros(t), absl::UTCTimeZone());
}

std::string BoundParam(absl::Time t) {
  absl::Time micros = TruncateToMicros(t);
  if (micros < t) micros += absl::Microseconds(1);
  return TimeParam(micros);
}

absl::Time TimeFromField(const pqxx::field& f) {
  const int64_t micros = f.as<int64_t>();
  if (micros == kMicrosPast) return absl::InfinitePast();
  if (micros == kMicrosFuture) return absl::InfiniteFuture();
  return absl::FromUnixMicros(micros);
}

ConnectionPoolOptions MakePoolOptions(PostgresOptions options,
                                      std::function<void(pqxx::connection&)> on_connect) {
  ConnectionPoolOptions pool_options;
  pool_options.dsn = std::move(options.dsn);
  pool_options.size = options.pool_size;
  pool_options.connect_timeout = options.connect_timeout;
  pool_options.acquire_timeout = options.acquire_timeout;
  pool_options.statement_timeout = options.statement_timeout;
  pool_options.on_connect = std::move(on_connect);
  pool_options.observer = options.pool_observer;
  return pool_options;
}

}  // namespace registryauth::storage::internal
