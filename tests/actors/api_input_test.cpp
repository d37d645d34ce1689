// The request input tree: form bodies (parse_form) and JSON bodies
// (parse_json), as the endpoints read them.
#include "actors/routes/input.hpp"

#include <gtest/gtest.h>
#include <string>

namespace {

using ls::api::parse_form;
using ls::api::parse_json;
using ls::api::value;

value form(std::string_view body) {
  std::string error;
  auto v = parse_form(body, error);
  EXPECT_TRUE(v) << body << ": " << error;
  return v ? *v : value{};
}

std::string form_error(std::string_view body) {
  std::string error;
  EXPECT_EQ(parse_form(body, error), std::nullopt) << body;
  return error;
}

TEST(parse_form, plain_and_repeated_keys) {
  auto v = form("email=a%40b.co&name=A+B&tags=x&tags=y");
  ASSERT_EQ(v.kind, value::object);
  ASSERT_EQ(v.members.size(), 3u);
  EXPECT_EQ(v.get("email")->s, "a@b.co");
  EXPECT_EQ(v.get("name")->s, "A B");
  auto* tags = v.get("tags");
  ASSERT_EQ(tags->kind, value::array);
  ASSERT_EQ(tags->items.size(), 2u);
  EXPECT_EQ(tags->items[1].s, "y");
}

// Found by tests/fuzz/form.cpp: "tags[]=a&tags[]=b" gave [{}, "a", "b"] and a
// second, empty "tags" member, so the signup was refused ("must be a list of
// strings").
TEST(parse_form, bracketed_array_keys_are_repeated_keys) {
  for (auto body :
       {"tags[]=a&tags[]=b", "tags=a&tags[]=b", "tags[]=a&tags=b"}) {
    auto v = form(body);
    ASSERT_EQ(v.members.size(), 1u) << body;
    auto* tags = v.get("tags");
    ASSERT_EQ(tags->kind, value::array) << body;
    ASSERT_EQ(tags->items.size(), 2u) << body;
    EXPECT_EQ(tags->items[0].s, "a");
    EXPECT_EQ(tags->items[1].s, "b");
  }
  auto one = form("tags[]=solo");
  ASSERT_EQ(one.get("tags")->kind, value::string);
  EXPECT_EQ(one.get("tags")->s, "solo");
}

TEST(parse_form, bracketed_object_keys) {
  auto v = form("fields[company]=ACME&fields[opt]=on&fields[opt]=off&x=1");
  ASSERT_EQ(v.members.size(), 2u);
  auto* fields = v.get("fields");
  ASSERT_EQ(fields->kind, value::object);
  EXPECT_EQ(fields->get("company")->s, "ACME");
  ASSERT_EQ(fields->get("opt")->kind, value::array);
  EXPECT_EQ(fields->get("opt")->items.size(), 2u);
}

TEST(parse_form, a_key_both_plain_and_bracketed_is_refused) {
  for (auto body : {"fields=1&fields[x]=2", "fields[x]=2&fields=1",
                    "tags[x]=1&tags[]=2", "tags[]=2&tags[x]=1"})
    EXPECT_NE(form_error(body).find("both as a value and as"),
              std::string::npos)
        << body;
  EXPECT_NE(form_error("a=%zz"), "");
}

TEST(parse_json, tree_and_errors) {
  std::string error;
  auto v = parse_json(R"({"a":[1,2.5,"x",null,true],"a":{"b":-3}})", error);
  ASSERT_TRUE(v) << error;
  ASSERT_EQ(v->members.size(), 1u); // the last duplicate wins
  EXPECT_EQ(v->get("a")->get("b")->n, -3);
  EXPECT_TRUE(v->get("a")->get("b")->integral);
  EXPECT_EQ(parse_json("{", error), std::nullopt);
  EXPECT_NE(error, "");
  std::string deep(40, '[');
  deep += std::string(40, ']');
  EXPECT_EQ(parse_json(deep, error), std::nullopt);
  EXPECT_EQ(error, "the JSON is nested too deeply");
}

using ls::api::input_limits;

std::string json_error(const std::string& body) {
  std::string error;
  EXPECT_EQ(parse_json(body, error), std::nullopt) << body.substr(0, 80);
  return error;
}

std::string json_object(size_t keys, const std::string& prefix = "k") {
  std::string b = "{";
  for (size_t i = 0; i < keys; ++i)
    b += (i ? ",\"" : "\"") + prefix + std::to_string(i) + "\":1";
  return b + "}";
}

TEST(input_limits, keys_per_object) {
  std::string error;
  auto at_limit =
      parse_json(json_object(input_limits::max_keys_per_object), error);
  ASSERT_TRUE(at_limit) << error;
  EXPECT_EQ(at_limit->members.size(), input_limits::max_keys_per_object);
  EXPECT_NE(json_error(json_object(input_limits::max_keys_per_object + 1))
                .find("more than 1000 keys"),
            std::string::npos);
  // Repeated keys are one key (the last wins), however many there are.
  std::string repeated = "{";
  for (int i = 0; i < 5000; ++i)
    repeated += std::string(i ? "," : "") + "\"k" + std::to_string(i % 20) +
                "\":" + std::to_string(i);
  repeated += "}";
  auto v = parse_json(repeated, error);
  ASSERT_TRUE(v) << error;
  ASSERT_EQ(v->members.size(), 20u);
  EXPECT_EQ(v->get("k0")->n, 4980);
  EXPECT_EQ(v->get("k19")->n, 4999);
}

TEST(input_limits, values_per_body) {
  std::string many = "[";
  for (size_t i = 0; i < input_limits::max_values; ++i)
    many += i ? ",1" : "1";
  many += "]";
  EXPECT_NE(json_error(many).find("more than 10000 values"), std::string::npos);
  std::string error;
  // 9,999 numbers and the array holding them: exactly the limit.
  EXPECT_TRUE(parse_json(many.substr(0, many.size() - 3) + "]", error))
      << error;
}

TEST(input_limits, depth) {
  std::string deep(input_limits::max_depth + 2, '[');
  deep += std::string(input_limits::max_depth + 2, ']');
  EXPECT_NE(json_error(deep).find("nested too deeply"), std::string::npos);
}

TEST(input_limits, form_keys_and_pairs) {
  std::string keys;
  for (size_t i = 0; i <= input_limits::max_keys_per_object; ++i)
    keys += (i ? "&k" : "k") + std::to_string(i) + "=1";
  EXPECT_NE(form_error(keys).find("more than 1000 keys"), std::string::npos);
  std::string nested;
  for (size_t i = 0; i <= input_limits::max_keys_per_object; ++i)
    nested += (i ? "&fields[k" : "fields[k") + std::to_string(i) + "]=1";
  EXPECT_NE(form_error(nested).find("more than 1000 keys"), std::string::npos);
  // 149,000 pairs (the attack of issue 12: 33 s of CPU before) are refused.
  std::string pairs;
  for (int i = 0; i < 149000; ++i)
    pairs += (i ? "&a" : "a") + std::to_string(i % 500) + "=";
  EXPECT_NE(form_error(pairs).find("more than 10000 values"),
            std::string::npos);
  // Repeats of a few keys within the limits: arrays, as before.
  std::string repeats;
  for (int i = 0; i < 9000; ++i)
    repeats += (i ? "&tags=" : "tags=") + std::to_string(i);
  auto v = form(repeats);
  ASSERT_EQ(v.members.size(), 1u);
  EXPECT_EQ(v.members[0].second.items.size(), 9000u);
}

} // namespace
