#include "http/router.hpp"

#include <gtest/gtest.h>

using ls::http::route_match;
using ls::http::router;

namespace {

router api() {
  router r;
  r.add("GET", "/", 1);
  r.add("GET", "/api/v1/campaigns", 2);
  r.add("POST", "/api/v1/campaigns", 3);
  r.add("GET", "/api/v1/campaigns/{id}", 4);
  r.add("PUT", "/api/v1/campaigns/{id}", 5);
  r.add("GET", "/api/v1/campaigns/{id}", 99); // duplicate: the first one wins
  r.add("GET", "/api/v1/campaigns/stats", 6); // literal, added after the param
  r.add("GET", "/api/v1/lists/{list}/contacts/{contact}", 7);
  r.add("GET", "/static/{path*}", 8);
  r.add("DELETE", "/api/v1/campaigns/{id}", 9);
  return r;
}

} // namespace

TEST(router, root) {
  auto r = api();
  auto m = r.match("GET", "/");
  EXPECT_EQ(m.result, route_match::found);
  EXPECT_EQ(m.route, 1);
  EXPECT_EQ(r.match("GET", "").result, route_match::found);
}

TEST(router, params) {
  auto r = api();
  auto m = r.match("GET", "/api/v1/campaigns/42");
  ASSERT_EQ(m.result, route_match::found);
  EXPECT_EQ(m.route, 4);
  EXPECT_EQ(m.pattern, "/api/v1/campaigns/{id}");
  EXPECT_EQ(m.param("id"), "42");
  EXPECT_EQ(m.param("nope"), "");

  m = r.match("GET", "/api/v1/lists/L1/contacts/a%40b.c");
  ASSERT_EQ(m.result, route_match::found);
  EXPECT_EQ(m.route, 7);
  EXPECT_EQ(m.param("list"), "L1");
  EXPECT_EQ(m.param("contact"), "a%40b.c"); // raw, not decoded
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0].first, "list");
}

TEST(router, empty_segment_does_not_match_a_param) {
  auto r = api();
  EXPECT_EQ(r.match("GET", "/api/v1/lists//contacts/x").result,
            route_match::not_found);
}

TEST(router, tail) {
  auto r = api();
  auto m = r.match("GET", "/static/css/site.css");
  ASSERT_EQ(m.result, route_match::found);
  EXPECT_EQ(m.route, 8);
  EXPECT_EQ(m.param("path"), "css/site.css");
  EXPECT_EQ(r.match("GET", "/static/a").param("path"), "a");
  EXPECT_EQ(r.match("GET", "/static/a/").param("path"), "a/");
  // One or more segments.
  EXPECT_EQ(r.match("GET", "/static").result, route_match::not_found);
  EXPECT_EQ(r.match("GET", "/static/").result, route_match::not_found);
}

TEST(router, literal_beats_param) {
  auto r = api();
  auto m = r.match("GET", "/api/v1/campaigns/stats");
  ASSERT_EQ(m.result, route_match::found);
  EXPECT_EQ(m.route, 6);
  EXPECT_TRUE(m.params.empty());

  // Independent of the order of add().
  router r2;
  r2.add("GET", "/a/b/{y}", 1);
  r2.add("GET", "/a/{x}/c", 2);
  r2.add("GET", "/a/{x}/{y}", 3);
  r2.add("GET", "/a/{rest*}", 4);
  EXPECT_EQ(r2.match("GET", "/a/b/c").route,
            1); // literal in the 2nd segment wins
  EXPECT_EQ(r2.match("GET", "/a/z/c").route, 2);
  EXPECT_EQ(r2.match("GET", "/a/z/q").route, 3);
  EXPECT_EQ(r2.match("GET", "/a/z/q/r").route, 4);
  EXPECT_EQ(r2.match("GET", "/a/z").route, 4);
}

TEST(router, literal_of_another_method_does_not_shadow_param) {
  router r;
  r.add("GET", "/c/{id}", 1);
  r.add("POST", "/c/new", 2);
  auto m = r.match("GET", "/c/new");
  ASSERT_EQ(m.result, route_match::found);
  EXPECT_EQ(m.route, 1);
  EXPECT_EQ(m.param("id"), "new");
  EXPECT_EQ(r.match("POST", "/c/new").route, 2);
  m = r.match("DELETE", "/c/new");
  EXPECT_EQ(m.result, route_match::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST(router, not_found_vs_method_not_allowed) {
  auto r = api();
  auto m = r.match("GET", "/api/v1/nothing");
  EXPECT_EQ(m.result, route_match::not_found);
  EXPECT_EQ(m.route, -1);
  EXPECT_TRUE(m.allow.empty());

  m = r.match("PATCH", "/api/v1/campaigns/7");
  EXPECT_EQ(m.result, route_match::method_not_allowed);
  EXPECT_EQ(m.route, -1);
  EXPECT_EQ(m.allow, "GET, PUT, DELETE"); // order added, unique

  m = r.match("DELETE", "/api/v1/campaigns");
  EXPECT_EQ(m.result, route_match::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST(router, head_matches_get) {
  auto r = api();
  auto m = r.match("HEAD", "/api/v1/campaigns/3");
  ASSERT_EQ(m.result, route_match::found);
  EXPECT_EQ(m.route, 4);
  EXPECT_EQ(m.param("id"), "3");

  router r2;
  r2.add("GET", "/x", 1);
  r2.add("HEAD", "/x", 2);
  r2.add("POST", "/only-post", 3);
  EXPECT_EQ(r2.match("HEAD", "/x").route, 2); // an explicit HEAD route wins
  m = r2.match("HEAD", "/only-post");
  EXPECT_EQ(m.result, route_match::method_not_allowed);
  EXPECT_EQ(m.allow, "POST");
}

TEST(router, trailing_slash_is_significant) {
  router r;
  r.add("GET", "/a", 1);
  r.add("GET", "/b/", 2);
  r.add("GET", "/c/{id}", 3);
  EXPECT_EQ(r.match("GET", "/a").route, 1);
  EXPECT_EQ(r.match("GET", "/a/").result, route_match::not_found);
  EXPECT_EQ(r.match("GET", "/b/").route, 2);
  EXPECT_EQ(r.match("GET", "/b").result, route_match::not_found);
  EXPECT_EQ(r.match("GET", "/c/").result, route_match::not_found);
  EXPECT_EQ(r.match("GET", "/c/1/").result, route_match::not_found);
}

TEST(router, methods_are_case_sensitive) {
  router r;
  r.add("GET", "/a", 1);
  EXPECT_EQ(r.match("get", "/a").result, route_match::method_not_allowed);
}
