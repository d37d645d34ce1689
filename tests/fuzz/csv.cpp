// CSV writing (http/codec/csv.hpp: append_cell, append_row), as used by the
// subscriber export and the hand-off files.
// Properties: the row read back by an RFC 4180 reader has the same number of
// cells; each cell is the input with invalid UTF-8 replaced by U+FFFD and an
// apostrophe before a formula trigger; no cell read back starts with = + - @
// TAB or CR; the output is valid UTF-8 and one CRLF-terminated record.
#include "http/codec/csv.hpp"

#include "fuzz.hpp"
#include "http/codec/utf8.hpp"
#include "http/codec/validation.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <optional>
#include <vector>

namespace {

/// One RFC 4180 record ending in CRLF that must fill `text` exactly.
std::optional<std::vector<std::string>> read_record(std::string_view text) {
  std::vector<std::string> cells;
  size_t i = 0;
  for (;;) {
    std::string cell;
    if (i < text.size() && text[i] == '"') {
      ++i;
      for (;;) {
        if (i >= text.size()) return std::nullopt;
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cell += text[i++];
      }
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\r' &&
             text[i] != '\n' && text[i] != '"')
        cell += text[i++];
    }
    cells.push_back(std::move(cell));
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (text.substr(i) == "\r\n") return cells;
    return std::nullopt;
  }
}

bool is_trigger(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  std::vector<std::string> cells;
  auto n = fdp.ConsumeIntegralInRange<size_t>(1, 8);
  for (size_t i = 0; i < n && fdp.remaining_bytes() > 0; ++i)
    cells.push_back(i + 1 == n ? fdp.ConsumeRemainingBytesAsString()
                               : fdp.ConsumeRandomLengthString(64));
  if (cells.empty()) cells.emplace_back();
  std::string shown;
  for (auto& c : cells)
    shown += "[" + c + "]";

  std::vector<std::string_view> views(cells.begin(), cells.end());
  std::string out = "prefix,";
  ls::csv::append_row(out, views);
  FUZZ_CHECK(out.starts_with("prefix,"), shown);
  std::string_view row = std::string_view(out).substr(7);
  FUZZ_CHECK(ls::validation::is_utf8(row), shown);

  auto read = read_record(row);
  FUZZ_CHECK(read.has_value(), shown + " -> " + std::string(row));
  FUZZ_CHECK(read->size() == cells.size(), shown + " -> " + std::string(row));
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string expected;
    if (!cells[i].empty() && is_trigger(cells[i].front())) expected = "'";
    ls::utf8::append_sanitized(expected, cells[i]);
    FUZZ_CHECK((*read)[i] == expected, shown + " -> " + std::string(row));
    FUZZ_CHECK((*read)[i].empty() || !is_trigger((*read)[i].front()),
               shown + " -> " + std::string(row));
  }

  // One cell alone gives the same text as inside a row.
  std::string single;
  ls::csv::append_cell(single, cells[0]);
  if (cells.size() > 1 || !cells[0].empty())
    FUZZ_CHECK(row.starts_with(single), shown);
  return 0;
}
