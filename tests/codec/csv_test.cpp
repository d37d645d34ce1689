#include "http/codec/csv.hpp"
#include "http/codec/validation.hpp"

#include <gtest/gtest.h>
#include <optional>
#include <random>

namespace {

using namespace std::string_literals;

std::string cell(std::string_view s) {
  std::string out;
  ls::csv::append_cell(out, s);
  return out;
}

// A strict RFC 4180 reader for checking the writer's output: rows of cells.
std::optional<std::vector<std::vector<std::string>>>
read_csv(std::string_view s) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '"') {
      ++i;
      for (;;) {
        if (i >= s.size()) return std::nullopt; // unterminated
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(s[i++]);
      }
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '\r') {
        if (s[i] == '"' || s[i] == '\n')
          return std::nullopt; // bare quote or LF in an unquoted field
        field.push_back(s[i++]);
      }
    }
    if (i >= s.size()) return std::nullopt; // rows end in CRLF
    if (s[i] == ',') {
      row.push_back(std::move(field));
      field.clear();
      ++i;
    } else if (s.substr(i, 2) == "\r\n") {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      i += 2;
    } else {
      return std::nullopt;
    }
  }
  if (!row.empty() || !field.empty()) return std::nullopt;
  return rows;
}

TEST(CsvCell, Table) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"plain", "plain"},
      {"two words", "two words"},
      {"a,b", "\"a,b\""},
      {"say \"hi\"", "\"say \"\"hi\"\"\""},
      {"\"", "\"\"\"\""},
      {"line1\r\nline2", "\"line1\r\nline2\""},
      {"line1\nline2", "\"line1\nline2\""},
      {" lead", "\" lead\""},
      {"trail ", "\"trail \""},
      {" ", "\" \""},
      {"in side", "in side"},
      // Formula neutralisation: each trigger character.
      {"=1+2", "'=1+2"},
      {"+1", "'+1"},
      {"-1", "'-1"},
      {"@SUM(A1)", "'@SUM(A1)"},
      {"\tx", "'\tx"},
      {"\rx", "\"'\rx\""},
      {"=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\""},
      {"=a,b", "\"'=a,b\""},
      {"= lead", "'= lead"},
      {"-", "'-"},
      {"a=b", "a=b"}, // only the first character counts
      {"'=x", "'=x"},
      // Unicode passes through; invalid bytes become U+FFFD.
      {"Zoë 東京 🎉", "Zoë 東京 🎉"},
      {"a\xFF"
       "b",
       "a\xEF\xBF\xBD"
       "b"},
      {"\xC3", "\xEF\xBF\xBD"},
      {"\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD"},                 // overlong
      {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, // surrogate
      {"\x80=", "\xEF\xBF\xBD="},
      {"a\0b"s, "a\0b"s},
  };
  for (auto& [in, out] : cases)
    EXPECT_EQ(cell(in), out) << "input: " << in;
}

TEST(CsvCell, AppendsToExistingOutput) {
  std::string out = "x,";
  ls::csv::append_cell(out, "a,b");
  EXPECT_EQ(out, "x,\"a,b\"");
}

TEST(CsvRow, Table) {
  using cells = std::vector<std::string_view>;
  const std::pair<cells, std::string> cases[] = {
      {{}, "\r\n"},
      {{""}, "\"\"\r\n"},
      {{"", ""}, ",\r\n"},
      {{"a", "b", "c"}, "a,b,c\r\n"},
      {{"email", "name"}, "email,name\r\n"},
      {{"jo@example.com", "Doe, Jo", "=1"},
       "jo@example.com,\"Doe, Jo\",'=1\r\n"},
      {{"multi\r\nline", ""}, "\"multi\r\nline\",\r\n"},
  };
  for (auto& [in, out] : cases) {
    std::string s;
    ls::csv::append_row(s, in);
    EXPECT_EQ(s, out);
  }
}

TEST(CsvRow, ReadsBackWithStrictReader) {
  std::vector<std::string_view> cells = {"a",      "",     "b,c", "\"q\"",
                                         "x\r\ny", " sp ", "=f",  "é"};
  std::string out;
  ls::csv::append_row(out, cells);
  ls::csv::append_row(out, {"second"});
  auto rows = read_csv(out);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0],
            (std::vector<std::string>{"a", "", "b,c", "\"q\"", "x\r\ny", " sp ",
                                      "'=f", "é"}));
  EXPECT_EQ((*rows)[1], (std::vector<std::string>{"second"}));
}

TEST(CsvHostile, RandomBytesGiveValidUtf8AndParseBack) {
  std::mt19937 rng(4180);
  const std::string alphabet = ",\"\r\n =+-@\t'a\xC3\xA9\xFF\x80\0"s;
  for (int round = 0; round < 5000; ++round) {
    std::vector<std::string> originals(1 + rng() % 5);
    for (auto& s : originals) {
      s.resize(rng() % 40);
      for (auto& c : s)
        c = round % 2 ? static_cast<char>(rng())
                      : alphabet[rng() % alphabet.size()];
    }
    std::vector<std::string_view> views(originals.begin(), originals.end());
    std::string out;
    ls::csv::append_row(out, views);
    ASSERT_TRUE(ls::validation::is_utf8(out));
    auto rows = read_csv(out);
    ASSERT_TRUE(rows) << "unparseable output for round " << round;
    ASSERT_EQ(rows->size(), 1u);
    ASSERT_EQ((*rows)[0].size(), originals.size());
    for (size_t k = 0; k < originals.size(); ++k) {
      const auto& got = (*rows)[0][k];
      const auto& orig = originals[k];
      // Neutralised cells start with the apostrophe; nothing else starts with a
      // trigger.
      if (!orig.empty() && std::string_view("=+-@\t\r").find(orig[0]) !=
                               std::string_view::npos) {
        ASSERT_FALSE(got.empty());
        EXPECT_EQ(got[0], '\'');
      } else if (!got.empty()) {
        EXPECT_EQ(std::string_view("=+-@\t\r").find(got[0]),
                  std::string_view::npos);
      }
      if (ls::validation::is_utf8(orig)) {
        bool prefixed = !orig.empty() && got.size() == orig.size() + 1;
        EXPECT_EQ(prefixed ? got.substr(1) : got, orig);
      }
    }
  }
}

TEST(CsvHostile, LargeCell) {
  std::string big(1 << 20, '"');
  std::string out;
  ls::csv::append_cell(out, big);
  EXPECT_EQ(out.size(), 2 * big.size() + 2);
}

} // namespace
