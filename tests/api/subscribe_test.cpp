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

TEST_F(public_signup, json_signup_is_received_and_stored) {
  auto r =
      call("POST", "/api/v1/public/maker/subscribe",
           R"({"campaign":"launch","email":"Fan@Example.com ","name":"Fan One",
                    "fields":{"company":"Acme","size":"M"},"tags":["vip"]})",
           {{"user-agent", "test-agent/1"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.body, R"({"status":"received"})");
  auto id = subscriber_id_of(a, R"({"email":"fan@example.com"})");
  auto first = as(a.token, "GET", "/api/v1/subscribers/" + id);
  ASSERT_EQ(first.status, 200);
  auto fj = first.json();
  EXPECT_EQ(str(fj["email"]), "fan@example.com");
  EXPECT_EQ(str(fj["name"]), "Fan One");
  EXPECT_EQ(str(fj["fields"]["company"]), "Acme");
  EXPECT_EQ(str(fj["campaign_id"]), campaign);
  EXPECT_EQ(str(fj["source"]), "api");
  EXPECT_EQ(str(fj["status"]), "subscribed");
  EXPECT_TRUE(fj["phone"].is_null());
  EXPECT_TRUE(fj["resubscribe_requested_at"].is_null());
}

// A stranger who knows an address can add tags and fill empty fields of the
// campaign's form, never overwrite, and learns nothing from the answer.
TEST_F(public_signup, a_known_address_gets_only_additions_and_the_same_answer) {
  auto fresh = call("POST", "/api/v1/public/maker/subscribe",
                    R"({"campaign":"launch","email":"fan@example.com",
                        "name":"Fan One","fields":{"company":"Acme"},
                        "tags":["vip"]})");
  ASSERT_EQ(fresh.status, 202) << fresh.body;
  auto id = subscriber_id_of(a, R"({"email":"fan@example.com"})");
  auto before = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  auto subscribed_at = str(before["subscribed_at"]);

  auto again =
      call("POST", "/api/v1/public/maker/subscribe",
           R"({"campaign":")" + campaign +
               R"(","email":"fan@example.com","phone":"+1 415 555 0123",
                  "name":"Mallory","fields":{"company":"Evil Corp","size":"S"},
                  "tags":"new, vip"})");
  ASSERT_EQ(again.status, fresh.status);
  EXPECT_EQ(again.body, fresh.body);
  EXPECT_EQ(again.header("content-type"), fresh.header("content-type"));

  auto merged = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(str(merged["name"]), "Fan One");           // not overwritten
  EXPECT_TRUE(merged["phone"].is_null());              // not a form key
  EXPECT_EQ(str(merged["fields"]["company"]), "Acme"); // not overwritten
  EXPECT_EQ(str(merged["fields"]["size"]), "S");       // was empty: filled
  EXPECT_EQ(str(merged["subscribed_at"]), subscribed_at);
  std::vector<std::string> tags;
  for (auto t : simdjson::dom::array(merged["tags"]))
    tags.push_back(str(t));
  EXPECT_EQ(tags, (std::vector<std::string>{"launch", "new", "vip"}));
  // Still one subscriber.
  auto list = as(a.token, "GET", "/api/v1/subscribers").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 1u);
}

