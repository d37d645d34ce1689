// Maps (method, path) to a route id and its path parameters. Pure: no Beast, no
// CAF.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ls::http {

struct route_match {
  enum outcome { found, not_found, method_not_allowed } result = not_found;
  int route = -1;      ///< the id given to add()
  std::string pattern; ///< the matched pattern, e.g. "/api/v1/campaigns/{id}"
                       ///< (metrics label)
  std::vector<std::pair<std::string, std::string>>
      params;        ///< {name, raw segment}, not decoded
  std::string allow; ///< for method_not_allowed: "GET, PUT"

  /// The parameter's raw value, or an empty view.
  std::string_view param(std::string_view name) const;
};

class router {
public:
  /// pattern: "/api/v1/campaigns/{id}"; a segment "{name}" matches one
  /// non-empty segment; a trailing "{name*}" matches the rest of the path (one
  /// or more segments). Literal segments win over parameters when both could
  /// match.
  void add(std::string_view method, std::string_view pattern, int route);
  /// `path` without the query string. A trailing slash is not ignored ("/a/" !=
  /// "/a").
  route_match match(std::string_view method, std::string_view path) const;

private:
  struct entry {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    int route;
  };
  std::vector<entry> entries_;
};

} // namespace ls::http
