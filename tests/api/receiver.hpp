// An HTTP endpoint on loopback that records what it gets, for webhook tests.
#pragma once

#include "http/server.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ls::test {

/// An HTTP endpoint that records what it gets and answers from a script
/// (then 204). A status of 0 means: never answer.
class receiver {
public:
  receiver() {
    ls::http::server_options o;
    o.listen = "127.0.0.1:0";
    o.threads = 1;
    srv_ = std::make_unique<ls::http::server>(
        o, [this](ls::http::request&& r, ls::http::responder_ptr out) {
          unsigned status = 204;
          {
            std::lock_guard lk(mu_);
            got_.push_back(r);
            if (!script_.empty()) {
              status = script_.front();
              script_.pop_front();
            }
            cv_.notify_all();
          }
          if (status == 0) {
            std::lock_guard lk(mu_);
            held_.push_back(std::move(out)); // hangs until the test ends
            return;
          }
          ls::http::response res;
          res.status = status;
          if (status == 302) res.set("location", "http://127.0.0.1:1/");
          out->reply(std::move(res));
        });
    srv_->start();
  }
  ~receiver() { srv_->stop(std::chrono::milliseconds(100)); }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(srv_->port()) + "/hook";
  }
  void answer(std::initializer_list<unsigned> statuses) {
    std::lock_guard lk(mu_);
    script_.insert(script_.end(), statuses);
  }
  /// The n-th request (0-based), waiting for it with a deadline.
  std::optional<ls::http::request>
  nth(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return got_.size() > n; }))
      return std::nullopt;
    return got_[n];
  }
  /// What was received after the first `n`.
  std::vector<ls::http::request> since(size_t n) {
    std::lock_guard lk(mu_);
    if (n >= got_.size()) return {};
    return {got_.begin() + static_cast<std::ptrdiff_t>(n), got_.end()};
  }
  size_t count() {
    std::lock_guard lk(mu_);
    return got_.size();
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ls::http::request> got_;
  std::deque<unsigned> script_;
  std::vector<ls::http::responder_ptr> held_;
  std::unique_ptr<ls::http::server> srv_;
};

} // namespace ls::test
