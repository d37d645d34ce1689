#include "fixture.hpp"

using namespace ls::test;

namespace {

class public_signup : public service_fixture {
protected:
  void SetUp() override {
    service_fixture::SetUp();
    a = signup("maker");
    auto r = as(a.token, "POST", "/api/v1/campaigns",
                R"({"name":"Launch","slug":"launch","fields":[
                  {"key":"company","label":"Company","type":"text","required":true},
                  {"key":"size","label":"Size","type":"select","required":false,"options":["S","M"]},
                  {"key":"birthday","label":"Birthday","type":"date","required":false},
                  {"key":"ok","label":"OK","type":"checkbox","required":false}],
                  "default_tags":["launch"]})");
    ASSERT_EQ(r.status, 201) << r.body;
    campaign = str(r.json()["id"]);
  }
  account a;
  std::string campaign;
};

} // namespace

TEST_F(public_signup, json_signup_then_repeat_merges) {
  auto r =
      call("POST", "/api/v1/public/maker/subscribe",
           R"({"campaign":"launch","email":"Fan@Example.com ","name":"Fan One",
                    "fields":{"company":"Acme","size":"M"},"tags":["vip"]})",
           {{"user-agent", "test-agent/1"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(str(r.json()["status"]), "subscribed");
  auto id = str(r.json()["subscriber_id"]);
  auto first = as(a.token, "GET", "/api/v1/subscribers/" + id);
  ASSERT_EQ(first.status, 200);
  auto fj = first.json();
  EXPECT_EQ(str(fj["email"]), "fan@example.com");
  EXPECT_EQ(str(fj["fields"]["company"]), "Acme");
  EXPECT_EQ(str(fj["campaign_id"]), campaign);
  EXPECT_EQ(str(fj["source"]), "api");
  EXPECT_TRUE(fj["phone"].is_null());
  auto subscribed_at = str(fj["subscribed_at"]);

  auto again =
      call("POST", "/api/v1/public/maker/subscribe",
           R"({"campaign":")" + campaign +
               R"(","email":"fan@example.com","phone":"+1 415 555 0123",
                         "fields":{"company":"Acme 2"},"tags":"new, vip"})");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(str(again.json()["status"]), "updated");
  EXPECT_EQ(str(again.json()["subscriber_id"]), id);
  auto merged = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(str(merged["phone"]), "+14155550123");
  EXPECT_EQ(str(merged["fields"]["company"]), "Acme 2");
  EXPECT_EQ(str(merged["fields"]["size"]), "M");
  EXPECT_EQ(str(merged["subscribed_at"]), subscribed_at);
  std::vector<std::string> tags;
  for (auto t : simdjson::dom::array(merged["tags"]))
    tags.push_back(str(t));
  EXPECT_EQ(tags, (std::vector<std::string>{"launch", "new", "vip"}));
}

TEST_F(public_signup, phone_only_signups_are_normalised) {
  auto id = subscribe(a, R"({"phone":"(415) 555-0199"})");
  auto s = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(str(s["phone"]), "+14155550199");
  EXPECT_TRUE(s["email"].is_null());
  // The same number again is the same subscriber.
  auto r = call("POST", "/api/v1/public/maker/subscribe",
                R"({"phone":"+14155550199"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(str(r.json()["subscriber_id"]), id);
}

TEST_F(public_signup, bad_signups_get_field_errors) {
  struct bad {
    std::string body, field;
  };
  std::vector<bad> cases = {
      {R"({})", "email"},
      {R"({"email":"not-an-email"})", "email"},
      {R"({"email":"josé@example.com"})", "email"},
      {R"({"email":")" + std::string(65, 'a') + R"(@example.com"})", "email"},
      {R"({"phone":"12"})", "phone"},
      {R"({"email":"a@b.co","name":")" + std::string(300, 'n') + R"("})",
       "name"},
      {R"({"email":"a@b.co","name":"bell\u0007"})", "name"},
      {R"({"email":"a@b.co","campaign":"launch","fields":{}})",
       "fields.company"},
      {R"({"email":"a@b.co","campaign":"launch","fields":{"company":"x","size":"XXL"}})",
       "fields.size"},
      {R"({"email":"a@b.co","campaign":"launch","fields":{"company":"x","birthday":"2023-02-30"}})",
       "fields.birthday"},
      {R"({"email":"a@b.co","campaign":"launch","fields":{"company":"x","hack":"1"}})",
       "fields.hack"},
      {R"({"email":"a@b.co","campaign":"launch","fields":{"company":"x","ok":"maybe"}})",
       "fields.ok"},
      {R"({"email":"a@b.co","fields":[1]})", "fields"},
      {R"({"email":"a@b.co","tags":[{"x":1}]})", "tags"},
      {R"({"email":"a@b.co","role":"admin"})", "role"},
      {R"({"email":["a@b.co"]})", "email"},
  };
  for (auto& c : cases) {
    auto r = call("POST", "/api/v1/public/maker/subscribe", c.body);
    EXPECT_EQ(r.status, 422) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find("\"field\":\"" + c.field + "\""), std::string::npos)
        << c.body << " -> " << r.body;
  }
  EXPECT_EQ(
      call("POST", "/api/v1/public/maker/subscribe", "{\"email\":").status,
      400);
  EXPECT_EQ(call("POST", "/api/v1/public/maker/subscribe", "email=a@b.co",
                 {{"content-type", "text/plain"}})
                .status,
            415);
  EXPECT_EQ(
      call("POST", "/api/v1/public/nobody/subscribe", R"({"email":"a@b.co"})")
          .status,
      404);
  EXPECT_EQ(call("POST", "/api/v1/public/maker/subscribe",
                 R"({"email":"a@b.co","campaign":"nope"})")
                .status,
            404);
  // Nothing was stored by any of them.
  auto list = as(a.token, "GET", "/api/v1/subscribers").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 0u);
}

