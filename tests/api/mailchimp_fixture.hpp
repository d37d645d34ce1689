// A signed-in account that can connect the sandbox Mailchimp through the real
// OAuth flow.
#pragma once

#include "fixture.hpp"
#include "http/codec/form.hpp"

#include <fstream>

namespace ls::test {

/// Splits "http://127.0.0.1:1234/path?query" into port, path+query.
struct url_parts {
  uint16_t port = 0;
  std::string target;
  std::string query;
  std::string param(const std::string& k) const {
    auto p = ls::form::parse(query);
    if (!p) return {};
    auto v = ls::form::first(*p, k);
    return v ? *v : std::string{};
  }
};

inline url_parts split(const std::string& url) {
  url_parts u;
  auto rest = url.substr(url.find("://") + 3);
  auto slash = rest.find('/');
  auto hostport = rest.substr(0, slash);
  if (auto colon = hostport.rfind(':'); colon != std::string::npos)
    u.port = static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1)));
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (auto q = u.target.find('?'); q != std::string::npos)
    u.query = u.target.substr(q + 1);
  return u;
}

class mailchimp_connect : public service_fixture {
protected:
  void SetUp() override {
    service_fixture::SetUp();
    a = signup("chimp");
    login(a);
  }
  void login(const account& acc) {
    auto r =
        call("POST", "/api/v1/session",
             R"({"email":")" + acc.email + R"(","password":"correct horse"})");
    ASSERT_EQ(r.status, 200) << r.body;
    csrf = str(r.json()["csrf_token"]);
    auto set = r.header("set-cookie");
    cookie = set.substr(0, set.find(';'));
  }
  headers browser() {
    // The dashboard is open at http://localhost:3000, one of the default
    // redirect URIs.
    return {{"cookie", cookie}, {"host", "localhost:3000"}};
  }
  /// Connect → Mailchimp's approve form → the redirect back; returns the
  /// callback target.
  std::string approve(const std::string& decision = "allow") {
    auto start =
        call("GET", "/api/v1/integrations/mailchimp/connect", {}, browser());
    EXPECT_EQ(start.status, 302) << start.body;
    auto to_mailchimp = split(start.header("location"));
    EXPECT_EQ(to_mailchimp.param("redirect_uri"),
              "http://localhost:3000/dashboard/email-collection");
    EXPECT_GE(to_mailchimp.param("state").size(), 22u); // >= 128 bits
    auto page = send(to_mailchimp.port, "GET", to_mailchimp.target);
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("<form"), std::string::npos);
    auto form =
        "response_type=code&client_id=" + client_id + "&redirect_uri=" +
        ls::form::percent_encode(to_mailchimp.param("redirect_uri")) +
        "&state=" + ls::form::percent_encode(to_mailchimp.param("state")) +
        "&decision=" + decision;
    auto back = send(to_mailchimp.port, "POST", "/oauth2/authorize", form,
                     {{"content-type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(back.status, 302) << back.body;
    auto location = back.header("location");
    EXPECT_EQ(
        location.rfind("http://localhost:3000/dashboard/email-collection?", 0),
        0u)
        << location;
    return split(location).target;
  }
  std::string finish(const std::string& callback) {
    auto r = call("GET", callback, {}, browser());
    EXPECT_EQ(r.status, 303) << r.body;
    return r.header("location");
  }
  /// A call to the in-process simulator's control surface.
  reply sim(const std::string& method, const std::string& target,
            const std::string& body = {}) {
    return send(split(svc->sandbox_url()).port, method, target, body,
                sim_auth(sim_token()));
  }
  /// The configured control token, or the random one the service wrote next
  /// to its data.
  std::string sim_token() const {
    if (!cfg.mailchimp.sandbox_control_token.empty())
      return cfg.mailchimp.sandbox_control_token;
    std::ifstream f{cfg.storage.path + "/sandbox-control-token"};
    std::string token;
    std::getline(f, token);
    return token;
  }
  /// Connects account `a` and chooses the sandbox audience called `name`;
  /// returns its id ("" on failure, with the failures recorded).
  std::string connect_and_choose(const std::string& name = "Newsletter") {
    EXPECT_EQ(finish(approve()),
              "/dashboard/email-collection?mailchimp=connected");
    auto lists = as(a.token, "GET", "/api/v1/integrations/mailchimp/audiences");
    auto lj = lists.json();
    std::string id;
    for (auto l : simdjson::dom::array(lj["items"]))
      if (str(l["name"]) == name) id = str(l["id"]);
    EXPECT_FALSE(id.empty()) << lists.body;
    EXPECT_EQ(as(a.token, "PUT", "/api/v1/integrations/mailchimp/audience",
                 R"({"audience_id":")" + id + "\"}")
                  .status,
              200);
    return id;
  }

  account a;
  std::string cookie, csrf;
  std::string client_id = "sandbox-client";
};

} // namespace ls::test
