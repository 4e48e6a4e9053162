// The error edge of storage/: turns exceptions thrown by libpqxx into absl::Status, choosing the
// code by what the caller should do next (registry_store.h):
//   unique_violation (23505)                 -> ALREADY_EXISTS
//   foreign_key_violation (23503)            -> NOT_FOUND (the parent row is missing)
//   check / not-null violation (23514/23502) -> INVALID_ARGUMENT (names the constraint only)
//   serialization failure, deadlock (40xxx)  -> ABORTED
//   statement completion unknown             -> UNAVAILABLE (outcome unknown)
//   broken connection, classes 08/53/57P,
//   statement timeout (57014), commit in doubt,
//   read-only transaction (25006: a standby)  -> UNAVAILABLE
//   anything else                            -> INTERNAL
// Messages name the operation and the SQLSTATE, never the statement's parameters, so they are
// free of secrets.
//
//   try { ... } catch (const std::exception& e) { return StatusFromDbException(e, "get app"); }
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_STORAGE_PQ_STATUS_H_
#define REGISTRY_AUTH_STORAGE_PQ_STATUS_H_

#include <exception>
#include <string_view>

#include "absl/status/status.h"

namespace registryauth::storage {

absl::Status StatusFromDbException(const std::exception& e, std::string_view operation);

// True when `e` means the connection it came from must not be reused (lost, or on a server
// that no longer accepts writes, such as a demoted primary after a failover).
bool IsConnectionLost(const std::exception& e);

}  // namespace registryauth::storage

#endif  // REGISTRY_AUTH_STORAGE_PQ_STATUS_H_
