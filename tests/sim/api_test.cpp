// The simulator's Marketing API: auth, audiences, merge fields, members, batch
// subscribe.
#include "http/sim/internal.hpp"
#include "sim_fixture.hpp"

#include <set>

using namespace ls::mcsim;
using namespace ls::mcsim::test;

namespace {

const std::string compliance_suffix =
    " is in a compliance state due to unsubscribe, bounce, or compliance "
    "review "
    "and cannot be subscribed.";

std::string md5_lower(std::string_view email) {
  return ls::mcsim::detail::subscriber_hash(email);
}

std::string full_list_body(const std::string& name) {
  return R"({"name":")" + name +
         R"(","contact":{"company":"Co","address1":"1 Main","city":"Atlanta","state":"GA","zip":"30308","country":"US"},"permission_reminder":"You signed up.","campaign_defaults":{"from_name":"Me","from_email":"me@gmail.com","subject":"Hi","language":"en"},"email_type_option":false})";
}

class api_test : public sim_test {
protected:
  void SetUp() override {
    sim_test::SetUp();
    token = token_for();
    news = list_id("Newsletter");
  }

  reply batch(const std::string& list, const std::string& body,
              const std::string& query = {}) {
    return api("POST", "/3.0/lists/" + list + query, token, body);
  }

  /// The stored members of an audience, by email: {status, merge json, tags}.
  reply stored(const std::string& list) {
    return ctl("GET", "/_sim/lists/" + list + "/members");
  }

  std::string stored_status(const std::string& list, const std::string& email) {
    auto r = stored(list);
    for (size_t i = 0; i < r.size("/members"); ++i) {
      auto p = "/members/" + std::to_string(i);
      if (r.str(p + "/email_address") == email) return r.str(p + "/status");
    }
    return "<absent>";
  }

  std::set<std::string> stored_tags(const std::string& list,
                                    const std::string& email) {
    auto r = stored(list);
    std::set<std::string> out;
    for (size_t i = 0; i < r.size("/members"); ++i) {
      auto p = "/members/" + std::to_string(i);
      if (r.str(p + "/email_address") != email) continue;
      for (size_t k = 0; k < r.size(p + "/tags"); ++k)
        out.insert(r.str(p + "/tags/" + std::to_string(k)));
    }
    return out;
  }

  std::string token;
  std::string news;
};

// -- auth
// ---------------------------------------------------------------------------------

TEST_F(api_test, MissingKey) {
  auto r = call("GET", "/3.0/lists");
  ASSERT_EQ(r.status, 401);
  EXPECT_EQ(r.header("content-type"),
            "application/problem+json; charset=utf-8");
  EXPECT_EQ(r.str("/title"), "API Key Missing");
  EXPECT_EQ(r.str("/detail"), "Your request did not include an API key.");
  EXPECT_EQ(r.str("/type"),
            "https://mailchimp.com/developer/marketing/docs/errors/");
  EXPECT_EQ(r.num("/status"), 401);
  EXPECT_EQ(r.str("/instance"), r.header("x-request-id"));
  EXPECT_EQ(r.str("/instance").size(), 36u);
}

TEST_F(api_test, InvalidKey) {
  auto r = api("GET", "/3.0/ping", "0123456789abcdef0123456789abcdef");
  ASSERT_EQ(r.status, 401);
  EXPECT_EQ(r.str("/title"), "API Key Invalid");
  EXPECT_EQ(r.str("/detail"),
            "Your API key may be invalid, or you've attempted to access the "
            "wrong datacenter.");
  // Even on unknown paths the key is checked first.
  EXPECT_EQ(call("GET", "/3.0/nope").str("/title"), "API Key Missing");
}

TEST_F(api_test, RevokedKey) {
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 200);
  auto rv = ctl("POST", "/_sim/users/sandbox-user/revoke-tokens");
  ASSERT_EQ(rv.status, 200);
  EXPECT_GE(rv.num("/revoked"), 1);
  auto r = api("GET", "/3.0/ping", token);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.str("/title"), "API Key Invalid");
  EXPECT_EQ(ctl("POST", "/_sim/users/nobody/revoke-tokens").status, 404);
}

TEST_F(api_test, BasicAuthWithTheTokenAsPassword) {
  auto basic = [](const std::string& s) {
    static constexpr char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < s.size(); i += 3) {
      unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8 |
                   (unsigned char)s[i + 2];
      out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
    }
    if (s.size() - i == 1) {
      unsigned v = (unsigned char)s[i] << 16;
      out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
    } else if (s.size() - i == 2) {
      unsigned v = (unsigned char)s[i] << 16 | (unsigned char)s[i + 1] << 8;
      out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
    }
    return out;
  };
  auto r = call("GET", "/3.0/ping", {},
                {{"Authorization", "Basic " + basic("anystring:" + token)}});
  EXPECT_EQ(r.status, 200);
  auto bad = call("GET", "/3.0/ping", {},
                  {{"Authorization", "Basic " + basic("user:nope")}});
  EXPECT_EQ(bad.status, 401);
}

