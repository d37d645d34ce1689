// The Prometheus text rendering of the process metrics.
#include "actors/metrics.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using ls::histogram;
using ls::metrics;

/// Sample lines keyed by `name{labels}` (exactly as rendered), with their
/// values.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    if (space == std::string::npos) continue;
    out[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return out;
}

/// Every line is a comment (# HELP / # TYPE) or `name{label="v",...} number`.
void expect_valid_exposition(const std::string& text) {
  static const std::regex comment{
      R"(# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)))"};
  static const std::regex sample{
      R"([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? [-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN))"};
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, comment)) << line;
    } else {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
    }
  }
}

TEST(metrics, renders_a_recorded_request) {
  metrics m;
  m.request_done("GET", "/api/v1/subscribers", 200, 0.003);
  m.request_done("GET", "/api/v1/subscribers", 200, 0.2);
  m.request_done("GET", "/api/v1/subscribers", 404, 0.0004);
  m.request_done("POST", "/api/v1/public/{handle}/subscribe", 201, 7.5);
  auto text = m.render();
  expect_valid_exposition(text);

  EXPECT_NE(text.find("# TYPE linkstacked_http_requests_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE linkstacked_http_request_seconds histogram\n"),
            std::string::npos);
  auto s = samples(text);
  const std::string get = R"(method="GET",route="/api/v1/subscribers")";
  EXPECT_EQ(s["linkstacked_http_requests_total{" + get + R"(,status="200"})"],
            2);
  EXPECT_EQ(s["linkstacked_http_requests_total{" + get + R"(,status="404"})"],
            1);
  EXPECT_EQ(
      s[R"(linkstacked_http_requests_total{method="POST",route="/api/v1/public/{handle}/subscribe",status="201"})"],
      1);
  auto bucket = [&](const std::string& labels, const std::string& le) {
    auto key = "linkstacked_http_request_seconds_bucket{" + labels + ",le=\"" +
               le + "\"}";
    EXPECT_TRUE(s.count(key)) << key;
    return s[key];
  };
  // Cumulative buckets: 0.0004 <= 0.0005, 0.003 <= 0.005, 0.2 <= 0.25.
  EXPECT_EQ(bucket(get, "0.0005"), 1);
  EXPECT_EQ(bucket(get, "0.001"), 1);
  EXPECT_EQ(bucket(get, "0.0025"), 1);
  EXPECT_EQ(bucket(get, "0.005"), 2);
  EXPECT_EQ(bucket(get, "0.1"), 2);
  EXPECT_EQ(bucket(get, "0.25"), 3);
  EXPECT_EQ(bucket(get, "5"), 3);
  EXPECT_EQ(bucket(get, "+Inf"), 3);
  EXPECT_NEAR(s["linkstacked_http_request_seconds_sum{" + get + "}"], 0.2034,
              1e-9);
  EXPECT_EQ(s["linkstacked_http_request_seconds_count{" + get + "}"], 3);
  // 7.5 s is above the largest bound: only +Inf holds it.
  const std::string post =
      R"(method="POST",route="/api/v1/public/{handle}/subscribe")";
  EXPECT_EQ(bucket(post, "5"), 0);
  EXPECT_EQ(bucket(post, "+Inf"), 1);

  // The store counters are present even when zero.
  EXPECT_EQ(s.at("linkstacked_store_commits_total"), 0);
  EXPECT_EQ(s.at("linkstacked_store_map_growths_total"), 0);
  EXPECT_EQ(s.at(R"(linkstacked_store_batch_size_bucket{le="+Inf"})"), 0);
}

TEST(metrics, buckets_are_cumulative_and_end_with_inf) {
  metrics m;
  for (double v : {0.0001, 0.002, 0.002, 0.03, 0.3, 3.0, 30.0})
    m.request_done("GET", "/x", 200, v);
  auto text = m.render();
  std::istringstream in{text};
  std::string line;
  double previous = -1;
  int buckets = 0;
  std::string last;
  while (std::getline(in, line)) {
    if (line.rfind("linkstacked_http_request_seconds_bucket{", 0) != 0)
      continue;
    auto v = std::strtod(line.c_str() + line.rfind(' ') + 1, nullptr);
    EXPECT_GE(v, previous) << line;
    previous = v;
    ++buckets;
    last = line;
  }
  EXPECT_EQ(buckets, 14); // 13 bounds + Inf
  EXPECT_NE(last.find("le=\"+Inf\"} 7"), std::string::npos) << last;
}

