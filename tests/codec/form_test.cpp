#include "http/codec/form.hpp"

#include <gtest/gtest.h>
#include <random>

namespace {

using ls::form::pairs;
using ls::form::percent_decode;
using ls::form::percent_encode;
using namespace std::string_literals;

struct decode_case {
  std::string in;
  bool plus_as_space;
  std::optional<std::string> out;
};

TEST(FormPercentDecode, Table) {
  const decode_case cases[] = {
      {"", false, ""},
      {"abc", false, "abc"},
      {"%41", false, "A"},
      {"%4a%4A", false, "JJ"},
      {"a+b", false, "a+b"},
      {"a+b", true, "a b"},
      {"%2B", true, "+"},
      {"%20x", true, " x"},
      {"%C3%A9", false, "\xC3\xA9"},
      {"%FF", false, "\xFF"}, // decoded bytes need not be UTF-8
      {"100%25", false, "100%"},
      {"%", false, std::nullopt},
      {"%4", false, std::nullopt},
      {"a%", false, std::nullopt},
      {"%zz", false, std::nullopt},
      {"%g1", false, std::nullopt},
      {"%1g", false, std::nullopt},
      {"%%41", false, std::nullopt},
      {"%00", false, std::nullopt},
      {"a\0b"s, false, std::nullopt},
  };
  for (auto& c : cases)
    EXPECT_EQ(percent_decode(c.in, c.plus_as_space), c.out)
        << "input: " << c.in;
}

TEST(FormPercentEncode, Table) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"AZaz09-._~", "AZaz09-._~"},
      {" ", "%20"},
      {"a+b&c=d", "a%2Bb%26c%3Dd"},
      {"/?#[]@", "%2F%3F%23%5B%5D%40"},
      {"\xC3\xA9", "%C3%A9"},
      {"\0"s, "%00"},
      {"\xFF", "%FF"},
  };
  for (auto& [in, out] : cases)
    EXPECT_EQ(percent_encode(in), out) << "input: " << in;
}

TEST(FormPercentEncode, RoundTripsEveryByteButNul) {
  std::string all;
  for (int c = 1; c < 256; ++c)
    all.push_back(static_cast<char>(c));
  auto enc = percent_encode(all);
  EXPECT_EQ(percent_decode(enc, false), all);
  EXPECT_EQ(percent_decode(enc, true), all);
}

struct parse_case {
  std::string in;
  std::optional<pairs> out;
};

TEST(FormParse, Table) {
  const parse_case cases[] = {
      {"", pairs{}},
      {"&&", pairs{}},
      {"a=1&b=%20x&c", pairs{{"a", "1"}, {"b", " x"}, {"c", ""}}},
      {"a=1&&b=2&", pairs{{"a", "1"}, {"b", "2"}}},
      {"a=1&b=2&a=3", pairs{{"a", "1"}, {"b", "2"}, {"a", "3"}}},
      {"=v", pairs{{"", "v"}}},
      {"k=", pairs{{"k", ""}}},
      {"k==v", pairs{{"k", "=v"}}},
      {"fields[company]=Acme+Inc", pairs{{"fields[company]", "Acme Inc"}}},
      {"fields%5Bcompany%5D=x", pairs{{"fields[company]", "x"}}},
      {"q=a%2Bb+c", pairs{{"q", "a+b c"}}},
      {"e=jo%40example.com", pairs{{"e", "jo@example.com"}}},
      {"a=%", std::nullopt},
      {"a%zz=1", std::nullopt},
      {"a=1&b=%4", std::nullopt},
      {"a=%00", std::nullopt},
  };
  for (auto& c : cases)
    EXPECT_EQ(ls::form::parse(c.in), c.out) << "input: " << c.in;
}

TEST(FormFirst, FindsFirstValue) {
  pairs p{{"a", "1"}, {"b", ""}, {"a", "3"}};
  EXPECT_EQ(ls::form::first(p, "a"), "1");
  EXPECT_EQ(ls::form::first(p, "b"), "");
  EXPECT_EQ(ls::form::first(p, "c"), std::nullopt);
  EXPECT_EQ(ls::form::first({}, ""), std::nullopt);
}

TEST(FormHostile, RandomBytes) {
  std::mt19937 rng(12345);
  const std::string alphabet = "%&=+aZ09\xC3\xA9\xFF\0"s;
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s)
      c = round % 2 ? static_cast<char>(rng())
                    : alphabet[rng() % alphabet.size()];
    auto dec = percent_decode(s, true);
    if (dec) {
      EXPECT_EQ(dec->find('\0'), std::string::npos);
    }
    auto parsed = ls::form::parse(s);
    if (parsed) {
      for (auto& [k, v] : *parsed) {
        EXPECT_EQ(k.find('\0'), std::string::npos);
        EXPECT_EQ(v.find('\0'), std::string::npos);
      }
    }
    // Encoding anything and decoding it back is the identity (NUL aside).
    auto enc = percent_encode(s);
    EXPECT_EQ(enc.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
                                    "pqrstuvwxyz0123456789-._~%"),
              std::string::npos);
    if (s.find('\0') == std::string::npos) {
      EXPECT_EQ(percent_decode(enc, true), s);
    }
  }
}

TEST(FormHostile, LargeInput) {
  std::string big;
  for (int i = 0; i < 100000; ++i)
    big += "k" + std::to_string(i) + "=%41&";
  auto p = ls::form::parse(big);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 100000u);
  EXPECT_EQ(p->back(), (std::pair<std::string, std::string>{"k99999", "A"}));
}

} // namespace
