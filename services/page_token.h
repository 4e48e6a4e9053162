// Paging and etags of the List/Update/Delete calls.
//
// Opaque page tokens of List calls: unpadded-free base64url of {format byte, collection,
// NUL, last key}. A token is accepted only by a List call of the same collection (e.g.
// `workspaces/acme/registries`, or an audit filter's canonical form), so a token cannot be
// replayed against another list.
//
//   std::string t = EncodePageToken("workspaces/acme/members", "user-17");
//   ASSIGN_OR_RETURN(std::string last, DecodePageToken(t, "workspaces/acme/members", IsValidId));
//
// ListPage is the one paging routine of the List calls over the store (workspaces, apps,
// registry configurations, members, service accounts):
//
//   return ListPage<App>(collection, page_size, page_token,
//                        [&](ListOptions o) { return store.ListApps(ws, o); },
//                        [](const App& a) { return a.id; });
//
// Pure functions; thread-safe.
#ifndef REGISTRY_AUTH_SERVICES_PAGE_TOKEN_H_
#define REGISTRY_AUTH_SERVICES_PAGE_TOKEN_H_

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "common/status_macros.h"
#include "model/model.h"
#include "services/names.h"
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

// One page of `collection`: resolves `page_size`, decodes `page_token` (keys checked with
// `valid_key`), asks `list(ListOptions)` for the store page (its errors pass through as they
// are) and encodes the next page's token from `key_of(last item)`.
template <typename T, typename List, typename KeyOf>
absl::StatusOr<ListResult<T>> ListPage(std::string_view collection, int page_size,
                                       std::string_view page_token, List list, KeyOf key_of,
                                       bool (*valid_key)(std::string_view) = IsValidId) {
  ASSIGN_OR_RETURN(int size, ResolvePageSize(page_size));
  ASSIGN_OR_RETURN(std::string after, DecodePageToken(page_token, collection, valid_key));
  ASSIGN_OR_RETURN(Page<T> page, list(ListOptions{size, std::move(after)}));
  return ToListResult(std::move(page), collection, key_of);
}

// Limit of the token lists (pull and refresh tokens, which are not paged): 0 ->
// kDefaultTokenListLimit, above kMaxListPageSize -> kMaxListPageSize, < 0 -> INVALID_ARGUMENT
// `page_size: must not be negative`.
inline constexpr int kDefaultTokenListLimit = 100;
absl::StatusOr<int> ResolveTokenListLimit(int limit);

// ---- Etags: `"<version>"` (RegistryService::EtagOf / ParseEtag); 0 = no check.
// ABORTED `<resource>: etag does not match the current version; read it again`.
absl::Status StaleEtag(std::string_view resource);
// ABORTED (StaleEtag) when `expected` is set and is not `current_version`.
absl::Status CheckEtag(int64_t expected, int64_t current_version, std::string_view resource);
// AnnotateStoreError (services/names.h), and the store's ABORTED (a version conflict) as
// StaleEtag.
absl::Status MapStoreError(const absl::Status& status, std::string_view resource);

}  // namespace registryauth::services

#endif  // REGISTRY_AUTH_SERVICES_PAGE_TOKEN_H_
