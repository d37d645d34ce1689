#include "fixture.hpp"

#include <atomic>
#include <set>
#include <thread>

using namespace ls::test;

namespace {

class subscribers : public service_fixture {
protected:
  void SetUp() override {
    service_fixture::SetUp();
    a = signup("lister");
    b = signup("other");
    auto r = as(
        a.token, "POST", "/api/v1/campaigns",
        R"({"name":"Promo","fields":[{"key":"company","label":"Company","type":"text"}]})");
    campaign = str(r.json()["id"]);
  }
  account a, b;
  std::string campaign;
};

std::vector<std::string> ids_of(simdjson::dom::element page) {
  std::vector<std::string> out;
  for (auto item : simdjson::dom::array(page["items"]))
    out.push_back(str(item["id"]));
  return out;
}

} // namespace

TEST_F(subscribers, pages_newest_first_with_cursors) {
  std::vector<std::string> created;
  for (int i = 0; i < 23; ++i)
    created.push_back(subscribe(a, R"({"email":"p)" + std::to_string(i) +
                                       R"(@example.com"})"));
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    auto r = as(a.token, "GET",
                "/api/v1/subscribers?limit=10" +
                    (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.json();
    auto ids = ids_of(j);
    seen.insert(seen.end(), ids.begin(), ids.end());
    ++pages;
    if (j["next_cursor"].is_null()) break;
    cursor = str(j["next_cursor"]);
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  std::vector<std::string> newest_first(created.rbegin(), created.rend());
  EXPECT_EQ(seen, newest_first);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers?limit=0").status, 422);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers?limit=501").status, 422);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers?limit=ten").status, 422);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers?cursor=%%%").status, 400);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers?cursor=AAAA").status, 422);
}

TEST_F(subscribers, filters_by_campaign_tag_and_search) {
  auto in_campaign =
      subscribe(a, R"({"email":"c@example.com","campaign":")" + campaign +
                       R"(","fields":{"company":"Acme"}})");
  auto tagged = subscribe(
      a, R"({"email":"t@example.com","name":"Tina Tag","tags":["gold"]})");
  subscribe(a, R"({"email":"plain@example.com"})");
  EXPECT_EQ(
      ids_of(as(a.token, "GET", "/api/v1/subscribers?campaign=" + campaign)
                 .json()),
      std::vector<std::string>{in_campaign});
  EXPECT_EQ(ids_of(as(a.token, "GET", "/api/v1/subscribers?tag=gold").json()),
            std::vector<std::string>{tagged});
  EXPECT_EQ(ids_of(as(a.token, "GET", "/api/v1/subscribers?q=TINA").json()),
            std::vector<std::string>{tagged});
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers?campaign=cmp_nope").status,
            404);
}

TEST_F(subscribers, patch_and_delete) {
  auto id = subscribe(a, R"({"email":"edit@example.com","name":"Ed"})");
  auto other = subscribe(a, R"({"email":"taken@example.com"})");
  auto r = as(a.token, "PATCH", "/api/v1/subscribers/" + id,
              R"({"first_name":"Ed","last_name":"Itor","fields":{"company":"X"},
                  "tags":["b","a"],"status":"unsubscribed","name":null})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = r.json();
  EXPECT_EQ(str(j["status"]), "unsubscribed");
  EXPECT_TRUE(j["name"].is_null());
  EXPECT_EQ(str(j["tags"].at(0)), "a");
  EXPECT_EQ(str(j["fields"]["company"]), "X");
  auto clash = as(a.token, "PATCH", "/api/v1/subscribers/" + id,
                  R"({"email":"taken@example.com"})");
  EXPECT_EQ(clash.status, 409);
  EXPECT_EQ(
      as(a.token, "PATCH", "/api/v1/subscribers/" + id, R"({"status":"gone"})")
          .status,
      422);
  EXPECT_EQ(
      as(a.token, "PATCH", "/api/v1/subscribers/" + id, R"({"email":"bad"})")
          .status,
      422);
  EXPECT_EQ(
      as(a.token, "PATCH", "/api/v1/subscribers/" + id, R"({"colour":"red"})")
          .status,
      422);
  EXPECT_EQ(as(a.token, "PATCH", "/api/v1/subscribers/" + id,
               R"({"email":null,"phone":null})")
                .status,
            422);
  auto moved = as(a.token, "PATCH", "/api/v1/subscribers/" + id,
                  R"({"email":"moved@example.com"})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  // The old address is free again, the new one is this subscriber's.
  EXPECT_EQ(subscribe(a, R"({"email":"moved@example.com"})"), id);
  EXPECT_NE(subscribe(a, R"({"email":"edit@example.com"})"), id);
  EXPECT_EQ(as(a.token, "DELETE", "/api/v1/subscribers/" + other).status, 204);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers/" + other).status, 404);
  EXPECT_EQ(as(a.token, "DELETE", "/api/v1/subscribers/" + other).status, 404);
  // Signing up again after a delete makes a new subscriber, unsubscribed with
  // a re-subscribe request (a stranger may have sent it).
  auto back = subscribe(a, R"({"email":"taken@example.com"})");
  EXPECT_NE(back, other);
  EXPECT_EQ(
      str(as(a.token, "GET", "/api/v1/subscribers/" + back).json()["status"]),
      "unsubscribed");
}