TEST(metrics, store_commits_and_growths) {
  metrics m;
  m.store_commit(5, 0.002);
  m.store_commit(1, 0.00005);
  m.store_map_growth();
  m.store_map_growth();
  EXPECT_EQ(m.commits(), 2u);
  auto text = m.render();
  expect_valid_exposition(text);
  auto s = samples(text);
  EXPECT_EQ(s.at("linkstacked_store_commits_total"), 2);
  EXPECT_EQ(s.at("linkstacked_store_map_growths_total"), 2);
  EXPECT_EQ(s.at(R"(linkstacked_store_batch_size_bucket{le="1"})"), 1);
  EXPECT_EQ(s.at(R"(linkstacked_store_batch_size_bucket{le="4"})"), 1);
  EXPECT_EQ(s.at(R"(linkstacked_store_batch_size_bucket{le="8"})"), 2);
  EXPECT_EQ(s.at(R"(linkstacked_store_batch_size_bucket{le="+Inf"})"), 2);
  EXPECT_EQ(s.at("linkstacked_store_batch_size_sum"), 6);
  EXPECT_EQ(s.at("linkstacked_store_batch_size_count"), 2);
  EXPECT_EQ(s.at(R"(linkstacked_store_commit_seconds_bucket{le="0.0001"})"), 1);
  EXPECT_EQ(s.at(R"(linkstacked_store_commit_seconds_bucket{le="0.0025"})"), 2);
  EXPECT_EQ(s.at("linkstacked_store_commit_seconds_count"), 2);
  EXPECT_NE(text.find("# TYPE linkstacked_store_map_growths_total counter\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE linkstacked_store_commit_seconds histogram\n"),
            std::string::npos);
}

TEST(metrics, arbitrary_methods_do_not_grow_the_label_sets) {
  // A client may send any token as the method; unmatched requests are still
  // recorded.
  metrics m;
  m.request_done("GET", "unmatched", 404, 0.001);
  auto small = m.render().size();
  for (int i = 0; i < 5000; ++i)
    m.request_done("X" + std::to_string(i), "unmatched", 405, 0.001);
  auto text = m.render();
  expect_valid_exposition(text);
  auto s = samples(text);
  EXPECT_EQ(
      s[R"(linkstacked_http_requests_total{method="OTHER",route="unmatched",status="405"})"],
      5000);
  EXPECT_EQ(
      s[R"(linkstacked_http_requests_total{method="GET",route="unmatched",status="404"})"],
      1);
  EXPECT_EQ(text.find("X4999"), std::string::npos);
  EXPECT_LT(text.size(), small + 4000) << "one more label set, not 5000";
  // The methods the API serves keep their own labels.
  for (auto method : {"HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    m.request_done(method, "/x", 200, 0.001);
    EXPECT_NE(m.render().find(std::string{"method=\""} + method + "\""),
              std::string::npos)
        << method;
  }
}

TEST(metrics, empty_registry_renders_only_store_metrics) {
  metrics m;
  auto text = m.render();
  expect_valid_exposition(text);
  EXPECT_EQ(text.find("linkstacked_http_requests_total{"), std::string::npos);
  EXPECT_NE(text.find("linkstacked_store_commits_total 0\n"),
            std::string::npos);
}

TEST(histogram, value_on_a_bound_counts_in_that_bucket) {
  histogram h{{1, 2}};
  h.observe(1);
  h.observe(2);
  h.observe(2.5);
  std::string out;
  h.render(out, "h", "");
  EXPECT_EQ(out, "h_bucket{le=\"1\"} 1\n"
                 "h_bucket{le=\"2\"} 2\n"
                 "h_bucket{le=\"+Inf\"} 3\n"
                 "h_sum 5.5\n"
                 "h_count 3\n");
  out.clear();
  h.render(out, "h", "a=\"b\"");
  EXPECT_NE(out.find("h_bucket{a=\"b\",le=\"1\"} 1\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("h_sum{a=\"b\"} 5.5\n"), std::string::npos) << out;
}

} // namespace
