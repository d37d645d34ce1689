#include "http/codec/validation.hpp"

#include <gtest/gtest.h>
#include <random>

namespace {

using namespace std::string_literals;
namespace v = ls::validation;

// Concatenation by append (GCC 12 warns falsely on chains of std::string
// operator+).
std::string cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts)
    out.append(part);
  return out;
}

std::string rep(size_t n, char c) {
  return std::string(n, c);
}

// Expected outcome: the normalised value, or a fragment of the error message.
struct expect {
  std::string input;
  bool ok;
  std::string value_or_message;
};

void check(const v::result& r, const expect& e) {
  if (e.ok) {
    EXPECT_TRUE(r.ok()) << "input: \"" << e.input << "\" error: " << r.error;
    EXPECT_EQ(r.value, e.value_or_message) << "input: \"" << e.input << "\"";
  } else {
    EXPECT_FALSE(r.ok()) << "input: \"" << e.input << "\" value: " << r.value;
    EXPECT_NE(r.error.find(e.value_or_message), std::string::npos)
        << "input: \"" << e.input << "\" error: " << r.error;
    EXPECT_TRUE(r.value.empty());
  }
}

TEST(ValidationEmail, Accepts) {
  const expect cases[] = {
      {"  Jo.Doe+tag@Example.COM ", true, "jo.doe+tag@example.com"},
      {"a@b.co", true, "a@b.co"},
      {"x@mail.example.co.uk", true, "x@mail.example.co.uk"},
      {"first_last@sub-domain.example.org", true,
       "first_last@sub-domain.example.org"},
      {"o'brien@example.ie", true, "o'brien@example.ie"},
      {"!#$%&'*+/=?^_`{|}~-@example.com", true,
       "!#$%&'*+/=?^_`{|}~-@example.com"},
      {"a@123.example.com", true, "a@123.example.com"},
      {"a@xn--mnchen-3ya.de", true, "a@xn--mnchen-3ya.de"},
      {"a@example.xn--p1ai", true, "a@example.xn--p1ai"},
      {"\ta@b.com\r\n", true, "a@b.com"},
      {cat({rep(64, 'a'), "@b.com"}), true, cat({rep(64, 'a'), "@b.com"})},
  };
  for (auto& c : cases)
    check(v::email(c.input), c);
}

TEST(ValidationEmail, Refuses) {
  const std::string label63(63, 'd');
  // 64 + 1 + 63*3 + 3 dots ... = 254 exactly, then one more.
  const std::string at254 = cat(
      {rep(64, 'a'), "@", label63, ".", label63, ".", rep(57, 'd'), ".com"});
  ASSERT_EQ(at254.size(), 254u);
  EXPECT_TRUE(v::email(at254).ok()) << v::email(at254).error;

  const expect cases[] = {
      {"", false, "Enter an email address"},
      {"   ", false, "Enter an email address"},
      {"a", false, "name@example.com"},
      {"a@", false, "domain after @"},
      {"@b.com", false, "part before @"},
      {"a@b", false, "example.com"},
      {"a..b@c.com", false, "two dots"},
      {".a@b.com", false, "dot"},
      {"a.@b.com", false, "dot"},
      {"a@-b.com", false, "hyphen"},
      {"a@b-.com", false, "hyphen"},
      {"a@b.c0m", false, "top-level domain"},
      {"a@b.c", false, "top-level domain"},
      {"a@b.123", false, "top-level domain"},
      {"a@1.2.3.4", false, "top-level domain"},
      {"a@[1.2.3.4]", false, "letters, digits, hyphens"},
      {"a@b..com", false, "two dots"},
      {"a@.b.com", false, "dot"},
      {"a@b.com.", false, "dot"},
      {"a@b_c.com", false, "letters, digits, hyphens"},
      {cat({"a@", rep(64, 'd'), ".com"}), false, "at most 63"},
      {"josé@x.com", false, "plain ASCII letters"},
      {"a@münchen.de", false, "punycode"},
      {"\"jo doe\"@example.com", false, "spaces"},
      {"\"jo\"@example.com", false, "quotes"},
      {"\"a@b\"@example.com", false, "quotes"},
      {"a@b@c.com", false, "only one @"},
      {"a(comment)@b.com", false, "character ("},
      {"a,b@c.com", false, "character ,"},
      {"a\\b@c.com", false, "character \\"},
      {cat({rep(65, 'a'), "@b.com"}), false, "at most 64"},
      {cat({at254, "m"}), false, "at most 254"},
      {rep(255, 'a'), false, "at most 254"},
      {"jo doe@example.com", false, "spaces"},
      {"jo@exa mple.com", false, "spaces"},
      {"jo\x01@example.com", false, "name@example.com"},
      {"jo\x7F@example.com", false, "name@example.com"},
      {"jo@example.com\0"s, false, "name@example.com"},
      {"jo\xFF@example.com", false, "plain ASCII"},
  };
  for (auto& c : cases)
    check(v::email(c.input), c);
}