// -- account and audiences
// ------------------------------------------------------------

TEST_F(api_test, AccountInfo) {
  auto r = api("GET", "/3.0/", token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("/account_name"), "Sandbox Creator");
  EXPECT_EQ(r.str("/email"), "creator@sandbox.example");
  EXPECT_EQ(r.str("/role"), "owner");
  EXPECT_EQ(r.num("/total_subscribers"), 1); // the seeded early reader
  EXPECT_EQ(api("GET", "/3.0", token).status, 200);
}

TEST_F(api_test, SeededAudiences) {
  auto r = api("GET", "/3.0/lists", token);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.num("/total_items"), 2);
  ASSERT_EQ(r.size("/lists"), 2u);
  EXPECT_EQ(r.str("/lists/0/name"), "Newsletter");
  EXPECT_EQ(r.str("/lists/1/name"), "Customers");
  for (auto p : {"/lists/0", "/lists/1"}) {
    auto id = r.str(std::string(p) + "/id");
    EXPECT_EQ(id.size(), 10u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_GT(r.num(std::string(p) + "/web_id"), 0);
    EXPECT_TRUE(r.j().has(std::string(p) + "/date_created"));
    EXPECT_TRUE(r.j().has(std::string(p) + "/stats/member_count"));
  }
  EXPECT_FALSE(r.j().boolean("/lists/0/double_optin"));
  EXPECT_TRUE(r.j().boolean("/lists/1/double_optin"));
  EXPECT_EQ(r.num("/lists/0/stats/member_count"), 1);
  EXPECT_EQ(r.num("/lists/0/stats/unsubscribe_count"), 2); // incl. complained
  EXPECT_EQ(r.num("/lists/0/stats/cleaned_count"), 1);
  EXPECT_EQ(r.num("/lists/0/stats/merge_field_count"), 6);
  // Ids stay the same across restarts.
  start();
  token = token_for();
  EXPECT_EQ(api("GET", "/3.0/lists", token).str("/lists/0/id"), news);
}

TEST_F(api_test, ListPaging) {
  start(empty_options());
  ASSERT_EQ(ctl("POST", "/_sim/users", R"({"login":"u1"})").status, 201);
  token = token_for("u1");
  {
    client c(port_);
    for (int i = 0; i < 1005; ++i) {
      auto body = R"({"user":"u1","name":"L)" + std::to_string(i) + "\"}";
      ASSERT_TRUE(c.send(raw_request(port_, "POST", "/_sim/lists", body,
                                     control_auth(), true)));
      auto r = c.read_response();
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 201);
    }
  }
  auto def = api("GET", "/3.0/lists", token);
  EXPECT_EQ(def.size("/lists"), 10u);
  EXPECT_EQ(def.num("/total_items"), 1005);
  EXPECT_EQ(def.str("/lists/0/name"), "L0");
  auto page = api("GET", "/3.0/lists?count=5&offset=1001", token);
  ASSERT_EQ(page.size("/lists"), 4u);
  EXPECT_EQ(page.str("/lists/0/name"), "L1001");
  auto big = api("GET", "/3.0/lists?count=5000&offset=0", token);
  EXPECT_EQ(big.size("/lists"), 1000u);
  EXPECT_EQ(big.num("/total_items"), 1005);
  auto past = api("GET", "/3.0/lists?count=5&offset=2000", token);
  EXPECT_EQ(past.size("/lists"), 0u);
  auto junk = api("GET", "/3.0/lists?count=abc&offset=-1&_=123", token);
  EXPECT_EQ(junk.size("/lists"), 10u);
  // Another user sees none of them.
  ASSERT_EQ(ctl("POST", "/_sim/users", R"({"login":"u2"})").status, 201);
  EXPECT_EQ(api("GET", "/3.0/lists", token_for("u2")).num("/total_items"), 0);
}

