// An in-process service on a loopback port with a fresh LMDB folder, and a
// small client.
#pragma once

#include "actors/service.hpp"
#include "http/codec/form.hpp"
#include "http/test_client.hpp"

#include <cctype>
#include <filesystem>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <simdjson.h>
#include <string>

namespace ls::test {

/// A parsed JSON body that owns its parser, so it outlives the reply it came
/// from.
struct json_doc {
  std::shared_ptr<simdjson::dom::parser> parser;
  simdjson::dom::element root;
  simdjson::simdjson_result<simdjson::dom::element>
  operator[](std::string_view k) const {
    return root[k];
  }
  operator simdjson::dom::element() const { return root; }
  /// Parses `text` (a failure is recorded and leaves an empty document).
  static json_doc parse(const std::string& text) {
    json_doc d{std::make_shared<simdjson::dom::parser>(), {}};
    auto r = d.parser->parse(text);
    if (r.error())
      ADD_FAILURE() << "not JSON: " << text;
    else
      d.root = r.value_unsafe();
    return d;
  }
};

struct reply {
  int status = 0;
  std::string body;
  http::test::parsed_response raw;
  std::string header(std::string_view n) const { return raw.header(n); }
  json_doc json() const { return json_doc::parse(body); }
};

inline std::string temp_dir(const std::string& tag) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             ("ls-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

/// The control token (/_sim/) of the simulators the tests start, in process and
/// standalone.
inline const std::string test_sim_token = "test-sim-control-token-0123456789";

/// The header that opens a simulator's control surface.
inline std::map<std::string, std::string>
sim_auth(const std::string& token = test_sim_token) {
  return {{"authorization", "Bearer " + token}};
}

inline config::config test_config(const std::string& dir) {
  config::config cfg;
  cfg.server.listen = "127.0.0.1:0";
  cfg.server.threads = 2;
  cfg.storage.path = dir + "/data";
  cfg.storage.map_size = 64ull << 20;
  cfg.security.secret_key_file = dir + "/secret.key";
  cfg.ratelimit.subscribe_per_ip = 0;
  cfg.ratelimit.subscribe_per_handle = 0;
  cfg.ratelimit.signup_per_ip = 0;
  cfg.ratelimit.connect_per_account = 0;
  cfg.log.level = "warn";
  cfg.mailchimp.sandbox_listen = "127.0.0.1:0";
  cfg.mailchimp.sandbox_control_token = test_sim_token;
  return cfg;
}

using headers = std::map<std::string, std::string>;

/// One request on a fresh connection; status 0 when the server did not answer.
inline reply send(uint16_t port, const std::string& method,
                  const std::string& target, const std::string& body = {},
                  headers h = {}) {
  if (!body.empty() && !h.count("content-type"))
    h["content-type"] = "application/json";
  if (!h.count("host")) h["host"] = "127.0.0.1";
  std::string raw = method + " " + target + " HTTP/1.1\r\n";
  for (auto& [k, v] : h)
    raw += k + ": " + v + "\r\n";
  raw += "Content-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
  http::test::client c{port};
  reply r;
  auto resp = c.roundtrip(raw, method == "HEAD");
  if (!resp) return r;
  r.status = resp->status;
  r.body = resp->body;
  r.raw = *resp;
  return r;
}

class service_fixture : public ::testing::Test {
protected:
  void SetUp() override {
    dir = temp_dir("api");
    cfg = test_config(dir);
    adjust(cfg);
    svc = std::make_unique<ls::service>(cfg, nullptr, svc_opts);
    port = svc->port();
  }
  void TearDown() override {
    svc.reset();
    std::filesystem::remove_all(dir);
  }
  /// Tests may change the config before the service starts.
  virtual void adjust(config::config&) {}

  void restart() {
    svc.reset();
    svc = std::make_unique<ls::service>(cfg, nullptr, svc_opts);
    port = svc->port();
  }

  reply call(const std::string& method, const std::string& target,
             const std::string& body = {}, headers h = {}) {
    return send(port, method, target, body, std::move(h));
  }
  reply as(const std::string& token, const std::string& method,
           const std::string& target, const std::string& body = {},
           headers h = {}) {
    h["authorization"] = "Bearer " + token;
    return send(port, method, target, body, std::move(h));
  }

  struct account {
    std::string id, token, handle, email;
  };
  account signup(const std::string& handle) {
    account a;
    a.handle = handle;
    a.email = handle + "@example.org";
    auto r =
        call("POST", "/api/v1/accounts",
             R"({"email":")" + a.email +
                 R"(","password":"correct horse","handle":")" + handle + "\"}");
    EXPECT_EQ(r.status, 201) << r.body;
    auto j = r.json();
    a.id = std::string{std::string_view(j["account"]["id"])};
    a.token = std::string{std::string_view(j["api_token"])};
    return a;
  }
  /// A public signup; on 202 the subscriber's id, found through the
  /// account's own API (the public answer is the same for new and known
  /// addresses, without an id).
  std::string subscribe(const account& a, const std::string& json_body,
                        int expect = 202) {
    auto r =
        call("POST", "/api/v1/public/" + a.handle + "/subscribe", json_body);
    EXPECT_EQ(r.status, expect) << r.body;
    if (r.status != 202) return {};
    return subscriber_id_of(a, json_body);
  }

  /// The id of the subscriber a signup body names (by its email, else its
  /// phone's digits); "" when there is none.
  std::string subscriber_id_of(const account& a, const std::string& json_body) {
    simdjson::dom::parser p;
    auto body = p.parse(json_body);
    std::string email, phone;
    if (std::string_view v; !body["email"].get(v)) email = v;
    if (std::string_view v; !body["phone"].get(v)) phone = v;
    auto digits = [](std::string_view s) {
      std::string d;
      for (char ch : s)
        if (ch >= '0' && ch <= '9') d.push_back(ch);
      return d;
    };
    auto trim_lower = [](std::string_view s) {
      std::string out;
      for (char ch : s)
        if (ch != ' ' && ch != '\t')
          out.push_back(static_cast<char>(std::tolower(ch)));
      return out;
    };
    email = trim_lower(email);
    auto wanted = digits(phone);
    auto list =
        as(a.token, "GET",
           "/api/v1/subscribers?limit=500" +
               (email.empty() ? "" : "&q=" + form::percent_encode(email)));
    EXPECT_EQ(list.status, 200) << list.body;
    if (list.status != 200) return {};
    simdjson::dom::parser lp;
    auto doc = lp.parse(list.body);
    for (auto item : simdjson::dom::array(doc["items"])) {
      std::string_view e, ph;
      bool has_email = !item["email"].get(e);
      bool has_phone = !item["phone"].get(ph);
      bool match = !email.empty() ? has_email && e == email
                                  : has_phone && !wanted.empty() &&
                                        digits(ph).ends_with(wanted);
      if (match) return std::string{std::string_view(item["id"])};
    }
    ADD_FAILURE() << "no subscriber for " << json_body;
    return {};
  }

  std::string dir;
  config::config cfg;
  ls::service_options svc_opts;
  std::unique_ptr<ls::service> svc;
  uint16_t port = 0;
};

inline std::string str(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view v;
  if (e.get(v)) return "<not a string>";
  return std::string{v};
}

} // namespace ls::test

namespace ls::test {
inline std::string str(simdjson::dom::element e) {
  return str(simdjson::simdjson_result<simdjson::dom::element>{std::move(e)});
}
} // namespace ls::test
