#include "storage/conninfo.h"

#include <libpq-fe.h>

#include <map>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace registryauth::storage {
namespace {

struct ConnInfoDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};

using ParsedConnInfo = std::unique_ptr<PQconninfoOption, ConnInfoDeleter>;

// libpq's parse of `dsn`, or null when it does not parse. libpq's message may quote part of the
// DSN (and so a password): it is never passed on.
ParsedConnInfo Parse(std::string_view dsn) {
  char* errmsg = nullptr;
  ParsedConnInfo parsed(PQconninfoParse(std::string(dsn).c_str(), &errmsg));
  if (errmsg != nullptr) PQfreemem(errmsg);
  return parsed;
}

}  // namespace

std::string QuoteConnValue(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::optional<std::string> ConnInfoValue(std::string_view dsn, std::string_view key) {
  ParsedConnInfo parsed = Parse(dsn);
  if (parsed == nullptr) return std::nullopt;
  for (PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
    if (key == o->keyword && o->val != nullptr && o->val[0] != '\0') return std::string(o->val);
  }
  return std::nullopt;
}

absl::StatusOr<std::string> RewriteConnInfo(std::string_view dsn, const ConnParams& overrides,
                                            const ConnParams& defaults) {
  ParsedConnInfo parsed = Parse(dsn);
  if (parsed == nullptr) {
    return absl::InvalidArgumentError("database DSN is not a valid libpq connection string");
  }
  // Keep libpq's keyword order so the output is stable.
  std::vector<std::string> order;
  std::map<std::string, std::string> values;
  for (PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
    order.emplace_back(o->keyword);
    if (o->val != nullptr) values[o->keyword] = o->val;
  }
  auto known = [&](const std::string& key) {
    for (const std::string& k : order) {
      if (k == key) return true;
    }
    return false;
  };
  for (const auto& [key, value] : defaults) {
    if (!known(key)) return absl::InvalidArgumentError(absl::StrCat("unknown libpq key ", key));
    values.emplace(key, value);  // no-op when already set
  }
  for (const auto& [key, value] : overrides) {
    if (!known(key)) return absl::InvalidArgumentError(absl::StrCat("unknown libpq key ", key));
    values[key] = value;
  }
  std::string out;
  for (const std::string& key : order) {
    auto it = values.find(key);
    if (it == values.end()) continue;
    if (!out.empty()) out.push_back(' ');
    absl::StrAppend(&out, key, "=", QuoteConnValue(it->second));
  }
  return out;
}

}  // namespace registryauth::storage