TEST_F(api_test, CreateListValidates) {
  auto r = api("POST", "/3.0/lists", token, R"({"name":"X"})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(r.str("/title"), "Invalid Resource");
  EXPECT_EQ(r.str("/detail"),
            "The resource submitted could not be validated. For "
            "field-specific details, see the 'errors' array.");
  std::set<std::string> fields;
  for (size_t i = 0; i < r.size("/errors"); ++i)
    fields.insert(r.str("/errors/" + std::to_string(i) + "/field"));
  EXPECT_EQ(fields,
            (std::set<std::string>{"contact", "permission_reminder",
                                   "campaign_defaults", "email_type_option"}));
  auto partial = api(
      "POST", "/3.0/lists", token,
      R"({"name":"X","contact":{"company":"C"},"permission_reminder":"p","campaign_defaults":{"from_name":"a","from_email":"b@c.de","subject":"s","language":"en"},"email_type_option":true})");
  ASSERT_EQ(partial.status, 400);
  EXPECT_EQ(partial.size("/errors"), 5u); // address1 city state zip country
  EXPECT_EQ(partial.str("/errors/0/field"), "contact.address1");

  auto ok = api("POST", "/3.0/lists", token, full_list_body("Fresh"));
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto id = ok.str("/id");
  EXPECT_EQ(id.size(), 10u);
  EXPECT_EQ(ok.str("/name"), "Fresh");
  EXPECT_EQ(ok.num("/stats/member_count"), 0);
  auto got = api("GET", "/3.0/lists/" + id, token);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.str("/contact/company"), "Co");
  EXPECT_EQ(api("GET", "/3.0/lists", token).num("/total_items"), 3);

  auto mf = api("GET", "/3.0/lists/" + id + "/merge-fields", token);
  ASSERT_EQ(mf.status, 200);
  EXPECT_EQ(mf.num("/total_items"), 4);
  std::vector<std::string> tags;
  for (size_t i = 0; i < mf.size("/merge_fields"); ++i)
    tags.push_back(mf.str("/merge_fields/" + std::to_string(i) + "/tag"));
  EXPECT_EQ(tags,
            (std::vector<std::string>{"FNAME", "LNAME", "ADDRESS", "PHONE"}));
  EXPECT_EQ(mf.str("/merge_fields/2/type"), "address");
  EXPECT_EQ(mf.num("/merge_fields/0/merge_id"), 1);

  auto seeded = api("GET", "/3.0/lists/" + news + "/merge-fields", token);
  EXPECT_EQ(seeded.num("/total_items"), 6);
  EXPECT_EQ(seeded.str("/merge_fields/4/tag"), "BIRTHDAY");
  EXPECT_EQ(seeded.str("/merge_fields/4/type"), "birthday");
  EXPECT_EQ(seeded.str("/merge_fields/5/tag"), "COMPANY");
}

TEST_F(api_test, DeletedAudienceIs404) {
  EXPECT_EQ(api("GET", "/3.0/lists/" + news, token).status, 200);
  ASSERT_EQ(ctl("DELETE", "/_sim/lists/" + news).status, 204);
  auto r = api("GET", "/3.0/lists/" + news, token);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.str("/title"), "Resource Not Found");
  EXPECT_EQ(r.str("/detail"), "The requested resource could not be found.");
  EXPECT_EQ(batch(news, R"({"members":[]})").status, 404);
  auto cust = list_id("Customers");
  EXPECT_EQ(api("DELETE", "/3.0/lists/" + cust, token).status, 204);
  EXPECT_EQ(api("GET", "/3.0/lists/" + cust, token).status, 404);
  EXPECT_EQ(api("GET", "/3.0/lists", token).num("/total_items"), 0);
}

