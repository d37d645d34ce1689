// The dashboard page and its embedded files: security and caching headers, the
// connect outcome, and the signups-per-day endpoint behind its chart.
#include "fixture.hpp"
#include "http/codec/time.hpp"

#include <regex>

using namespace ls::test;

namespace {

class dashboard : public service_fixture {
protected:
  /// The hashed URL the page links for `file` ("app.js"), or "".
  std::string linked(const std::string& file) {
    auto page = call("GET", "/dashboard/email-collection");
    auto dot = file.rfind('.');
    std::regex re{"/dashboard/assets/" + file.substr(0, dot) +
                  "\\.[0-9a-f]{16}\\" + file.substr(dot)};
    std::smatch m;
    return std::regex_search(page.body, m, re) ? m.str() : std::string{};
  }
};

} // namespace

TEST_F(dashboard, the_page_is_never_cached_and_allows_no_inline_code) {
  auto r = call("GET", "/dashboard/email-collection", {},
                {{"host", "localhost:3000"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  auto csp = r.header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
  EXPECT_NE(csp.find("style-src 'self';"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self' ws://localhost:3000;"),
            std::string::npos)
      << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  // No inline script or style: the page loads them from hashed URLs.
  EXPECT_EQ(r.body.find("<script>"), std::string::npos);
  EXPECT_EQ(r.body.find("<style"), std::string::npos);
  EXPECT_EQ(r.body.find("{{"), std::string::npos) << "a placeholder is left";
  EXPECT_FALSE(linked("app.js").empty());
  EXPECT_FALSE(linked("app.css").empty());
}

TEST_F(dashboard, hashed_files_are_cached_for_good_and_revalidate_with_304) {
  auto url = linked("app.js");
  ASSERT_FALSE(url.empty());
  auto r = call("GET", url);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  auto etag = r.header("etag");
  ASSERT_EQ(etag.size(), 18u) << etag; // a quoted 16-digit hash
  EXPECT_NE(url.find(etag.substr(1, 16)), std::string::npos);
  EXPECT_NE(r.body.find("'use strict'"), std::string::npos);

  auto again = call("GET", url, {}, {{"if-none-match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), etag);

  // The plain name and an older build's hash: served, but checked every time.
  for (auto other :
       {std::string{"/dashboard/assets/app.js"},
        std::string{"/dashboard/assets/app.0000000000000000.js"}}) {
    auto p = call("GET", other);
    EXPECT_EQ(p.status, 200) << other;
    EXPECT_EQ(p.header("cache-control"), "no-cache") << other;
    EXPECT_EQ(p.body, r.body) << other;
    EXPECT_EQ(call("GET", other, {}, {{"if-none-match", etag}}).status, 304);
  }
  auto css = call("GET", linked("app.css"));
  EXPECT_EQ(css.status, 200);
  EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");

  EXPECT_EQ(call("GET", "/dashboard/assets/nope.js").status, 404);
  EXPECT_EQ(call("GET", "/dashboard/assets/index.html").status, 404);
  EXPECT_EQ(call("GET", "/dashboard/assets/..%2Fapp.js").status, 404);
}

TEST_F(dashboard, the_connect_outcome_is_explained_in_the_page) {
  auto ok = call("GET", "/dashboard/email-collection?mailchimp=connected");
  EXPECT_NE(ok.body.find("role=\"status\""), std::string::npos);
  EXPECT_NE(ok.body.find("Mailchimp is connected."), std::string::npos);
  EXPECT_EQ(ok.header("cache-control"), "no-store");

  auto denied =
      call("GET",
           "/dashboard/email-collection?mailchimp=error&reason=access_denied");
  EXPECT_NE(denied.body.find("role=\"alert\""), std::string::npos);
  EXPECT_NE(denied.body.find("you chose not to allow LinkStacked"),
            std::string::npos);

  // An unknown reason gets the general words; nothing of it is echoed.
  auto odd = call("GET", "/dashboard/email-collection?mailchimp=error&reason="
                         "%3Cscript%3Ealert(1)%3C%2Fscript%3E");
  EXPECT_EQ(odd.body.find("<script>alert"), std::string::npos);
  EXPECT_NE(odd.body.find("connecting Mailchimp failed"), std::string::npos);

  auto plain = call("GET", "/dashboard/email-collection");
  EXPECT_EQ(plain.body.find("oauth-notice"), std::string::npos);
}

TEST_F(dashboard, signups_per_day_for_the_chart) {
  auto a = signup("charted");
  auto b = signup("elsewhere");
  auto cmp = str(as(a.token, "POST", "/api/v1/campaigns", R"({"name":"Promo"})")
                     .json()["id"]);
  subscribe(a, R"({"email":"one@gmail.com","campaign":")" + cmp + "\"}");
  subscribe(a, R"({"email":"two@gmail.com","tags":["vip"]})");
  subscribe(a, R"({"phone":"+14155550100"})");
  subscribe(b, R"({"email":"three@gmail.com"})");

  auto r = as(a.token, "GET", "/api/v1/subscribers/stats?days=7");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("cache-control"), "no-store");
  auto j = r.json();
  auto days = simdjson::dom::array(j["days"]);
  ASSERT_EQ(days.size(), 7u);
  auto today = ls::timefmt::rfc3339(ls::timefmt::now_us()).substr(0, 10);
  auto last = days.at(6).value();
  EXPECT_EQ(str(last["date"]), today);
  EXPECT_EQ(uint64_t(last["count"]), 3u);
  EXPECT_EQ(uint64_t(days.at(0).value()["count"]), 0u);
  EXPECT_EQ(uint64_t(j["total"]), 3u);
  EXPECT_TRUE(bool(j["complete"]));

  // The list's filters apply.
  EXPECT_EQ(
      uint64_t(as(a.token, "GET", "/api/v1/subscribers/stats?campaign=" + cmp)
                   .json()["total"]),
      1u);
  EXPECT_EQ(uint64_t(as(a.token, "GET", "/api/v1/subscribers/stats?tag=vip")
                         .json()["total"]),
            1u);
  EXPECT_EQ(uint64_t(as(a.token, "GET", "/api/v1/subscribers/stats?q=two")
                         .json()["total"]),
            1u);
  // Default: 30 days; an offset moves the day boundaries, not the total.
  auto month = as(a.token, "GET", "/api/v1/subscribers/stats?utc_offset=-480");
  ASSERT_EQ(month.status, 200) << month.body;
  EXPECT_EQ(simdjson::dom::array(month.json()["days"]).size(), 30u);
  EXPECT_EQ(uint64_t(month.json()["total"]), 3u);

  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers/stats?days=0").status, 422);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers/stats?days=367").status,
            422);
  EXPECT_EQ(
      as(a.token, "GET", "/api/v1/subscribers/stats?utc_offset=900").status,
      422);
  EXPECT_EQ(
      as(b.token, "GET", "/api/v1/subscribers/stats?campaign=" + cmp).status,
      404);
  EXPECT_EQ(call("GET", "/api/v1/subscribers/stats").status, 401);
}
