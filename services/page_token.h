// Opaque page tokens of List calls: unpadded-free base64url of {format byte, collection,
// NUL, last key}. A token is accepted only by a List call of the same collection (e.g.
// `workspaces/acme/registries`, or an audit filter's canonical form), so a token cannot be
// replayed against another list.
//
//   std::string t = EncodePageToken("workspaces/acme/members", "user-17");
//   ASSIGN_OR_RETURN(std::string last, DecodePageToken(t, "workspaces/acme/members", IsValidId));
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_PAGE_TOKEN_H_
#define REGISTRY_AUTH_SERVICES_PAGE_TOKEN_H_

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "model/model.h"
#include "services/types.h"

namespace registryauth::services {

inline constexpr int kDefaultListPageSize = 50;
inline constexpr int kMaxListPageSize = 1000;

std::string EncodePageToken(std::string_view collection, std::string_view last_key);

// The last key of the previous page ("" for an empty token). INVALID_ARGUMENT
// `page_token: invalid` for a malformed token or a key `valid_key` rejects, and
// `page_token: does not belong to this list` for another collection's token.
absl::StatusOr<std::string> DecodePageToken(std::string_view token, std::string_view collection,
                                            bool (*valid_key)(std::string_view));

// A store page as a List result: the next-page token encodes key_of(last item) when more
// items follow.
template <typename T, typename KeyOf>
ListResult<T> ToListResult(Page<T> page, std::string_view collection, KeyOf key_of) {
  ListResult<T> result;
  if (page.has_more && !page.items.empty()) {
    result.next_page_token = EncodePageToken(collection, key_of(page.items.back()));
  }
  result.items = std::move(page.items);
  return result;
}

// 0 -> kDefaultListPageSize, > kMaxListPageSize -> kMaxListPageSize, < 0 -> INVALID_ARGUMENT.
absl::StatusOr<int> ResolvePageSize(int page_size);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_PAGE_TOKEN_H_
