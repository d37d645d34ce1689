#include "http/codec/csv.hpp"

#include "http/codec/utf8.hpp"

namespace ls::csv {

namespace {

// Characters a spreadsheet may read as the start of a formula.
bool is_formula_trigger(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

bool needs_quotes(std::string_view s) {
  if (s.empty()) return false;
  if (s.front() == ' ' || s.back() == ' ') return true;
  return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

} // namespace

void append_cell(std::string& out, std::string_view cell) {
  // Build the cell's text first: neutralised, with invalid UTF-8 replaced.
  std::string text;
  text.reserve(cell.size() + 1);
  if (!cell.empty() && is_formula_trigger(cell.front())) text.push_back('\'');
  utf8::append_sanitized(text, cell);

  if (!needs_quotes(text)) {
    out += text;
    return;
  }
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_row(std::string& out, const std::vector<std::string_view>& cells) {
  // A lone empty cell would give a blank line, which readers skip: quote it.
  if (cells.size() == 1 && cells.front().empty()) {
    out += "\"\"\r\n";
    return;
  }
  bool first = true;
  for (auto cell : cells) {
    if (!first) out.push_back(',');
    first = false;
    append_cell(out, cell);
  }
  out += "\r\n";
}

} // namespace ls::csv
