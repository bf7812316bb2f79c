#pragma once

// JSON from the API server parsed without what no sink reads: an object's managedFields, kubectl's
// last-applied-configuration annotation and containers' env lists. On a real pod these are most
// of its 20 KB; the sinks keep a compact model, but a whole parsed document holds them all until
// the model is made. A list is parsed item by item as well, each item handed on as soon as it is
// complete, so a list never exists parsed all at once. Fed as its bytes arrive
// (ListStreamParser), a list is not held as text either: what is held is the item being parsed.

#include "common/result.hpp"

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace nodepack::kube {

// One document (a watch event, an object), pruned. Fails on malformed JSON.
Result<boost::json::value> parse_pruned(std::string_view text);

struct ListHead {
  std::string resource_version;  // metadata.resourceVersion
  std::string continue_token;    // metadata.continue
};

// A list response ({"metadata":{...},"items":[...]}): calls `each` with every item, pruned, in
// order, and returns the list's metadata. Fails when the text is not JSON, not an object, or
// its items are neither an array nor null; the items before the fault have been handed on.
Result<ListHead> parse_list_items(std::string_view text, const std::function<void(boost::json::value)>& each);

// The same, fed piece by piece as a list's body arrives: write() every piece in order (split
// anywhere, down to single bytes), then finish(). `each` sees every item as soon as it is
// complete, exactly as parse_list_items() would; write() fails as soon as the text cannot
// be JSON, finish() when it ended early or is not a list.
class ListStreamParser {
 public:
  explicit ListStreamParser(std::function<void(boost::json::value)> each);
  ~ListStreamParser();
  ListStreamParser(const ListStreamParser&) = delete;
  ListStreamParser& operator=(const ListStreamParser&) = delete;

  Result<void> write(std::string_view piece);
  Result<ListHead> finish();

 private:
  struct Parser;  // boost::json::basic_parser over the pruning handler, kept out of this header
  std::unique_ptr<Parser> parser_;
};

}  // namespace nodepack::kube
