// The whole service in one object: storage, the actor system, the STORE and
// supervisor actors, and the HTTP server. main() runs one; integration tests
// run one in process.
#pragma once

#include "config/config.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace ls {

/// Settings that are not configuration: tests shorten them.
struct service_options {
  std::chrono::milliseconds oauth_state_lifetime = std::chrono::minutes(10);
  /// Wall clock (Unix µs) for OAuth state expiry; tests move it forward instead
  /// of sleeping. Empty: the system clock.
  std::function<int64_t()> oauth_clock;
  /// The waits between webhook retries; empty: the real schedule (5 s … 24 h).
  std::vector<std::chrono::milliseconds> webhook_schedule;
  /// The first retry backoff towards Mailchimp (it doubles, with jitter).
  std::chrono::milliseconds retry_base = std::chrono::seconds(1);
};

class service {
public:
  /// Opens storage and starts everything; throws on failure (port in use, bad
  /// storage). `on_fatal` runs (on some thread) when a core actor dies.
  explicit service(const config::config& cfg,
                   std::function<void(std::string)> on_fatal = {},
                   service_options opts = {});
  ~service(); ///< stop()
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  uint16_t port() const;
  /// The in-process Mailchimp simulator's base URL in sandbox mode, else "".
  std::string sandbox_url() const;
  /// Graceful stop: stop accepting, let in-flight requests finish (up to
  /// `grace`), stop the actors, sync and close LMDB. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace ls