TEST_F(api_test, UnknownPathsAndMethods) {
  EXPECT_EQ(api("GET", "/3.0/lists/0000000000", token).status, 404);
  EXPECT_EQ(api("GET", "/3.0/campaigns", token).status, 404);
  auto r = api("PATCH", "/3.0/lists", token, "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.str("/title"), "Method Not Allowed");
  EXPECT_EQ(r.header("allow"), "GET, POST");
  EXPECT_EQ(api("DELETE", "/3.0/ping", token).status, 405);
  EXPECT_EQ(call("GET", "/elsewhere").status, 404);
}

TEST_F(api_test, OtherUsersAudiencesAreInvisible) {
  ASSERT_EQ(ctl("POST", "/_sim/users", R"({"login":"other"})").status, 201);
  auto other = token_for("other");
  EXPECT_EQ(api("GET", "/3.0/lists/" + news, other).status, 404);
  EXPECT_EQ(
      api("POST", "/3.0/lists/" + news, other,
          R"({"members":[{"email_address":"a@gmail.com","status":"subscribed"}]})")
          .status,
      404);
}

TEST_F(api_test, MalformedJson) {
  for (auto body : {"{", "nope", "{\"members\":[}", "\xff\xfe"}) {
    auto r = batch(news, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.str("/title"), "JSON Parse Error");
  }
  EXPECT_EQ(api("POST", "/3.0/lists", token, "[").str("/title"),
            "JSON Parse Error");
  EXPECT_EQ(api("PUT",
                "/3.0/lists/" + news + "/members/" + md5_lower("a@gmail.com"),
                token, "{")
                .str("/title"),
            "JSON Parse Error");
}

// -- batch subscribe
// ------------------------------------------------------------------------

TEST_F(api_test, BatchCreatesThenUpdates) {
  auto r = batch(news, R"({"members":[
    {"email_address":"Alice@Gmail.com","status":"subscribed","merge_fields":{"FNAME":"Alice","UNKNOWN":"x"},"tags":["vip"],"ip_signup":"1.2.3.4","timestamp_signup":"2024-01-02T03:04:05+00:00"},
    {"email_address":"bob@gmail.com","status":"pending"}],"update_existing":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.num("/total_created"), 2);
  EXPECT_EQ(r.num("/total_updated"), 0);
  EXPECT_EQ(r.num("/error_count"), 0);
  EXPECT_EQ(r.size("/errors"), 0u);
  ASSERT_EQ(r.size("/new_members"), 2u);
  EXPECT_EQ(r.str("/new_members/0/id"), md5_lower("alice@gmail.com"));
  EXPECT_EQ(r.str("/new_members/0/email_address"), "Alice@Gmail.com");
  EXPECT_EQ(r.str("/new_members/0/status"), "subscribed");
  EXPECT_EQ(r.str("/new_members/0/merge_fields/FNAME"), "Alice");
  EXPECT_EQ(r.str("/new_members/0/merge_fields/LNAME"), "");
  EXPECT_FALSE(r.j().has("/new_members/0/merge_fields/UNKNOWN"));
  EXPECT_EQ(r.str("/new_members/0/tags/0/name"), "vip");
  EXPECT_GT(r.num("/new_members/0/tags/0/id"), 0);
  EXPECT_EQ(r.str("/new_members/0/ip_signup"), "1.2.3.4");
  EXPECT_EQ(r.str("/new_members/0/list_id"), news);
  EXPECT_EQ(r.str("/new_members/1/status"), "pending");

  auto u = batch(news, R"({"members":[
    {"email_address":"alice@gmail.com","status":"subscribed","merge_fields":{"LNAME":"Smith"}}],"update_existing":true})");
  ASSERT_EQ(u.status, 200);
  EXPECT_EQ(u.num("/total_created"), 0);
  EXPECT_EQ(u.num("/total_updated"), 1);
  EXPECT_EQ(u.str("/updated_members/0/merge_fields/FNAME"), "Alice");
  EXPECT_EQ(u.str("/updated_members/0/merge_fields/LNAME"), "Smith");
  EXPECT_EQ(u.str("/updated_members/0/full_name"), "Alice Smith");
  // The address keeps its first spelling.
  EXPECT_EQ(u.str("/updated_members/0/email_address"), "Alice@Gmail.com");

  // GET by hash and by address.
  auto g = api(
      "GET", "/3.0/lists/" + news + "/members/" + md5_lower("ALICE@gmail.com"),
      token);
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.str("/merge_fields/LNAME"), "Smith");
  EXPECT_EQ(
      api("GET", "/3.0/lists/" + news + "/members/alice%40gmail.com", token)
          .status,
      200);
}

TEST_F(api_test, BatchUpdateExistingFalseIsContactExists) {
  auto r = batch(
      news,
      R"({"members":[{"email_address":"early.reader@gmail.com","status":"subscribed"}]})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.num("/error_count"), 1);
  EXPECT_EQ(r.str("/errors/0/email_address"), "early.reader@gmail.com");
  EXPECT_EQ(r.str("/errors/0/error_code"), "ERROR_CONTACT_EXISTS");
  EXPECT_EQ(r.str("/errors/0/error"),
            "early.reader@gmail.com is already a list member, do you want to "
            "update? please provide update_existing:true in the request body");
}

TEST_F(api_test, BatchComplianceStates) {
  auto r = batch(news, R"({"members":[
    {"email_address":"unsubscribed.fan@gmail.com","status":"subscribed"},
    {"email_address":"bounced.fan@yahoo.com","status":"subscribed"},
    {"email_address":"complained@outlook.com","status":"subscribed"}],"update_existing":true})");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.num("/error_count"), 3);
  EXPECT_EQ(r.num("/total_updated"), 0);
  EXPECT_EQ(r.str("/errors/0/error"),
            "unsubscribed.fan@gmail.com" + compliance_suffix);
  EXPECT_EQ(r.str("/errors/1/error"),
            "bounced.fan@yahoo.com" + compliance_suffix);
  EXPECT_EQ(r.str("/errors/2/error"),
            "complained@outlook.com" + compliance_suffix);
  EXPECT_EQ(r.str("/errors/0/error_code"), "ERROR_GENERIC");
  EXPECT_EQ(stored_status(news, "unsubscribed.fan@gmail.com"), "unsubscribed");

  // pending (a confirmation mail) is allowed; status_if_new alone changes
  // nothing.
  auto p = batch(news, R"({"members":[
    {"email_address":"unsubscribed.fan@gmail.com","status":"pending"},
    {"email_address":"bounced.fan@yahoo.com","status_if_new":"subscribed","merge_fields":{"FNAME":"B"}}],"update_existing":true})");
  EXPECT_EQ(p.num("/error_count"), 0) << p.body;
  EXPECT_EQ(p.num("/total_updated"), 2);
  EXPECT_EQ(p.str("/updated_members/0/status"), "pending");
  EXPECT_EQ(p.str("/updated_members/1/status"), "cleaned");
  EXPECT_EQ(stored_status(news, "complained@outlook.com"), "complained");
}

