#pragma once

#include "actors/interfaces.hpp"
#include "storage/crypto.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>

namespace ls::http {
class client;
}

namespace ls {

/// When an exchange is tried again: 429, 5xx, 403 without a body, timeouts,
/// resets and refused connections, with jittered exponential backoff (full
/// jitter), a bounded number of times, so a struggling Mailchimp never sees a
/// retry storm.
struct retry_policy {
  unsigned max_attempts = 5;
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{30000};
  /// A draw in [0, 1] for the jitter; empty: uniform random. Tests pin it.
  std::function<double()> unit_random;
};

/// true when `r` is worth trying again.
bool retryable(const mc_reply& r);
/// The backoff before attempt `attempt` + 1 (attempt >= 1), jittered in [0,
/// min(cap, base·2^(attempt-1))].
std::chrono::milliseconds backoff(const retry_policy& p, unsigned attempt,
                                  double unit_random);

/// How a FETCHER runs one exchange: `done` gets the answer (on any thread).
/// Over the HTTP client in the service; a fake in the actor tests.
using transport =
    std::function<void(const mc_call&, std::function<void(mc_reply)> done)>;

/// Sends over `client`, whose io thread then calls `done`.
transport http_transport(std::shared_ptr<http::client> client);

struct fetcher_state {
  static inline const char* name = "fetcher";
  transport send;
  size_t limit = 9;
  retry_policy retries;
  size_t in_flight = 0;
  uint64_t next_id = 1;
  struct exchange {
    mc_call call;
    caf::typed_response_promise<mc_reply> promise;
    unsigned attempts = 0;
  };
  std::deque<uint64_t> queue; ///< ids waiting for a free slot, in order
  std::map<uint64_t, exchange> exchanges;
  uint64_t retried = 0;
};

/// FETCHER with at most `limit` exchanges in flight.
fetcher_actor::behavior_type
fetcher_impl(fetcher_actor::stateful_pointer<fetcher_state> self,
             transport send, size_t limit, retry_policy retries);

/// What the INTEGRATIONS actor needs.
struct integrations_config {
  std::shared_ptr<store::database> db;
  std::shared_ptr<http::client> client;
  store_actor store;
  crypto::secret_key key{};
  mailchimp::endpoints endpoints;
  size_t max_connections = 9;
  std::chrono::milliseconds request_timeout{120000};
  retry_policy retries;
};

struct integrations_state {
  static inline const char* name = "integrations";
  integrations_config cfg;
  fetcher_actor oauth_fetcher;
  std::map<std::string, fetcher_actor> fetchers; ///< by Mailchimp user id
  std::map<std::string, account_actor> accounts; ///< by LinkStacked account id
};

integrations_actor::behavior_type
integrations_impl(integrations_actor::stateful_pointer<integrations_state> self,
                  integrations_config cfg);

} // namespace ls
