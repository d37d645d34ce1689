// HTTP endpoints as actor work: the router maps a request to a handler, which
// runs inside a short-lived bridge actor (so no io thread ever waits on an
// actor) and answers through the request's responder.
#pragma once

#include "actors/interfaces.hpp"
#include "actors/metrics.hpp"
#include "actors/ratelimit.hpp"
#include "config/config.hpp"
#include "http/codec/problem.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "storage/crypto.hpp"

#include <caf/fwd.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace ls::api {

/// What every handler may use. Lives as long as the HTTP server.
struct app {
  caf::actor_system* sys = nullptr;
  config::config cfg;
  std::shared_ptr<store::database> db;
  std::shared_ptr<metrics> stats;
  store_actor store;
  integrations_actor integrations;
  fetcher_actor oauth_fetcher;
  job_supervisor_actor jobs;
  event_bus_actor bus;
  webhook_actor webhooks;
  worker_pool_actor hasher;   ///< password hashing (argon2id)
  worker_pool_actor resolver; ///< DNS look-ups of webhook targets
  mailchimp::endpoints mailchimp_endpoints;
  crypto::secret_key secret_key{};
  rate_limiter subscribe_per_ip{0};
  rate_limiter subscribe_per_handle{0};
  rate_limiter signup_per_ip{0};
  rate_limiter connect_per_account{0};
  failure_throttle login_per_ip{20, std::chrono::minutes(15)};
  failure_throttle login_per_email{5, std::chrono::minutes(15)};
  std::chrono::seconds store_timeout{30};
  bool cookie_secure = false; ///< public_url is https
  std::chrono::milliseconds oauth_state_lifetime = std::chrono::minutes(10);
  std::function<int64_t()> oauth_clock; ///< empty: timefmt::now_us
  int64_t oauth_now() const;

  app(caf::actor_system& s, config::config c,
      std::shared_ptr<store::database> d, std::shared_ptr<metrics> m,
      store_actor st);
};

/// Who is calling: the account, and how it proved it.
struct principal {
  store::account account;
  bool via_session = false;
  std::string csrf_token; ///< of the session, when via_session
  /// What proved it, as events.hpp names credentials (for closing sockets
  /// when it is revoked).
  std::string credential;
};

/// One request in flight.
struct call {
  app& a;
  http::request req;
  http::responder_ptr out;
  http::route_match route;
  std::chrono::steady_clock::time_point started;
  std::optional<principal> who;
  bool replied = false;

  call(app& a, http::request r, http::responder_ptr o, http::route_match m)
      : a(a), req(std::move(r)), out(std::move(o)), route(std::move(m)),
        started(std::chrono::steady_clock::now()) {}
  /// Completes the request (once) and records metrics.
  void reply(http::response r);
  void stream(http::response head, std::shared_ptr<http::body_stream> body);
  /// Accepts the WebSocket handshake (101) and hands the socket to `h`.
  void accept_websocket(std::shared_ptr<http::ws_handler> h);
  void json(unsigned status, std::string body);
  void problem(unsigned status, std::string_view detail,
               const std::vector<http::field_error>& errors = {});
  /// A store outcome that is not ok, as the matching problem.
  void fail(const store::outcome& o);
  std::string param(std::string_view name) const; ///< decoded path parameter
  std::string
  query(std::string_view name) const; ///< decoded, first value or ""
};

using call_ptr = std::shared_ptr<call>;

/// The handler type: runs inside the bridge actor `self`.
using handler_fn = void (*)(caf::event_based_actor* self, call_ptr c);

/// Builds the request handler for the HTTP server.
http::request_handler make_handler(app& a);

} // namespace ls::api