TEST(ValidationPhone, Table) {
  const expect cases[] = {
      {"+1 415-555-0123", true, "+14155550123"},
      {"(415) 555-0123", true, "+14155550123"},
      {"  415.555.0123 ", true, "+14155550123"},
      {"+44 20 7946 0958", true, "+442079460958"},
      {"+33 1 42 68 53 00", true, "+33142685300"},
      {"", false, "Enter a phone number"},
      {"12", false, "too short"},
      {"555-0123", false, "area code"},
      {"abc", false, ""},
      {"+999 123", false, "country code"},
      {std::string(40, '4'), false, ""},
      {cat({"+", rep(40, '1')}), false, ""},
      {std::string(65, '1'), false, "too long"},
      {"+1 415 555 01234567", false, "too long"},
      {"+1 415-555-0123 ext. 12", false, "extension"},
      {"1-800-FLOWERS", true, "+18003569377"},
      {"+1 000 000 0000", false, "not a valid"},
      {"+1 415\n555 0123", false, ""},
      {"+1 415\xFF 555 0123", false, ""},
      {"+1 415\0 555 0123"s, false, ""},
  };
  for (auto& c : cases)
    check(v::phone(c.input, "US"), c);
}

TEST(ValidationPhone, Regions) {
  check(v::phone("020 7946 0958", "GB"), {"", true, "+442079460958"});
  check(v::phone("020 7946 0958", "gb"), {"", true, "+442079460958"});
  // A leading + ignores the region.
  check(v::phone("+1 415 555 0123", "GB"), {"", true, "+14155550123"});
  // Without a usable region, national numbers cannot be read.
  for (std::string_view region : {"", "ZZ", "USA", "1", "\xFF\xFF"})
    check(v::phone("415 555 0123", region), {"", false, "country code"});
  check(v::phone("+1 415 555 0123", ""), {"", true, "+14155550123"});
}

TEST(ValidationText, Table) {
  struct text_case {
    std::string input;
    size_t max;
    bool tab;
    bool ok;
    std::string value_or_message;
  };
  const text_case cases[] = {
      {"", 10, false, true, ""},
      {"  hello  ", 10, false, true, "hello"},
      {"\t\r\n hi \v\f", 10, false, true, "hi"},
      {"Zoë", 4, false, true, "Zoë"},
      {"東京 🎉", 100, false, true, "東京 🎉"},
      {"a\tb", 10, true, true, "a\tb"},
      {"a\tb", 10, false, false, "tabs"},
      {"a\nb", 10, true, false, "line breaks"},
      {"a\rb", 10, false, false, "line breaks"},
      {"a\0b"s, 10, false, false, "control"},
      {"a\x1b[31m", 10, false, false, "control"},
      {"a\x7F", 10, false, false, "control"},
      {"a\xC2\x80", 10, false, false, "control"},  // U+0080
      {"a\xC2\x9F", 10, false, false, "control"},  // U+009F
      {"a\xC2\xA0", 10, false, true, "a\xC2\xA0"}, // NBSP is fine
      {"a\xFF", 10, false, false, "not allowed"},
      {"\xC3", 10, false, false, "not allowed"},
      {"\xED\xA0\x80", 10, false, false, "not allowed"},
      {"\xF4\x90\x80\x80", 10, false, false, "not allowed"},
      {"\xE0\x80\x80", 10, false, false, "not allowed"},
      {"abcdefghijk", 10, false, false, "at most 10 characters"},
      {"abcdefghij", 10, false, true, "abcdefghij"},
      {"  abcdefghij  ", 10, false, true, "abcdefghij"},
      {"Zoë", 3, false, false, "at most 3 characters"},
      {"x", 0, false, false, "at most 0 characters"},
  };
  for (auto& c : cases)
    check(v::text(c.input, c.max, c.tab), {c.input, c.ok, c.value_or_message});
}