TEST_F(api_test, BatchForgotten) {
  auto r = batch(
      news,
      R"({"members":[{"email_address":"Forgotten.Fan@gmail.com","status":"subscribed"}],"update_existing":true})");
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(r.num("/error_count"), 1);
  EXPECT_EQ(
      r.str("/errors/0/error"),
      "Forgotten.Fan@gmail.com was permanently deleted and cannot be "
      "re-imported. The contact must re-subscribe to get back on the list.");
  EXPECT_EQ(r.str("/errors/0/error_code"), "ERROR_GENERIC");
  // Invisible to reads.
  EXPECT_EQ(api("GET",
                "/3.0/lists/" + news + "/members/" +
                    md5_lower("forgotten.fan@gmail.com"),
                token)
                .status,
            404);
  // PUT gets the same refusal as a problem.
  auto put = api(
      "PUT",
      "/3.0/lists/" + news + "/members/" + md5_lower("forgotten.fan@gmail.com"),
      token,
      R"({"email_address":"forgotten.fan@gmail.com","status_if_new":"subscribed"})");
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(put.str("/title"), "Forgotten Email Not Subscribed");
}

TEST_F(api_test, BatchFakeAndInvalidAddresses) {
  auto r = batch(news, R"({"members":[
    {"email_address":"someone@example.com","status":"subscribed"},
    {"email_address":"a@mail.example.org","status":"subscribed"},
    {"email_address":"x@test.com","status":"subscribed"},
    {"email_address":"no-at-sign","status":"subscribed"},
    {"email_address":"a@b","status":"subscribed"},
    {"email_address":"two@@gmail.com","status":"subscribed"},
    {"status":"subscribed"},
    {"email_address":"fine@gmail.com","status":"subscribed"}],"update_existing":true})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.num("/error_count"), 7);
  EXPECT_EQ(r.num("/total_created"), 1);
  EXPECT_EQ(r.str("/errors/0/error"),
            "someone@example.com looks fake or invalid, please enter a real "
            "email address.");
  EXPECT_EQ(r.str("/errors/1/error"),
            "a@mail.example.org looks fake or invalid, please enter a real "
            "email address.");
  EXPECT_EQ(r.str("/errors/2/error"),
            "x@test.com looks fake or invalid, please enter a real email "
            "address.");
  for (int i = 3; i < 7; ++i)
    EXPECT_EQ(r.str("/errors/" + std::to_string(i) + "/error"),
              "Please provide a valid email address.");
  EXPECT_EQ(r.str("/errors/6/email_address"), "");
}

TEST_F(api_test, BatchMergeValidation) {
  std::string long_text(256, 'x');
  auto r = batch(
      news,
      R"({"members":[
    {"email_address":"b1@gmail.com","status":"subscribed","merge_fields":{"BIRTHDAY":"13/01"}},
    {"email_address":"b2@gmail.com","status":"subscribed","merge_fields":{"BIRTHDAY":"1990-01-01"}},
    {"email_address":"b3@gmail.com","status":"subscribed","merge_fields":{"FNAME":")" +
          long_text + R"("}},
    {"email_address":"b4@gmail.com","status":"subscribed","merge_fields":{"ADDRESS":{"addr1":"1 Main"}}},
    {"email_address":"b5@gmail.com","status":"subscribed","merge_fields":{"ADDRESS":"1 Main St, Atlanta"}},
    {"email_address":"b6@gmail.com","status":"subscribed","merge_fields":{"FNAME":true}},
    {"email_address":"b7@gmail.com","status":"subscribed","merge_fields":{"BIRTHDAY":"02/29","FNAME":")" +
          std::string(255, 'y') +
          R"(","ADDRESS":{"addr1":"1 Main","city":"A","state":"GA","zip":"30308"},"NOT_A_TAG":{"x":1}}}],"update_existing":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.num("/error_count"), 6);
  EXPECT_EQ(r.num("/total_created"), 1);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(r.str("/errors/" + std::to_string(i) + "/error"),
              "Your merge fields were invalid.");
  EXPECT_EQ(r.str("/errors/0/field"), "BIRTHDAY");
  EXPECT_EQ(r.str("/errors/0/field_message"),
            "Please enter a month (01-12) and a day (01-31)");
  EXPECT_EQ(r.str("/errors/1/field"), "BIRTHDAY");
  EXPECT_EQ(r.str("/errors/2/field"), "FNAME");
  EXPECT_EQ(r.str("/errors/3/field"), "ADDRESS");
  EXPECT_EQ(r.str("/errors/3/field_message"),
            "Please enter a complete address");
  EXPECT_EQ(r.str("/errors/4/field"), "ADDRESS");
  EXPECT_EQ(r.str("/errors/5/field"), "FNAME");
  EXPECT_EQ(r.str("/new_members/0/merge_fields/BIRTHDAY"), "02/29");
  EXPECT_EQ(r.str("/new_members/0/merge_fields/ADDRESS/city"), "A");
  EXPECT_EQ(stored_status(news, "b1@gmail.com"), "<absent>");
}

