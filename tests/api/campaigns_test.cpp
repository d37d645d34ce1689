#include "fixture.hpp"

using namespace ls::test;

namespace {

class campaigns : public service_fixture {};

const char* spring_form = R"({"name":"Spring Drop","fields":[
  {"key":"company","label":"Company","type":"text","required":false},
  {"key":"size","label":"T-shirt size","type":"select","required":true,"options":["S","M","L"]},
  {"key":"consent_sms","label":"Texts are fine","type":"checkbox","required":false}],
  "default_tags":["spring"]})";

} // namespace

TEST_F(campaigns, create_list_get_replace_delete) {
  auto a = signup("creator");
  auto r = as(a.token, "POST", "/api/v1/campaigns", spring_form);
  ASSERT_EQ(r.status, 201) << r.body;
  auto j = r.json();
  auto id = str(j["id"]);
  EXPECT_EQ(id.rfind("cmp_", 0), 0u);
  EXPECT_EQ(str(j["slug"]), "spring-drop");
  EXPECT_EQ(str(j["fields"].at(1)["options"].at(2)), "L");
  auto second =
      as(a.token, "POST", "/api/v1/campaigns", R"({"name":"Spring drop"})");
  ASSERT_EQ(second.status, 201);
  EXPECT_EQ(str(second.json()["slug"]), "spring-drop-2");

  auto list = as(a.token, "GET", "/api/v1/campaigns");
  ASSERT_EQ(list.status, 200);
  auto list_json = list.json();
  auto items = list_json["items"];
  ASSERT_EQ(simdjson::dom::array(items).size(), 2u);
  EXPECT_EQ(str(items.at(0)["id"]), id);

  auto put = as(a.token, "PUT", "/api/v1/campaigns/" + id,
                R"({"name":"Summer","slug":"summer","fields":[]})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(str(put.json()["slug"]), "summer");
  auto got = as(a.token, "GET", "/api/v1/campaigns/" + id);
  EXPECT_EQ(str(got.json()["name"]), "Summer");
  auto clash = as(a.token, "PUT", "/api/v1/campaigns/" + id,
                  R"({"name":"Summer","slug":"spring-drop-2"})");
  EXPECT_EQ(clash.status, 409);

  EXPECT_EQ(as(a.token, "DELETE", "/api/v1/campaigns/" + id).status, 204);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/campaigns/" + id).status, 404);
  EXPECT_EQ(as(a.token, "DELETE", "/api/v1/campaigns/" + id).status, 404);
}

TEST_F(campaigns, form_definitions_are_validated) {
  auto a = signup("strict");
  struct bad {
    std::string body, field;
  };
  std::vector<bad> cases = {
      {R"({})", "name"},
      {R"({"name":""})", "name"},
      {R"({"name":"x","fields":[{"key":"email","label":"E","type":"text"}]})",
       "fields[0].key"},
      {R"({"name":"x","fields":[{"key":"1a","label":"E","type":"text"}]})",
       "fields[0].key"},
      {R"({"name":"x","fields":[{"key":"a","label":"E","type":"color"}]})",
       "fields[0].type"},
      {R"({"name":"x","fields":[{"key":"a","label":"E","type":"select"}]})",
       "fields[0].options"},
      {R"({"name":"x","fields":[{"key":"a","label":"E","type":"text","options":["x"]}]})",
       "fields[0].options"},
      {R"({"name":"x","fields":[{"key":"a","label":"A","type":"text"},{"key":"a","label":"B","type":"text"}]})",
       "fields[1].key"},
      {R"({"name":"x","fields":[{"key":"a","label":"A","type":"text","extra":1}]})",
       "fields[0].extra"},
      {R"({"name":"x","fields":"nope"})", "fields"},
      {R"({"name":"x","slug":"Bad Slug"})", "slug"},
      {R"({"name":"x","default_tags":[1]})", "default_tags"},
  };
  for (auto& c : cases) {
    auto r = as(a.token, "POST", "/api/v1/campaigns", c.body);
    EXPECT_EQ(r.status, 422) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find("\"field\":\"" + c.field + "\""), std::string::npos)
        << c.body << " -> " << r.body;
  }
  EXPECT_EQ(simdjson::dom::array(
                as(a.token, "GET", "/api/v1/campaigns").json()["items"])
                .size(),
            0u);
}

TEST_F(campaigns, another_account_sees_404) {
  auto a = signup("owner");
  auto b = signup("intruder");
  auto id =
      str(as(a.token, "POST", "/api/v1/campaigns", spring_form).json()["id"]);
  EXPECT_EQ(as(b.token, "GET", "/api/v1/campaigns/" + id).status, 404);
  EXPECT_EQ(as(b.token, "PUT", "/api/v1/campaigns/" + id, R"({"name":"mine"})")
                .status,
            404);
  EXPECT_EQ(as(b.token, "DELETE", "/api/v1/campaigns/" + id).status, 404);
  EXPECT_EQ(simdjson::dom::array(
                as(b.token, "GET", "/api/v1/campaigns").json()["items"])
                .size(),
            0u);
  EXPECT_EQ(as(a.token, "GET", "/api/v1/campaigns/" + id).status, 200);
}
