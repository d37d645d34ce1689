// A small streaming JSON writer. simdjson (3.0.1) parses but cannot serialize;
// a DOM library would allocate a tree per response, and list answers and events
// are written field by field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ls::json {

/// Appends `s` to `out` as a JSON string literal (quotes included). Invalid
/// UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void append_quoted(std::string& out, std::string_view s);

/// Builds a JSON text into a string. Commas are inserted automatically.
/// Usage: w.begin_object().key("id").value("x").key("n").value(3).end_object();
class writer {
public:
  writer& begin_object();
  writer& end_object();
  writer& begin_array();
  writer& end_array();
  writer& key(std::string_view k);
  writer& value(std::string_view s);
  writer& value(const char* s) { return value(std::string_view{s}); }
  writer& value(const std::string& s) { return value(std::string_view{s}); }
  writer& value(int64_t n);
  writer& value(uint64_t n);
  writer& value(int n) { return value(static_cast<int64_t>(n)); }
  writer& value(unsigned n) { return value(static_cast<uint64_t>(n)); }
  writer& value(bool b);
  writer& null();
  /// Inserts already-serialized JSON as the next value.
  writer& raw(std::string_view json);
  /// A string value, or null when empty.
  writer& string_or_null(std::string_view s);

  const std::string& str() const& { return out_; }
  std::string str() && { return std::move(out_); }
  void reserve(size_t n) { out_.reserve(n); }

private:
  void separate();
  std::string out_;
  bool need_comma_ = false;
};

} // namespace ls::json