TEST_F(api_test, RequiredMergeFields) {
  auto l = ctl(
      "POST", "/_sim/lists",
      R"({"name":"Strict","merge_fields":[{"tag":"LNAME","name":"Last Name","type":"text","required":true}]})");
  ASSERT_EQ(l.status, 201) << l.body;
  auto id = l.str("/id");
  auto r = batch(
      id,
      R"({"members":[{"email_address":"r@gmail.com","status":"subscribed"}]})");
  EXPECT_EQ(r.num("/error_count"), 1);
  EXPECT_EQ(r.str("/errors/0/field"), "LNAME");
  EXPECT_EQ(r.str("/errors/0/field_message"), "Please enter a value");
  auto skip = batch(
      id,
      R"({"members":[{"email_address":"r@gmail.com","status":"subscribed"}]})",
      "?skip_merge_validation=true");
  EXPECT_EQ(skip.num("/total_created"), 1) << skip.body;
}

TEST_F(api_test, BatchOver500IsRejectedWhole) {
  std::string body = R"({"members":[)";
  for (int i = 0; i < 501; ++i) {
    if (i) body += ',';
    body += R"({"email_address":"m)" + std::to_string(i) +
            R"(@gmail.com","status":"subscribed"})";
  }
  body += R"(],"update_existing":true})";
  auto r = batch(news, body);
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(r.str("/title"), "Invalid Resource");
  EXPECT_EQ(r.str("/errors/0/field"), "members");
  EXPECT_EQ(stored_status(news, "m0@gmail.com"), "<absent>");

  // Exactly 500 is fine.
  body = R"({"members":[)";
  for (int i = 0; i < 500; ++i) {
    if (i) body += ',';
    body += R"({"email_address":"m)" + std::to_string(i) +
            R"(@gmail.com","status":"subscribed"})";
  }
  body += R"(],"update_existing":true})";
  auto ok = batch(news, body);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.num("/total_created"), 500);
  EXPECT_EQ(api("GET", "/3.0/lists/" + news, token).num("/stats/member_count"),
            501);
}

