// GET /metrics: open while metrics.token is empty (scrapers set up before the
// key keep working), behind Authorization: Bearer <metrics.token> once it is
// set.
#include "fixture.hpp"

using namespace ls::test;

namespace {

constexpr const char* metrics_token = "metrics-token-for-the-tests";
constexpr const char* requests_metric = "linkstacked_http_requests_total";

class metrics_open : public service_fixture {};

class metrics_with_token : public service_fixture {
protected:
  void adjust(ls::config::config& c) override {
    c.metrics.token = metrics_token;
  }
};

} // namespace

TEST_F(metrics_open, metrics_need_no_token_when_the_key_is_empty) {
  auto r = call("GET", "/metrics");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4");
  EXPECT_NE(r.body.find(requests_metric), std::string::npos) << r.body;
  EXPECT_EQ(r.header("www-authenticate"), "");
  // Whatever Authorization a scraper sends is ignored.
  EXPECT_EQ(
      call("GET", "/metrics", {}, {{"authorization", "Bearer any"}}).status,
      200);
}

TEST_F(metrics_with_token, metrics_answer_401_without_the_right_token) {
  const std::string right = metrics_token;
  for (const std::string& authorization : std::vector<std::string>{
           "", "Bearer", "Bearer ", "Bearer wrong",
           "Bearer " + std::string(right.size(), 'x'), // same length
           "Bearer " + right + "x", "Bearer " + right.substr(1),
           "Basic " + right, right}) {
    SCOPED_TRACE("Authorization: " + authorization);
    headers h;
    if (!authorization.empty()) h["authorization"] = authorization;
    auto r = call("GET", "/metrics", {}, h);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("www-authenticate"), "Bearer");
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    auto j = r.json();
    EXPECT_EQ(str(j["title"]), "Unauthorized") << r.body;
    EXPECT_EQ(str(j["detail"]), "send Authorization: Bearer <metrics.token>");
    EXPECT_EQ(r.body.find(requests_metric), std::string::npos);
    EXPECT_EQ(r.body.find(right), std::string::npos);
  }
}

TEST_F(metrics_with_token, metrics_answer_200_with_the_token) {
  EXPECT_EQ(call("GET", "/metrics").status, 401);
  auto r = as(metrics_token, "GET", "/metrics");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/plain; version=0.0.4");
  // The refusal before is counted like any answer.
  EXPECT_NE(r.body.find(std::string(requests_metric) +
                        "{method=\"GET\",route=\"/metrics\",status=\"401\"} 1"),
            std::string::npos)
      << r.body.substr(0, 2000);
  // The scheme is case-insensitive (RFC 9110).
  EXPECT_EQ(call("GET", "/metrics", {},
                 {{"authorization", std::string("bearer ") + metrics_token}})
                .status,
            200);
  // The token guards /metrics only: health checks stay open.
  EXPECT_EQ(call("GET", "/healthz").status, 200);
}
