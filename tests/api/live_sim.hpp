// The standalone simulator (build/mailchimp-sim) and the real binary in live
// mode against it, for tests that kill the service: an app, a user with one
// audience, a config, and an account connected through the real OAuth flow.
#pragma once

#include "mailchimp_fixture.hpp"
#include "process.hpp"

#include <fstream>
#include <set>

namespace ls::test {

struct live_sim {
  child_process process;
  std::string list_id;

  /// `latency_ms` is added to every API call of the simulator.
  explicit live_sim(int latency_ms)
      : process{{std::string{LS_BINARY_DIR} + "/mailchimp-sim", "--listen",
                 "127.0.0.1:0", "--empty", "--latency-ms",
                 std::to_string(latency_ms), "--control-token", test_sim_token},
                R"(listening on http://127\.0\.0\.1:(\d+))"} {
    if (port() == 0) return;
    EXPECT_EQ(
        send(
            port(), "POST", "/_sim/apps",
            R"({"client_id":"live-app","client_secret":"live-secret-0123456789",
                     "redirect_uris":["http://localhost:3000/dashboard/email-collection"]})",
            sim_auth())
            .status,
        201);
    EXPECT_EQ(send(port(), "POST", "/_sim/users",
                   R"({"login":"creator","dc":"us7"})", sim_auth())
                  .status,
              201);
    auto list = send(port(), "POST", "/_sim/lists",
                     R"({"user":"creator","name":"Fans"})", sim_auth());
    list_id = str(list.json()["id"]);
  }

  uint16_t port() const { return process.port(); }
  std::string base() const {
    return "http://127.0.0.1:" + std::to_string(port());
  }

  /// The audience's email addresses, and how many members it has (a
  /// duplicate would make the count larger than the set).
  std::set<std::string> audience(size_t* count = nullptr) const {
    auto members = send(port(), "GET", "/_sim/lists/" + list_id + "/members",
                        {}, sim_auth());
    auto mj = members.json();
    std::set<std::string> emails;
    size_t n = 0;
    for (auto m : simdjson::dom::array(mj["members"])) {
      emails.insert(str(m["email_address"]));
      ++n;
    }
    if (count) *count = n;
    return emails;
  }

  /// A config file in `dir` for the service in live mode against this
  /// simulator; `extra` is appended (more TOML sections). A long-lived child
  /// should log little: nobody reads its output after the start.
  std::string write_config(const std::string& dir,
                           const std::string& extra = {},
                           const std::string& log_level = "info") const {
    auto path = dir + "/test.toml";
    std::ofstream f{path};
    f << "[server]\nlisten = \"127.0.0.1:0\"\n"
      << "[storage]\npath = \"" << dir << "/data\"\n"
      << "[security]\nsecret_key_file = \"" << dir << "/secret.key\"\n"
      << "[ratelimit]\nsubscribe_per_ip = 0\nsubscribe_per_handle = 0\n"
      << "[mailchimp]\nmode = \"live\"\nclient_id = \"live-app\"\n"
      << "client_secret = \"live-secret-0123456789\"\n"
      << "oauth_base_url = \"" << base() << "\"\napi_base_url = \"" << base()
      << "/3.0\"\n"
      << "batch_size = 50\nmax_connections = 2\n"
      << "[log]\nlevel = \"" << log_level << "\"\n"
      << extra;
    return path;
  }

  /// Signs up `handle` on the service at `port`, connects Mailchimp through
  /// the simulator's approve form and picks the audience; returns the API
  /// token ("" after a failure, which is recorded).
  std::string connect_account(uint16_t port, const std::string& handle) const {
    auto email = handle + "@gmail.com";
    auto signup =
        send(port, "POST", "/api/v1/accounts",
             R"({"email":")" + email +
                 R"(","password":"correct horse","handle":")" + handle + "\"}");
    EXPECT_EQ(signup.status, 201) << signup.body;
    if (signup.status != 201) return {};
    auto token = str(signup.json()["api_token"]);
    auto login =
        send(port, "POST", "/api/v1/session",
             R"({"email":")" + email + R"(","password":"correct horse"})");
    auto set = login.header("set-cookie");
    headers browser{{"cookie", set.substr(0, set.find(';'))},
                    {"host", "localhost:3000"}};
    auto to_mailchimp = split(
        send(port, "GET", "/api/v1/integrations/mailchimp/connect", {}, browser)
            .header("location"));
    auto back = send(
        this->port(), "POST", "/oauth2/authorize",
        "response_type=code&client_id=live-app&redirect_uri=" +
            ls::form::percent_encode(to_mailchimp.param("redirect_uri")) +
            "&state=" + ls::form::percent_encode(to_mailchimp.param("state")) +
            "&decision=allow",
        {{"content-type", "application/x-www-form-urlencoded"}});
    auto done =
        send(port, "GET", split(back.header("location")).target, {}, browser);
    EXPECT_EQ(done.header("location"),
              "/dashboard/email-collection?mailchimp=connected");
    EXPECT_EQ(send(port, "PUT", "/api/v1/integrations/mailchimp/audience",
                   R"({"audience_id":")" + list_id + "\"}",
                   {{"authorization", "Bearer " + token}})
                  .status,
              200);
    return token;
  }
};

} // namespace ls::test
