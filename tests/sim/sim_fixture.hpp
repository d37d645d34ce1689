// The simulator on our HTTP server over loopback, and a small client to talk to
// it.
#pragma once

#include "http/codec/form.hpp"
#include "http/server.hpp"
#include "http/sim/simulator.hpp"
#include "http/test_client.hpp"

#include <gtest/gtest.h>
#include <memory>
#include <simdjson.h>
#include <string>
#include <utility>
#include <vector>

namespace ls::mcsim::test {

using ls::http::test::client;
using ls::http::test::ms;
using ls::http::test::parsed_response;
using namespace std::chrono_literals;

/// A parsed JSON document; members are read with JSON pointers ("/lists/0/id").
class json {
public:
  explicit json(std::string_view text) {
    simdjson::padded_string padded(text);
    ok_ = !parser_.parse(padded).get(root_);
  }
  bool ok() const { return ok_; }
  bool has(std::string_view ptr) const {
    simdjson::dom::element e;
    return ok_ && !root_.at_pointer(ptr).get(e);
  }
  std::string str(std::string_view ptr) const {
    std::string_view s;
    if (!ok_ || root_.at_pointer(ptr).get_string().get(s)) return "<none>";
    return std::string(s);
  }
  int64_t num(std::string_view ptr) const {
    int64_t n = 0;
    if (!ok_ || root_.at_pointer(ptr).get_int64().get(n)) return -999999;
    return n;
  }
  bool boolean(std::string_view ptr) const {
    bool b = false;
    if (!ok_ || root_.at_pointer(ptr).get_bool().get(b)) return false;
    return b;
  }
  bool is_null(std::string_view ptr) const {
    simdjson::dom::element e;
    return ok_ && !root_.at_pointer(ptr).get(e) && e.is_null();
  }
  size_t size(std::string_view ptr) const {
    simdjson::dom::element e;
    if (!ok_ || root_.at_pointer(ptr).get(e)) return 0;
    if (e.is_array()) return simdjson::dom::array(e).size();
    if (e.is_object()) return simdjson::dom::object(e).size();
    return 0;
  }

private:
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

struct reply {
  int status = 0; ///< 0: no response (closed, timeout)
  std::string body;
  parsed_response raw;
  std::shared_ptr<json> doc;

  std::string header(std::string_view name) const { return raw.header(name); }
  const json& j() const { return *doc; }
  std::string str(std::string_view ptr) const { return doc->str(ptr); }
  int64_t num(std::string_view ptr) const { return doc->num(ptr); }
  size_t size(std::string_view ptr) const { return doc->size(ptr); }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

inline std::string raw_request(uint16_t port, std::string_view method,
                               std::string_view target, std::string_view body,
                               const header_list& headers,
                               bool keep_alive = false) {
  std::string r;
  r += method;
  r += ' ';
  r += target;
  r += " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
  if (!keep_alive) r += "Connection: close\r\n";
  bool has_type = false;
  for (auto& [k, v] : headers) {
    if (k == "content-type" || k == "Content-Type") has_type = true;
    r += k + ": " + v + "\r\n";
  }
  if (!body.empty() && !has_type) r += "Content-Type: application/json\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

inline reply to_reply(std::optional<parsed_response> r) {
  reply out;
  if (!r) return out;
  out.status = r->status;
  out.body = r->body;
  out.raw = std::move(*r);
  out.doc = std::make_shared<json>(out.body);
  return out;
}

inline options empty_options() {
  options o;
  o.seed_defaults = false;
  return o;
}

class sim_test : public ::testing::Test {
protected:
  /// Starts a simulator (and its server) with `o`; SetUp starts one with the
  /// defaults.
  void start(options o = {}) {
    server_.reset();
    sim_.reset();
    sim_ = std::make_unique<simulator>(std::move(o));
    http::server_options so;
    so.listen = "127.0.0.1:0";
    so.threads = 2;
    so.body_limit = 8 * 1024 * 1024;
    server_ = std::make_unique<http::server>(so, sim_->handler());
    server_->start();
    port_ = server_->port();
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    sim_->set_base_url(base_);
  }

  void SetUp() override { start(); }
  void TearDown() override {
    if (server_) server_->stop(1s);
    server_.reset();
    sim_.reset();
  }

  reply call(std::string_view method, std::string_view target,
             std::string_view body = {}, const header_list& headers = {}) {
    client c(port_);
    return to_reply(
        c.roundtrip(raw_request(port_, method, target, body, headers)));
  }

  /// An API call with a Bearer token.
  reply api(std::string_view method, std::string_view target,
            const std::string& token, std::string_view body = {}) {
    return call(method, target, body, {{"Authorization", "Bearer " + token}});
  }

  /// A control-surface call, with the control token.
  reply ctl(std::string_view method, std::string_view target,
            std::string_view body = {}) {
    return call(method, target, body, control_auth());
  }

  /// The header that opens the control surface.
  header_list control_auth() const {
    return {{"Authorization", "Bearer " + sim_->control_token()}};
  }

  std::string token_for(const std::string& login = {}) {
    auto r = ctl("POST", "/_sim/tokens",
                 login.empty() ? "{}" : R"({"user":")" + login + "\"}");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.str("/access_token");
  }

  /// The id of the seeded audience with this name.
  std::string list_id(const std::string& name) {
    auto r = ctl("GET", "/_sim/lists");
    for (size_t i = 0; i < r.size("/lists"); ++i)
      if (r.str("/lists/" + std::to_string(i) + "/name") == name)
        return r.str("/lists/" + std::to_string(i) + "/id");
    ADD_FAILURE() << "no list " << name;
    return {};
  }

  std::unique_ptr<simulator> sim_;
  std::unique_ptr<http::server> server_;
  uint16_t port_ = 0;
  std::string base_;
};

} // namespace ls::mcsim::test