// Unsubscribed here: a stranger's post does not subscribe them again; it
// becomes a request the creator sees, and the creator decides.
TEST_F(public_signup, an_unsubscribed_address_becomes_a_resubscribe_request) {
  auto id = subscribe(a, R"({"email":"left@example.com","name":"Left"})");
  auto opted_in = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  auto first_consent_at = str(opted_in["subscribed_at"]);
  ASSERT_EQ(as(a.token, "PATCH", "/api/v1/subscribers/" + id,
               R"({"status":"unsubscribed"})")
                .status,
            200);
  auto r = call("POST", "/api/v1/public/maker/subscribe",
                R"({"email":"left@example.com","tags":["again"]})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.body, R"({"status":"received"})");
  auto s = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(str(s["status"]), "unsubscribed");
  EXPECT_FALSE(s["resubscribe_requested_at"].is_null());
  EXPECT_EQ(str(s["subscribed_at"]), first_consent_at);

  // The creator has the person's word: subscribed, and the request is gone.
  auto ok = as(a.token, "PATCH", "/api/v1/subscribers/" + id,
               R"({"status":"subscribed"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(str(ok.json()["status"]), "subscribed");
  EXPECT_TRUE(ok.json()["resubscribe_requested_at"].is_null());
}

// A deleted address is not brought back subscribed by a stranger either.
TEST_F(public_signup, a_deleted_address_comes_back_only_as_a_request) {
  auto id = subscribe(a, R"({"email":"gone@example.com"})");
  ASSERT_EQ(as(a.token, "DELETE", "/api/v1/subscribers/" + id).status, 204);
  auto r = call("POST", "/api/v1/public/maker/subscribe",
                R"({"email":"gone@example.com"})");
  ASSERT_EQ(r.status, 202) << r.body;
  auto back = subscriber_id_of(a, R"({"email":"gone@example.com"})");
  auto s = as(a.token, "GET", "/api/v1/subscribers/" + back).json();
  EXPECT_EQ(str(s["status"]), "unsubscribed");
  EXPECT_FALSE(s["resubscribe_requested_at"].is_null());
  // Another address is a plain new signup.
  auto other = subscribe(a, R"({"email":"new@example.com"})");
  auto n = as(a.token, "GET", "/api/v1/subscribers/" + other).json();
  EXPECT_EQ(str(n["status"]), "subscribed");
}

// Without a campaign, only keys of the creator's own forms are taken.
TEST_F(public_signup, fields_without_a_campaign_are_the_creators_form_keys) {
  auto bad = call("POST", "/api/v1/public/maker/subscribe",
                  R"({"email":"x@example.com","fields":{"anything":"1"}})");
  EXPECT_EQ(bad.status, 422) << bad.body;
  EXPECT_NE(bad.body.find("fields.anything"), std::string::npos);
  auto id = subscribe(
      a, R"({"email":"y@example.com","fields":{"company":"Co","size":"M"}})");
  auto s = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(str(s["fields"]["company"]), "Co");
  // Checked as its form defines it.
  auto wrong = call("POST", "/api/v1/public/maker/subscribe",
                    R"({"email":"z@example.com","fields":{"size":"XXL"}})");
  EXPECT_EQ(wrong.status, 422) << wrong.body;
}

// Repeated posts cannot grow one subscriber without bound.
TEST_F(public_signup, one_subscriber_stays_within_its_caps) {
  auto tags = [](int from) {
    std::string t = "[";
    for (int i = 0; i < 50; ++i)
      t += (i ? ",\"t" : "\"t") + std::to_string(from + i) + "\"";
    return t + "]";
  };
  subscribe(a, R"({"email":"grow@example.com","tags":)" + tags(0) + "}");
  subscribe(a, R"({"email":"grow@example.com","tags":)" + tags(50) + "}");
  auto r = call("POST", "/api/v1/public/maker/subscribe",
                R"({"email":"grow@example.com","tags":)" + tags(100) + "}");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.body.find("at most 100 tags"), std::string::npos) << r.body;
  auto id = subscriber_id_of(a, R"({"email":"grow@example.com"})");
  auto s = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(simdjson::dom::array(s["tags"]).size(), 100u);
}

TEST_F(public_signup, phone_only_signups_are_normalised) {
  auto id = subscribe(a, R"({"phone":"(415) 555-0199"})");
  auto s = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(str(s["phone"]), "+14155550199");
  EXPECT_TRUE(s["email"].is_null());
  // The same number again is the same subscriber.
  auto r = call("POST", "/api/v1/public/maker/subscribe",
                R"({"phone":"+14155550199"})");
  EXPECT_EQ(r.status, 202);
  auto list = as(a.token, "GET", "/api/v1/subscribers").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 1u);
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
  EXPECT_EQ(r.header("location"), "/p/maker?result=received");
  auto shown = call("GET", r.header("location"));
  EXPECT_NE(shown.body.find("your signup is received"), std::string::npos);
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
  EXPECT_EQ(r.header("location"), "/p/maker?result=received");
  auto list = as(a.token, "GET", "/api/v1/subscribers").json();
  EXPECT_EQ(simdjson::dom::array(list["items"]).size(), 0u);
}

TEST_F(public_signup, odd_unicode_round_trips) {
  auto id =
      subscribe(a, R"({"email":"u@example.com","name":"Zoë 🙂 \u202e Åsa",
                        "campaign":"launch","fields":{"company":"日本語"}})");
  auto s = as(a.token, "GET", "/api/v1/subscribers/" + id).json();
  EXPECT_EQ(str(s["name"]), "Zoë 🙂 \u202e Åsa");
  EXPECT_EQ(str(s["fields"]["company"]), "日本語");
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
