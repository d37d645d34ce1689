#include "http/codec/json.hpp"

#include "http/codec/utf8.hpp"

#include <charconv>

namespace ls::json {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not valid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  uint32_t cp;
  return utf8::decode(s, i, cp);
}

} // namespace

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // A run of plain printable ASCII goes in one append (most text is that).
    size_t run = i;
    while (run < s.size()) {
      auto r = static_cast<unsigned char>(s[run]);
      if (r < 0x20 || r >= 0x7F || r == '"' || r == '\\' || r == '<') break;
      ++run;
    }
    if (run > i) {
      out.append(s.data() + i, run - i);
      i = run;
      continue;
    }
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      auto n = utf8_sequence_length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '<': // keeps JSON embedded in HTML <script> inert
      out += "\\u003c";
      break;
    default:
      if (c < 0x20 || c == 0x7F) {
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 0xF]);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    ++i;
  }
  out.push_back('"');
}

void writer::separate() {
  if (need_comma_) out_.push_back(',');
}

writer& writer::begin_object() {
  separate();
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}

writer& writer::end_object() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}

writer& writer::begin_array() {
  separate();
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}

writer& writer::end_array() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}

writer& writer::key(std::string_view k) {
  separate();
  append_quoted(out_, k);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}

writer& writer::value(std::string_view s) {
  separate();
  append_quoted(out_, s);
  need_comma_ = true;
  return *this;
}

writer& writer::value(int64_t n) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
  need_comma_ = true;
  return *this;
}

writer& writer::value(uint64_t n) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
  need_comma_ = true;
  return *this;
}

writer& writer::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  need_comma_ = true;
  return *this;
}

writer& writer::null() {
  separate();
  out_ += "null";
  need_comma_ = true;
  return *this;
}

writer& writer::raw(std::string_view json) {
  separate();
  out_.append(json);
  need_comma_ = true;
  return *this;
}

writer& writer::string_or_null(std::string_view s) {
  return s.empty() ? null() : value(s);
}

} // namespace ls::json
