// Live events on WebSockets: a socket's PROXY actor subscribes to the EVENT
// BUS and writes each event to the socket as a text frame.
#include "actors/events.hpp"

#include "actors/routes/api.hpp"
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "storage/crypto.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace ls::api {

namespace {

/// The PROXY of one socket: it holds the socket weakly, so a closed socket
/// only leaves a proxy that quits on its next event (or on_close's exit).
event_sink_actor::behavior_type
event_proxy(event_sink_actor::pointer self,
            std::weak_ptr<http::ws_channel> socket, event_bus_actor bus,
            std::string account, bool admin, std::string credential) {
  // Cut off by the bus (too slow): the socket closes with "policy violation".
  self->set_exit_handler([=](caf::exit_msg& em) {
    if (em.reason == ls_error::too_slow)
      if (auto s = socket.lock()) s->close(1008, "too slow: events piled up");
    self->quit(em.reason);
  });
  self->request(bus, std::chrono::seconds(30), atom::subscribe_v,
                event_sink_actor{self}, account, admin)
      .then(
          [=](bool) {
            // From here on nothing is missed: tell the client.
            if (auto s = socket.lock()) s->send(R"({"type":"ready"})");
          },
          [=](caf::error& e) {
            spdlog::error("events: cannot subscribe: {}", caf::to_string(e));
            if (auto s = socket.lock()) s->close(1011, "events unavailable");
            self->quit();
          });
  return {
      [=](atom::publish, event& e) {
        auto s = socket.lock();
        if (!s) {
          self->quit();
          return false;
        }
        if (e.type == credentials_revoked_type) {
          // The socket lives no longer than what opened it.
          if (!admin && (e.object == "*" || e.object == credential)) {
            s->close(close_revoked, "credentials revoked");
            self->quit();
          }
          return true;
        }
        s->send(admin ? admin_frame(e) : account_frame(e));
        return true;
      },
  };
}

class event_socket final : public http::ws_handler {
public:
  event_socket(caf::actor_system& sys, event_bus_actor bus, std::string account,
               bool admin, std::string credential = {})
      : sys_(sys), bus_(std::move(bus)), account_(std::move(account)),
        admin_(admin), credential_(std::move(credential)) {}
  ~event_socket() override { stop(); }

  void on_open(std::shared_ptr<http::ws_channel> channel) override {
    proxy_ = sys_.spawn(event_proxy, std::weak_ptr(channel), bus_, account_,
                        admin_, credential_);
  }
  void on_close() override { stop(); }

private:
  void stop() {
    if (proxy_) caf::anon_send_exit(proxy_, caf::exit_reason::user_shutdown);
    proxy_ = nullptr;
  }
  caf::actor_system& sys_;
  event_bus_actor bus_;
  std::string account_;
  bool admin_;
  std::string credential_;
  event_sink_actor proxy_;
};

/// The host of an Origin header ("https://a.example:3000" → "a.example:3000").
std::string_view origin_host(std::string_view origin) {
  auto scheme = origin.find("://");
  return scheme == std::string_view::npos ? origin : origin.substr(scheme + 3);
}

} // namespace

void account_events(caf::event_based_actor*, call_ptr c) {
  // Browsers cannot set headers on a WebSocket: a token may come in the query.
  auto token = c->query("access_token");
  if (!token.empty() && !c->req.header("authorization"))
    c->req.headers.emplace_back("authorization", "Bearer " + token);
  if (!authenticate(*c)) return;
  if (c->who->via_session) {
    // A cookie rides along on any page's WebSocket: only our own pages may
    // use it (cross-site WebSocket hijacking).
    auto* origin = c->req.header("origin");
    auto* host = c->req.header("host");
    if (origin && (!host || origin_host(*origin) != *host))
      return c->problem(403, "this page's origin may not open the event "
                             "stream; use an API token");
  }
  if (!c->req.websocket_upgrade)
    return c->reply(http::problem(426, "connect with a WebSocket")
                        .set("upgrade", "websocket"));
  c->accept_websocket(std::make_shared<event_socket>(
      *c->a.sys, c->a.bus, c->who->account.id, false, c->who->credential));
}

void admin_events(caf::event_based_actor*, call_ptr c) {
  auto& expected = c->a.cfg.admin.token;
  if (expected.empty())
    return c->problem(404, "the admin interface is off (admin.token is empty)");
  std::string given = c->query("access_token");
  if (auto* auth = c->req.header("authorization");
      auth && auth->rfind("Bearer ", 0) == 0)
    given = auth->substr(7);
  if (given.empty() || !crypto::equal_constant_time(given, expected))
    return c->problem(401, "send Authorization: Bearer <admin.token>");
  if (!c->req.websocket_upgrade)
    return c->reply(http::problem(426, "connect with a WebSocket")
                        .set("upgrade", "websocket"));
  c->accept_websocket(
      std::make_shared<event_socket>(*c->a.sys, c->a.bus, "", true));
}

} // namespace ls::api
