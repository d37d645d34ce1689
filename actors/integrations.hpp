#pragma once

#include "actors/interfaces.hpp"
#include "storage/crypto.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <memory>

namespace ls::http {
class client;
}

namespace ls {

struct fetcher_state {
  static inline const char* name = "fetcher";
  std::shared_ptr<http::client> client;
  size_t limit = 9;
  size_t in_flight = 0;
  uint64_t next_id = 1;
  std::deque<std::pair<mc_call, caf::typed_response_promise<mc_reply>>> queue;
  std::map<uint64_t, caf::typed_response_promise<mc_reply>> pending;
};

/// FETCHER with at most `limit` exchanges in flight.
fetcher_actor::behavior_type
fetcher_impl(fetcher_actor::stateful_pointer<fetcher_state> self,
             std::shared_ptr<http::client> client, size_t limit);

/// What the INTEGRATIONS actor needs.
struct integrations_config {
  std::shared_ptr<store::database> db;
  std::shared_ptr<http::client> client;
  store_actor store;
  crypto::secret_key key{};
  mailchimp::endpoints endpoints;
  size_t max_connections = 9;
  std::chrono::milliseconds request_timeout{120000};
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
