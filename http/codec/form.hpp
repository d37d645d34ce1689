// application/x-www-form-urlencoded and query strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ls::form {

using pairs = std::vector<std::pair<std::string, std::string>>;

/// Decodes %XX escapes (and '+' as space when `plus_as_space`). nullopt on a
/// malformed escape
/// ("%4", "%zz") or a NUL byte (decoded or raw). The result need not be valid
/// UTF-8.
std::optional<std::string> percent_decode(std::string_view s,
                                          bool plus_as_space);

/// Percent-encodes everything but unreserved characters (RFC 3986).
std::string percent_encode(std::string_view s);

/// Parses "a=1&b=2&a=3" into ordered pairs (both sides decoded, '+' is a
/// space). Empty parts
/// ("a=1&&b") are skipped; "a" alone is {"a",""}. nullopt on a malformed
/// escape.
std::optional<pairs> parse(std::string_view body);

/// The first value for `key`, if any.
std::optional<std::string> first(const pairs& p, std::string_view key);

} // namespace ls::form
