#include "http/codec/json.hpp"
#include "http/codec/problem.hpp"

#include <gtest/gtest.h>
#include <random>
#include <simdjson.h>

namespace {

using namespace std::string_literals;

std::string json_quoted(std::string_view s) {
  std::string out;
  ls::json::append_quoted(out, s);
  return out;
}

// Parses `json` as a single string value and returns it (nullopt when not valid
// JSON).
std::optional<std::string> parse_string(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  if (p.parse(padded).get(doc)) return std::nullopt;
  std::string_view sv;
  if (doc.get_string().get(sv)) return std::nullopt;
  return std::string(sv);
}

bool is_valid_json(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::padded_string padded(json);
  simdjson::dom::element doc;
  return !p.parse(padded).get(doc);
}

TEST(JsonQuoted, Table) {
  const std::pair<std::string, std::string> cases[] = {
      {"", R"("")"},
      {"abc", R"("abc")"},
      {"a\"b", R"("a\"b")"},
      {"a\\b", R"("a\\b")"},
      {"a/b", R"("a/b")"},
      {"\n\r\t", R"("\n\r\t")"},
      {"\b\f", R"("\u0008\u000c")"},
      {"\0"s, R"("\u0000")"},
      {"\x1f\x7f", R"("\u001f\u007f")"},
      {"</script>", R"("\u003c/script>")"},
      {"Zoë 東京 🎉", "\"Zoë 東京 🎉\""},
      {"\xE2\x80\xA8", "\"\xE2\x80\xA8\""}, // U+2028 is valid in JSON
      {"a\xFF"
       "b",
       "\"a\xEF\xBF\xBD"
       "b\""},
      {"\xC3", "\"\xEF\xBF\xBD\""},
      {"\xC0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},
      {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
      {"\xF4\x90\x80\x80",
       "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
  };
  for (auto& [in, out] : cases)
    EXPECT_EQ(json_quoted(in), out) << "input: " << in;
}

TEST(JsonWriter, BuildsNestedDocuments) {
  ls::json::writer w;
  w.begin_object()
      .key("id")
      .value("x")
      .key("n")
      .value(3)
      .key("neg")
      .value(int64_t{-9'223'372'036'854'775'807 - 1})
      .key("big")
      .value(uint64_t{18'446'744'073'709'551'615u})
      .key("u")
      .value(7u)
      .key("t")
      .value(true)
      .key("f")
      .value(false)
      .key("nil")
      .null()
      .key("s")
      .value(std::string("str"))
      .key("list")
      .begin_array()
      .value(1)
      .begin_object()
      .end_object()
      .begin_array()
      .end_array()
      .raw(R"({"r":1})")
      .string_or_null("")
      .string_or_null("y")
      .end_array()
      .key("empty")
      .begin_object()
      .end_object()
      .end_object();
  EXPECT_EQ(w.str(),
            R"({"id":"x","n":3,"neg":-9223372036854775808,)"
            R"("big":18446744073709551615,"u":7,"t":true,"f":false,)"
            R"("nil":null,"s":"str","list":[1,{},[],{"r":1},null,"y"],)"
            R"("empty":{}})");
  EXPECT_TRUE(is_valid_json(w.str()));
}

TEST(JsonWriter, TopLevelValuesAndArrays) {
  EXPECT_EQ(ls::json::writer{}.begin_array().end_array().str(), "[]");
  EXPECT_EQ(ls::json::writer{}.value("a").str(), R"("a")");
  ls::json::writer w;
  w.begin_array().value(1).value(2).value(3).end_array();
  EXPECT_EQ(std::move(w).str(), "[1,2,3]");
}

TEST(JsonWriter, KeysAreEscaped) {
  ls::json::writer w;
  w.begin_object().key("a\"\n\xFF").value(1).end_object();
  EXPECT_EQ(w.str(), "{\"a\\\"\\n\xEF\xBF\xBD\":1}");
  EXPECT_TRUE(is_valid_json(w.str()));
}

TEST(JsonHostile, RandomBytesAlwaysParse) {
  std::mt19937 rng(8259);
  const std::string alphabet = "\"\\/<>\n\r\t\b\x01\x7f aé\xFF\x80\xC3\0"s;
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 64, '\0');
    for (auto& c : s)
      c = round % 2 ? static_cast<char>(rng())
                    : alphabet[rng() % alphabet.size()];
    auto q = json_quoted(s);
    auto back = parse_string(q);
    ASSERT_TRUE(back) << "invalid JSON for round " << round;
    if (simdjson::validate_utf8(s.data(), s.size())) {
      EXPECT_EQ(*back, s);
    } // valid UTF-8 round-trips exactly
    ls::json::writer w;
    w.begin_object()
        .key(s)
        .value(s)
        .key("a")
        .begin_array()
        .value(s)
        .end_array()
        .end_object();
    ASSERT_TRUE(is_valid_json(w.str()));
  }
}

TEST(Problem, StatusTitles) {
  EXPECT_EQ(ls::http::status_title(400), "Bad Request");
  EXPECT_EQ(ls::http::status_title(404), "Not Found");
  EXPECT_EQ(ls::http::status_title(422), "Unprocessable Content");
  EXPECT_EQ(ls::http::status_title(429), "Too Many Requests");
  EXPECT_EQ(ls::http::status_title(503), "Service Unavailable");
  EXPECT_EQ(ls::http::status_title(418), "Client Error");
  EXPECT_EQ(ls::http::status_title(599), "Server Error");
}

TEST(Problem, Body) {
  auto r = ls::http::problem(404, "No such form");
  EXPECT_EQ(r.status, 404u);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "content-type");
  EXPECT_EQ(r.headers[0].second, "application/problem+json");
  EXPECT_EQ(r.body, R"({"type":"about:blank","title":"Not Found",)"
                    R"("status":404,"detail":"No such form"})");
}

TEST(Problem, FieldErrors) {
  auto r = ls::http::problem(
      422, "Check the highlighted fields",
      {{"email", "Enter a valid email address like name@example.com"},
       {"fields[\"x\"]", "bad \xFF <b>"}});
  EXPECT_EQ(r.status, 422u);
  simdjson::dom::parser p;
  simdjson::padded_string padded(r.body);
  simdjson::dom::element doc;
  ASSERT_FALSE(p.parse(padded).get(doc)) << r.body;
  EXPECT_EQ(std::string_view(doc["title"]), "Unprocessable Content");
  EXPECT_EQ(int64_t(doc["status"]), 422);
  EXPECT_EQ(std::string_view(doc["detail"]), "Check the highlighted fields");
  simdjson::dom::array errors = doc["errors"];
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(std::string_view(errors.at(0)["field"]), "email");
  EXPECT_EQ(std::string_view(errors.at(1)["field"]), "fields[\"x\"]");
  EXPECT_EQ(std::string_view(errors.at(1)["message"]), "bad \xEF\xBF\xBD <b>");
}

TEST(Problem, HostileDetail) {
  std::mt19937 rng(9457);
  for (int round = 0; round < 2000; ++round) {
    std::string detail(rng() % 64, '\0');
    for (auto& c : detail)
      c = static_cast<char>(rng());
    auto r = ls::http::problem(400 + rng() % 200, detail, {{detail, detail}});
    ASSERT_TRUE(is_valid_json(r.body)) << "round " << round;
  }
}

} // namespace
