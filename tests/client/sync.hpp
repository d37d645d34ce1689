// Waiting for client results in tests, with deadlines instead of sleeps.
#pragma once

#include "http/client/client.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <gtest/gtest.h>
#include <memory>

namespace ls::http::test {

using namespace std::chrono_literals;

/// A request with a deadline short enough that a broken test fails quickly.
inline client_request make_request(std::string url, std::string method = "GET",
                                   std::string body = "") {
  client_request r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  r.timeout = 5s;
  return r;
}

/// The response of one request, started now.
class pending {
public:
  pending(client& c, client_request r)
      : s_(std::make_shared<state>()), f_(s_->p.get_future()) {
    c.send(std::move(r), [s = s_](client_response res) {
      if (s->calls++ > 0) {
        ADD_FAILURE() << "done called twice";
        return;
      }
      s->p.set_value(std::move(res));
    });
  }

  client_response get(std::chrono::milliseconds timeout = 10s) {
    if (f_.wait_for(timeout) != std::future_status::ready) {
      ADD_FAILURE() << "no response in time";
      client_response r;
      r.error = "test: no response";
      return r;
    }
    return f_.get();
  }

private:
  struct state {
    std::promise<client_response> p;
    std::atomic<int> calls{0};
  };
  std::shared_ptr<state> s_;
  std::future<client_response> f_;
};

inline client_response fetch(client& c, client_request r) {
  return pending(c, std::move(r)).get();
}

} // namespace ls::http::test