TEST(ValidationIsoDate, Table) {
  const expect cases[] = {
      {"2024-02-29", true, "2024-02-29"},
      {"2000-02-29", true, "2000-02-29"},
      {"1999-12-31", true, "1999-12-31"},
      {" 2024-01-01 ", true, "2024-01-01"},
      {"0001-01-01", true, "0001-01-01"},
      {"9999-12-31", true, "9999-12-31"},
      {"2023-02-29", false, "does not exist"},
      {"1900-02-29", false, "does not exist"},
      {"2024-13-01", false, "does not exist"},
      {"2024-00-10", false, "does not exist"},
      {"2024-04-31", false, "does not exist"},
      {"2024-01-00", false, "does not exist"},
      {"2024-01-32", false, "does not exist"},
      {"0000-01-01", false, "does not exist"},
      {"24-01-01", false, "2024-01-31"},
      {"2024-1-01", false, "2024-01-31"},
      {"2024/01/01", false, "2024-01-31"},
      {"2024-01-01T00:00:00Z", false, "2024-01-31"},
      {"+024-01-01", false, "2024-01-31"},
      {"2024-0a-01", false, "2024-01-31"},
      {"", false, "2024-01-31"},
      {"２０２４-01-01", false, "2024-01-31"},
  };
  for (auto& c : cases)
    check(v::iso_date(c.input), c);
}

TEST(ValidationIsUtf8, Table) {
  const std::pair<std::string, bool> cases[] = {
      {"", true},
      {"ascii", true},
      {"\0"s, true},
      {"Zoë 東京 🎉", true},
      {"\xF4\x8F\xBF\xBF", true}, // U+10FFFF
      {"\xEF\xBF\xBD", true},
      {"\x80", false},
      {"\xC3", false},
      {"\xC3\x28", false},
      {"\xC0\x80", false},         // overlong NUL
      {"\xE0\x9F\xBF", false},     // overlong
      {"\xF0\x8F\xBF\xBF", false}, // overlong
      {"\xED\xA0\x80", false},     // surrogate
      {"\xF4\x90\x80\x80", false}, // past U+10FFFF
      {"\xF8\x88\x80\x80\x80", false},
      {"\xFE", false},
      {"ok\xE2\x82", false}, // truncated
  };
  for (auto& [s, ok] : cases)
    EXPECT_EQ(v::is_utf8(s), ok) << "input: " << s;
}

// Valid results of every validator are themselves valid and stable.
TEST(ValidationHostile, RandomBytes) {
  std::mt19937 rng(5321);
  const std::string alphabet = "a@.-+_ \t\r\n0123456789()\"\xC3\xA9\xFF\0"s;
  for (int round = 0; round < 5000; ++round) {
    std::string s(rng() % 80, '\0');
    for (auto& c : s)
      c = round % 2 ? static_cast<char>(rng())
                    : alphabet[rng() % alphabet.size()];
    auto e = v::email(s);
    if (e.ok()) {
      EXPECT_LE(e.value.size(), 254u);
      EXPECT_EQ(v::email(e.value).value, e.value);
    } else {
      EXPECT_TRUE(v::is_utf8(e.error));
    }
    auto p = v::phone(s, "US");
    if (p.ok()) {
      ASSERT_FALSE(p.value.empty());
      EXPECT_EQ(p.value[0], '+');
      EXPECT_EQ(v::phone(p.value).value, p.value);
    }
    auto t = v::text(s, 40);
    if (t.ok()) {
      EXPECT_TRUE(v::is_utf8(t.value));
      EXPECT_LE(t.value.size(), 40u);
    }
    auto d = v::iso_date(s);
    if (d.ok()) {
      EXPECT_EQ(d.value.size(), 10u);
    }
    (void)v::is_utf8(s);
  }
}

TEST(ValidationHostile, HugeInputs) {
  std::string huge(4 << 20, 'a');
  EXPECT_FALSE(v::email(huge).ok());
  EXPECT_FALSE(v::phone(huge).ok());
  EXPECT_FALSE(v::text(huge, 1000).ok());
  EXPECT_FALSE(v::iso_date(huge).ok());
  EXPECT_TRUE(v::is_utf8(huge));
  std::string spaces(4 << 20, ' ');
  EXPECT_TRUE(v::text(spaces, 0).ok());
}

} // namespace