TEST_F(public_signup, plain_html_form_posts_redirect_back) {
  auto page = call("GET", "/p/maker");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.header("content-type").find("text/html"), std::string::npos);
  EXPECT_NE(page.header("content-security-policy").find("default-src 'none'"),
            std::string::npos);
  EXPECT_NE(page.body.find("action=\"/api/v1/public/maker/subscribe\""),
            std::string::npos);
  EXPECT_NE(page.body.find("name=\"fields[company]\""), std::string::npos);
  EXPECT_NE(page.body.find("name=\"website\""), std::string::npos);

  auto form = "campaign=" + campaign +
              "&email=form%40example.com&name=Form+Fan&fields%5Bcompany%5D="
              "Acme&fields[ok]=on";
  auto r = call("POST", "/api/v1/public/maker/subscribe", form,
                {{"content-type", "application/x-www-form-urlencoded"},
                 {"accept", "text/html,application/xhtml+xml"}});
  ASSERT_EQ(r.status, 303) << r.body;
  EXPECT_EQ(r.header("location"), "/p/maker?result=subscribed");
  auto shown = call("GET", r.header("location"));
  EXPECT_NE(shown.body.find("you are subscribed"), std::string::npos);
  auto list = as(a.token, "GET", "/api/v1/subscribers?q=form%40").json();
  auto items = simdjson::dom::array(list["items"]);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(str(items.at(0)["source"]), "form");
  EXPECT_EQ(str(items.at(0)["fields"]["ok"]), "true");

  auto bad = call("POST", "/api/v1/public/maker/subscribe", "email=nope",
                  {{"content-type", "application/x-www-form-urlencoded"},
                   {"accept", "text/html"}});
  ASSERT_EQ(bad.status, 303);
  EXPECT_NE(bad.header("location").find("result=error"), std::string::npos);
  auto err_page = call("GET", bad.header("location"));
  EXPECT_NE(err_page.body.find("role=\"alert\""), std::string::npos);
}

TEST_F(public_signup, profile_page_escapes_what_creators_type) {
  auto r = as(a.token, "POST", "/api/v1/campaigns",
              R"({"name":"<script>alert(1)</script>","fields":[
                {"key":"x","label":"\"><img src=x onerror=alert(1)>","type":"text"}]})");
  ASSERT_EQ(r.status, 201);
  auto page = call("GET", "/p/maker");
  EXPECT_EQ(page.body.find("<script>alert"), std::string::npos);
  EXPECT_EQ(page.body.find("<img src=x"), std::string::npos);
  EXPECT_NE(page.body.find("&lt;script&gt;"), std::string::npos);
  auto xss = call("GET", "/p/maker?result=error&detail=%3Cb%3Ehi%3C%2Fb%3E");
  EXPECT_EQ(xss.body.find("<b>hi</b>"), std::string::npos);
  EXPECT_EQ(call("GET", "/p/nobody").status, 404);
}

TEST_F(public_signup, honeypot_answers_like_success_and_stores_nothing) {
  auto r = call("POST", "/api/v1/public/maker/subscribe",
                "email=bot%40example.com&website=http%3A%2F%2Fspam",
                {{"content-type", "application/x-www-form-urlencoded"},
                 {"accept", "text/html"}});
  EXPECT_EQ(r.status, 303);
  auto list = as(a.token, "GET", "/api/v1/subscribers").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 0u);
}

TEST_F(public_signup, odd_unicode_round_trips) {
  auto id =
      subscribe(a, R"({"email":"u@example.com","name":"Zoë 🙂 \u202e Åsa",
                              "fields":{"note":"日本語"}})");
  auto s = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(str(s["name"]), "Zoë 🙂 \u202e Åsa");
  EXPECT_EQ(str(s["fields"]["note"]), "日本語");
}

namespace {

class limited : public service_fixture {
  void adjust(ls::config::config& c) override {
    c.ratelimit.subscribe_per_ip = 3;
  }
};

} // namespace

TEST_F(limited, subscribe_rate_limit_answers_429_with_retry_after) {
  auto a = signup("busy");
  for (int i = 0; i < 3; ++i)
    subscribe(a, R"({"email":"r)" + std::to_string(i) + R"(@example.com"})");
  auto r = call("POST", "/api/v1/public/busy/subscribe",
                R"({"email":"r9@example.com"})");
  EXPECT_EQ(r.status, 429);
  EXPECT_GT(std::stoi(r.header("retry-after")), 0);
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
}