TEST_F(subscribers, another_account_gets_404_for_every_object) {
  auto id = subscribe(a, R"({"email":"mine@example.com","campaign":")" +
                             campaign + "\"}");
  EXPECT_EQ(as(b.token, "GET", "/api/v1/subscribers/" + id).status, 404);
  EXPECT_EQ(as(b.token, "PATCH", "/api/v1/subscribers/" + id, R"({"name":"x"})")
                .status,
            404);
  EXPECT_EQ(as(b.token, "DELETE", "/api/v1/subscribers/" + id).status, 404);
  EXPECT_EQ(
      as(b.token, "GET", "/api/v1/subscribers?campaign=" + campaign).status,
      404);
  EXPECT_EQ(
      as(b.token, "GET", "/api/v1/exports/subscribers.csv?campaign=" + campaign)
          .status,
      404);
  auto list = as(b.token, "GET", "/api/v1/subscribers").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 0u);
  auto csv = as(b.token, "GET", "/api/v1/exports/subscribers.csv");
  EXPECT_EQ(csv.body.find("mine@example.com"), std::string::npos);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/subscribers/" + id).status, 200);
}

TEST_F(subscribers, csv_download_is_rfc4180_and_neutralised) {
  subscribe(a,
            R"x({"email":"first@example.com","name":"=HYPERLINK(\"http://x\")",
                   "campaign":")x" +
                campaign + R"x(","fields":{"company":"Acme, \"Inc\""},
                   "tags":["a","b"]})x");
  subscribe(a,
            R"({"email":"second@example.com","name":"+1 trick","tags":["c"]})");
  subscribe(a, R"({"phone":"+442079460958","name":"@home"})");
  auto r = as(a.token, "GET", "/api/v1/exports/subscribers.csv");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_NE(r.header("content-disposition").find("attachment"),
            std::string::npos);
  EXPECT_TRUE(r.raw.chunked);
  auto& body = r.body;
  EXPECT_EQ(
      body.rfind("email,phone,name,source,tags,company,subscribed_at\r\n", 0),
      0u)
      << body;
  EXPECT_NE(body.find("first@example.com,,\"'=HYPERLINK(\"\"http://"
                      "x\"\")\",api,\"a, b\",\"Acme, \"\"Inc\"\"\","),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("second@example.com,,'+1 trick,api,c,,"),
            std::string::npos)
      << body;
  // A leading + is neutralised like any formula character, phone numbers
  // included.
  EXPECT_NE(body.find(",'+442079460958,'@home,"), std::string::npos) << body;
  // Every line ends with CRLF: 1 header + 3 rows.
  size_t lines = 0;
  for (size_t p = 0; (p = body.find("\r\n", p)) != std::string::npos; p += 2)
    ++lines;
  EXPECT_EQ(lines, 4u);

  auto by_campaign = as(a.token, "GET",
                        "/api/v1/exports/subscribers.csv?campaign=" + campaign);
  EXPECT_NE(by_campaign.body.find("first@example.com"), std::string::npos);
  EXPECT_EQ(by_campaign.body.find("second@example.com"), std::string::npos);
  auto by_tags =
      as(a.token, "GET", "/api/v1/exports/subscribers.csv?tags=c,zzz");
  EXPECT_EQ(by_tags.body.find("first@example.com"), std::string::npos);
  EXPECT_NE(by_tags.body.find("second@example.com"), std::string::npos);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/exports/subscribers.csv").status, 200);
  EXPECT_EQ(call("GET", "/api/v1/exports/subscribers.csv").status, 401);
}

TEST_F(subscribers, csv_download_streams_many_pages) {
  // More rows than one export page (1,000) so the stream pulls several chunks;
  // eight writers at once, so their signups share group commits.
  std::vector<std::thread> writers;
  std::atomic<int> ok{0};
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&, w] {
      for (int k = 0; k < 150; ++k)
        if (send(port, "POST", "/api/v1/public/lister/subscribe",
                 R"({"email":"bulk)" + std::to_string(w) + "-" +
                     std::to_string(k) + R"(@example.com"})")
                .status == 202)
          ++ok;
    });
  for (auto& t : writers)
    t.join();
  ASSERT_EQ(ok, 1200);
  auto r = as(a.token, "GET", "/api/v1/exports/subscribers.csv");
  ASSERT_EQ(r.status, 200);
  EXPECT_GE(r.raw.chunks.size(), 2u);
  std::set<std::string> emails;
  size_t pos = r.body.find("\r\n") + 2;
  while (pos < r.body.size()) {
    auto end = r.body.find("\r\n", pos);
    emails.insert(r.body.substr(pos, r.body.find(',', pos) - pos));
    pos = end + 2;
  }
  EXPECT_EQ(emails.size(), 1200u);
}

TEST_F(subscribers, data_survives_a_restart) {
  auto id = subscribe(a, R"({"email":"durable@example.com"})");
  restart();
  auto r = as(a.token, "GET", "/api/v1/subscribers/" + id);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(str(r.json()["email"]), "durable@example.com");
  auto h = call("GET", "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, R"({"status":"ok"})");
  auto m = call("GET", "/metrics");
  EXPECT_NE(m.body.find("linkstacked_http_requests_total{method=\"GET\",route="
                        "\"/api/v1/subscribers/{id}\",status=\"200\"} 1"),
            std::string::npos)
      << m.body.substr(0, 2000);
  EXPECT_NE(m.body.find("linkstacked_store_batch_size_bucket"),
            std::string::npos);
}
