// The request input tree: form bodies (parse_form) and JSON bodies
// (parse_json), as the endpoints read them.
#include "actors/api_input.hpp"

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

} // namespace
