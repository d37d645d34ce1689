// The request input tree for JSON and form bodies, and field readers that
// collect per-field errors. Pure (no CAF, no I/O): the endpoint files reach it
// through util.hpp, and the fuzz targets (tests/fuzz) link it alone.
#pragma once

#include "http/codec/problem.hpp"

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ls::api {

/// A parsed request body: JSON, or a form turned into the same shape.
struct value {
  enum kind_t { null, boolean, number, string, array, object } kind = null;
  bool b = false;
  double n = 0;
  bool integral = false;
  std::string s;
  std::vector<value> items;
  std::vector<std::pair<std::string, value>> members;

  // Out of line: with clang and libstdc++, the implicit ones would check
  // std::pair<std::string, value> while it is still incomplete.
  value();
  value(const value&);
  value(value&&) noexcept;
  value& operator=(const value&);
  value& operator=(value&&) noexcept;
  ~value();

  const value* get(std::string_view key) const;
  static const char* kind_name(kind_t k);
};

/// Bounds on the shape of one request body, so that reading it costs time and
/// memory linear in its size whatever the shape (a stranger chooses it).
struct input_limits {
  static constexpr int max_depth = 16;
  static constexpr size_t max_keys_per_object = 1000;
  /// Every value counts, containers included (a form: every pair).
  static constexpr size_t max_values = 10000;
};

/// Parses a JSON body; nullopt with `error` set when malformed or beyond
/// input_limits.
std::optional<value> parse_json(std::string_view body, std::string& error);

/// A form body: `fields[key]=v` becomes {"fields":{"key":"v"}}; repeated keys
/// (and `tags[]=v`) become arrays. nullopt with `error` set on a malformed
/// %-escape, when a key comes both as `k=v` (or `k[]=v`) and as `k[i]=v`, or
/// beyond input_limits.
std::optional<value> parse_form(std::string_view body, std::string& error);

/// Reads fields of an object, collecting errors.
class fields_reader {
public:
  fields_reader(const value& obj, std::vector<http::field_error>& errors,
                std::string prefix = {})
      : obj_(obj), errors_(errors), prefix_(std::move(prefix)) {}
  /// A trimmed string of at most `max` bytes (after trimming), valid UTF-8, no
  /// control chars. nullopt when absent or null (an error when `required`) or
  /// invalid (an error).
  std::optional<std::string> text(const char* key, size_t max,
                                  bool required = false);
  std::optional<bool> boolean(const char* key);
  std::optional<int64_t> integer(const char* key, int64_t lo, int64_t hi);
  /// Present and not null.
  const value* raw(const char* key);
  /// Adds an error for every member not in `allowed`.
  void reject_unknown(std::initializer_list<std::string_view> allowed);
  void error(std::string_view key, std::string message);
  bool present(const char* key) const;

private:
  std::string path(std::string_view key) const;
  const value& obj_;
  std::vector<http::field_error>& errors_;
  std::string prefix_;
};

/// Tags from an array of strings or a comma-separated string; each
/// trimmed, 1..100 bytes, at most 50. Sorted and unique.
std::optional<std::vector<std::string>>
read_tags(const value* v, const std::string& field,
          std::vector<http::field_error>& errors);

} // namespace ls::api