TEST_F(api_test, BatchBodyShape) {
  EXPECT_EQ(batch(news, R"({"update_existing":true})").str("/title"),
            "Invalid Resource");
  EXPECT_EQ(batch(news, R"([1,2])").str("/title"), "Invalid Resource");
  auto r = batch(
      news,
      R"({"members":[1,"x",null,{"email_address":"ok1@gmail.com","status":"bogus"},{"email_address":"ok2@gmail.com"}]})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.num("/error_count"), 5);
}

TEST_F(api_test, DuplicatesInOneBatch) {
  auto r = batch(
      news,
      R"({"members":[{"email_address":"d@gmail.com","status":"subscribed"},{"email_address":"D@gmail.com","status":"unsubscribed"}],"update_existing":true})");
  EXPECT_EQ(r.num("/total_created"), 1);
  EXPECT_EQ(r.num("/total_updated"), 1);
  EXPECT_EQ(stored_status(news, "d@gmail.com"), "unsubscribed");
  auto s = batch(
      news,
      R"({"members":[{"email_address":"e@gmail.com","status":"subscribed"},{"email_address":"e@gmail.com","status":"unsubscribed"}],"update_existing":true})",
      "?skip_duplicate_check=true");
  EXPECT_EQ(s.num("/total_created"), 1);
  EXPECT_EQ(s.num("/total_updated"), 0);
  EXPECT_EQ(stored_status(news, "e@gmail.com"), "subscribed");
}

TEST_F(api_test, SyncTagsFalseAddsTrueReplaces) {
  batch(
      news,
      R"({"members":[{"email_address":"t@gmail.com","status":"subscribed","tags":["a","b"]}]})");
  EXPECT_EQ(stored_tags(news, "t@gmail.com"),
            (std::set<std::string>{"a", "b"}));
  batch(
      news,
      R"({"members":[{"email_address":"t@gmail.com","status":"subscribed","tags":["c","A"]}],"update_existing":true,"sync_tags":false})");
  EXPECT_EQ(stored_tags(news, "t@gmail.com"),
            (std::set<std::string>{"a", "b", "c"}));
  batch(
      news,
      R"({"members":[{"email_address":"t@gmail.com","status":"subscribed","tags":["d"]}],"update_existing":true,"sync_tags":true})");
  EXPECT_EQ(stored_tags(news, "t@gmail.com"), (std::set<std::string>{"d"}));
  // No tags key: tags are kept even with sync_tags.
  batch(
      news,
      R"({"members":[{"email_address":"t@gmail.com","status":"subscribed"}],"update_existing":true,"sync_tags":true})");
  EXPECT_EQ(stored_tags(news, "t@gmail.com"), (std::set<std::string>{"d"}));
}

// -- single members
// ---------------------------------------------------------------------------

TEST_F(api_test, PutUpsertsThenGet) {
  auto path = "/3.0/lists/" + news + "/members/" + md5_lower("Carol@gmail.com");
  auto r = api(
      "PUT", path, token,
      R"({"email_address":"Carol@gmail.com","status_if_new":"subscribed","merge_fields":{"FNAME":"Carol"},"tags":["new"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.str("/status"), "subscribed");
  EXPECT_EQ(r.str("/id"), md5_lower("carol@gmail.com"));
  EXPECT_EQ(r.str("/tags/0/name"), "new");
  // Update: status_if_new ignored, status applies, tags ignored on update.
  auto u = api(
      "PUT", path, token,
      R"({"email_address":"carol@gmail.com","status_if_new":"pending","status":"unsubscribed","merge_fields":{"LNAME":"C"},"tags":["later"]})");
  ASSERT_EQ(u.status, 200) << u.body;
  EXPECT_EQ(u.str("/status"), "unsubscribed");
  EXPECT_EQ(u.size("/tags"), 1u);
  auto g = api("GET", path, token);
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.str("/merge_fields/FNAME"), "Carol");
  EXPECT_EQ(g.str("/merge_fields/LNAME"), "C");
  EXPECT_EQ(g.str("/status"), "unsubscribed");
  // Now in a compliance state.
  auto c = api("PUT", path, token,
               R"({"email_address":"carol@gmail.com","status":"subscribed"})");
  EXPECT_EQ(c.status, 400);
  EXPECT_EQ(c.str("/title"), "Member In Compliance State");
  EXPECT_EQ(c.str("/detail"), "carol@gmail.com" + compliance_suffix);
  // A new member needs a status.
  auto none =
      api("PUT", "/3.0/lists/" + news + "/members/" + md5_lower("z@gmail.com"),
          token, R"({"email_address":"z@gmail.com"})");
  EXPECT_EQ(none.status, 400);
  EXPECT_EQ(none.str("/title"), "Invalid Resource");
  // The body's address must match the hash.
  auto mismatch = api(
      "PUT", path, token,
      R"({"email_address":"other@gmail.com","status_if_new":"subscribed"})");
  EXPECT_EQ(mismatch.status, 400);
  // Fake and merge errors come as problems.
  auto fake = api(
      "PUT", "/3.0/lists/" + news + "/members/" + md5_lower("a@example.com"),
      token,
      R"({"email_address":"a@example.com","status_if_new":"subscribed"})");
  EXPECT_EQ(fake.status, 400);
  EXPECT_EQ(fake.str("/detail"), "a@example.com looks fake or invalid, please "
                                 "enter a real email address.");
  auto merge = api(
      "PUT", path, token,
      R"({"email_address":"carol@gmail.com","merge_fields":{"BIRTHDAY":"99/99"}})");
  EXPECT_EQ(merge.status, 400);
  EXPECT_EQ(merge.str("/detail"), "Your merge fields were invalid.");
  EXPECT_EQ(merge.str("/errors/0/field"), "BIRTHDAY");
  EXPECT_EQ(merge.str("/errors/0/message"),
            "Please enter a month (01-12) and a day (01-31)");
  EXPECT_EQ(
      api("GET",
          "/3.0/lists/" + news + "/members/" + md5_lower("nobody@gmail.com"),
          token)
          .status,
      404);
}

TEST_F(api_test, PostMemberAddsOnly) {
  auto path = "/3.0/lists/" + news + "/members";
  auto r = api("POST", path, token,
               R"({"email_address":"dan@gmail.com","status":"subscribed"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto again =
      api("POST", path, token,
          R"({"email_address":"DAN@gmail.com","status":"subscribed"})");
  EXPECT_EQ(again.status, 400);
  EXPECT_EQ(again.str("/title"), "Member Exists");
  EXPECT_EQ(again.str("/detail"), "DAN@gmail.com is already a list member. Use "
                                  "PUT to insert or update list members.");
  auto list = api("GET", path + "?count=100", token);
  EXPECT_EQ(list.num("/total_items"), 5); // 4 visible seeded + dan
  auto subs = api("GET", path + "?status=subscribed", token);
  EXPECT_EQ(subs.num("/total_items"), 2);
}

TEST_F(api_test, TagsEndpoint) {
  batch(
      news,
      R"({"members":[{"email_address":"t@gmail.com","status":"subscribed","tags":["a"]}]})");
  auto path =
      "/3.0/lists/" + news + "/members/" + md5_lower("t@gmail.com") + "/tags";
  auto r = api(
      "POST", path, token,
      R"({"tags":[{"name":"b","status":"active"},{"name":"a","status":"inactive"}]})");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(stored_tags(news, "t@gmail.com"), (std::set<std::string>{"b"}));
  // Malformed: 204 and no change.
  for (
      auto body :
      {R"({"tags":[{"name":"c","status":"active"},{"name":"b","status":"bogus"}]})",
       R"({"tags":"c"})", "{", R"([])", R"({"tags":[{"status":"active"}]})"}) {
    EXPECT_EQ(api("POST", path, token, body).status, 204) << body;
    EXPECT_EQ(stored_tags(news, "t@gmail.com"), (std::set<std::string>{"b"}))
        << body;
  }
  auto unknown = api("POST",
                     "/3.0/lists/" + news + "/members/" +
                         md5_lower("nope@gmail.com") + "/tags",
                     token, R"({"tags":[{"name":"b","status":"active"}]})");
  EXPECT_EQ(unknown.status, 404);
  auto get = api("GET", path, token);
  EXPECT_EQ(get.num("/total_items"), 1);
  EXPECT_EQ(get.str("/tags/0/name"), "b");
}

TEST_F(api_test, GarbageNeverCrashes) {
  const std::string hash = md5_lower("g@gmail.com");
  std::vector<std::pair<std::string, std::string>> targets = {
      {"POST", "/3.0/lists"},
      {"POST", "/3.0/lists/" + news},
      {"POST", "/3.0/lists/" + news + "/members"},
      {"PUT", "/3.0/lists/" + news + "/members/" + hash},
      {"POST", "/3.0/lists/" + news + "/members/" + hash + "/tags"},
      {"PUT", "/3.0/lists/" + news + "/members/%zz"},
      {"GET", "/3.0/lists/" + news + "/members/%00"},
      {"POST", "/_sim/lists"},
      {"POST", "/_sim/faults"},
      {"POST", "/_sim/config"},
      {"POST", "/_sim/apps"},
      {"POST", "/_sim/users"},
      {"POST", "/_sim/lists/" + news + "/members"},
      {"POST", "/oauth2/token"},
      {"POST", "/oauth2/authorize"},
  };
  std::vector<std::string> bodies = {
      "",
      "null",
      "[]",
      "{}",
      "0",
      "\"s\"",
      "{\"members\":null}",
      "{\"members\":[{\"email_address\":7,\"status\":[],\"merge_fields\":[1],"
      "\"tags\":{}}]}",
      "{\"members\":[{\"email_address\":\"q@gmail.com\",\"status\":"
      "\"subscribed\",\"merge_fields\":{\"ADDRESS\":{\"addr1\":[],\"city\":{}}}"
      "}]}",
      "{\"email_address\":\"g@gmail.com\",\"status\":\"subscribed\",\"merge_"
      "fields\":{\"BIRTHDAY\":null,\"PHONE\":1e999}}",
      "{\"tags\":[null,1,{\"name\":7}]}",
      std::string(100000, '['),
      "%%%&&&===",
      "{\"a\":\"\\ud800\"}",
      "{\"status\":-1,\"count\":1e30,\"delay_ms\":\"x\",\"latency_ms\":-5}",
      "{\"name\":\"x\",\"merge_fields\":[{\"tag\":\"\"}]}"};
  for (auto& [method, target] : targets)
    for (auto& body : bodies) {
      auto r = target.starts_with("/_sim/") ? ctl(method, target, body)
                                            : api(method, target, token, body);
      EXPECT_GE(r.status, 200)
          << method << " " << target << " " << body.substr(0, 40);
      EXPECT_LT(r.status, 500)
          << method << " " << target << " " << body.substr(0, 40);
    }
  EXPECT_EQ(api("GET", "/3.0/ping", token).status, 200);
}

} // namespace
