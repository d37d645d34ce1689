#include "actors/routes/api.hpp"

#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "http/codec/form.hpp"
#include "http/codec/time.hpp"
#include "storage/crypto.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <cctype>
#include <spdlog/spdlog.h>

namespace ls::api {

app::app(caf::actor_system& s, config::config c,
         std::shared_ptr<store::database> d, std::shared_ptr<metrics> m,
         store_actor st)
    : sys(&s), cfg(std::move(c)), db(std::move(d)), stats(std::move(m)),
      store(std::move(st)), subscribe_per_ip(cfg.ratelimit.subscribe_per_ip),
      subscribe_per_handle(cfg.ratelimit.subscribe_per_handle),
      signup_per_ip(cfg.ratelimit.signup_per_ip),
      connect_per_account(cfg.ratelimit.connect_per_account),
      cookie_secure(cfg.server.public_url.rfind("https://", 0) == 0) {}

int64_t app::oauth_now() const {
  return oauth_clock ? oauth_clock() : timefmt::now_us();
}

void call::reply(http::response r) {
  if (replied) return;
  replied = true;
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  a.stats->request_done(req.method,
                        route.pattern.empty() ? "unmatched" : route.pattern,
                        r.status, seconds);
  out->reply(std::move(r));
}

void call::stream(http::response head,
                  std::shared_ptr<http::body_stream> body) {
  if (replied) return;
  replied = true;
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  a.stats->request_done(req.method, route.pattern, head.status, seconds);
  out->stream(std::move(head), std::move(body));
}

void call::accept_websocket(std::shared_ptr<http::ws_handler> h) {
  if (replied) return;
  replied = true;
  auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  a.stats->request_done(req.method, route.pattern, 101, seconds);
  out->accept_websocket(std::move(h));
}

void call::json(unsigned status, std::string body) {
  http::response r;
  r.status = status;
  r.set("content-type", "application/json");
  r.set("cache-control", "no-store");
  r.body = std::move(body);
  reply(std::move(r));
}

void call::problem(unsigned status, std::string_view detail,
                   const std::vector<http::field_error>& errors) {
  reply(http::problem(status, detail, errors));
}

void call::fail(const store::outcome& o) {
  switch (o.code) {
  case store::outcome::ok:
    problem(500, "unexpected success");
    return;
  case store::outcome::not_found:
    problem(404, o.message);
    return;
  case store::outcome::conflict:
    if (o.field.empty())
      problem(409, o.message);
    else
      problem(409, o.message, {{o.field, o.message}});
    return;
  case store::outcome::invalid:
    problem(422, o.message, {{o.field, o.message}});
    return;
  case store::outcome::storage:
    problem(503, "storage is not available right now; please try again");
    return;
  }
}

std::string call::param(std::string_view name) const {
  auto raw = route.param(name);
  auto decoded = form::percent_decode(raw, false);
  return decoded ? *decoded : std::string{};
}

std::string call::query(std::string_view name) const {
  auto pairs = form::parse(req.query);
  if (!pairs) return {};
  auto v = form::first(*pairs, name);
  return v ? *v : std::string{};
}

void healthz(caf::event_based_actor*, call_ptr c) {
  if (c->a.db->healthy())
    c->json(200, R"({"status":"ok"})");
  else
    c->json(503,
            R"({"status":"unavailable","detail":"storage is not usable"})");
}

void metrics_text(caf::event_based_actor*, call_ptr c) {
  // Open when metrics.token is empty: scrapers set up before the key keep
  // working.
  if (const auto& expected = c->a.cfg.metrics.token; !expected.empty()) {
    std::string_view given;
    if (auto* auth = c->req.header("authorization")) {
      constexpr std::string_view bearer = "Bearer ";
      std::string_view v = *auth;
      if (v.size() > bearer.size() &&
          std::equal(bearer.begin(), bearer.end(), v.begin(),
                     [](unsigned char a, unsigned char b) {
                       return std::tolower(a) == std::tolower(b);
                     }))
        given = v.substr(bearer.size());
    }
    if (given.empty() || !crypto::equal_constant_time(given, expected))
      return c->reply(
          http::problem(401, "send Authorization: Bearer <metrics.token>")
              .set("www-authenticate", "Bearer"));
  }
  http::response r;
  r.set("content-type", "text/plain; version=0.0.4");
  r.body = c->a.stats->render();
  c->reply(std::move(r));
}

namespace {

struct route_def {
  const char* method;
  const char* pattern;
  handler_fn fn;
  bool needs_auth;
};

const route_def routes[] = {
    {"GET", "/healthz", healthz, false},
    {"GET", "/metrics", metrics_text, false},
    {"POST", "/api/v1/accounts", signup, false},
    {"POST", "/api/v1/session", sign_in, false},
    {"DELETE", "/api/v1/session", sign_out, false},
    {"GET", "/api/v1/me", get_me, true},
    {"POST", "/api/v1/me/api-token", rotate_api_token, true},
    {"POST", "/api/v1/campaigns", create_campaign, true},
    {"GET", "/api/v1/campaigns", list_campaigns, true},
    {"GET", "/api/v1/campaigns/{id}", get_campaign, true},
    {"PUT", "/api/v1/campaigns/{id}", replace_campaign, true},
    {"DELETE", "/api/v1/campaigns/{id}", delete_campaign, true},
    {"GET", "/p/{handle}", profile_page, false},
    {"POST", "/api/v1/public/{handle}/subscribe", public_subscribe, false},
    {"GET", "/api/v1/subscribers", list_subscribers, true},
    {"GET", "/api/v1/subscribers/stats", subscriber_stats, true},
    {"GET", "/api/v1/subscribers/{id}", get_subscriber, true},
    {"PATCH", "/api/v1/subscribers/{id}", patch_subscriber, true},
    {"DELETE", "/api/v1/subscribers/{id}", delete_subscriber, true},
    {"GET", "/api/v1/exports/subscribers.csv", export_csv, true},
    {"GET", "/api/v1/integrations", integrations_overview, true},
    {"GET", "/api/v1/integrations/mailchimp/connect", mailchimp_connect, true},
    {"GET", "/api/v1/integrations/mailchimp/audiences", list_audiences, true},
    {"POST", "/api/v1/integrations/mailchimp/audiences", create_audience, true},
    {"PUT", "/api/v1/integrations/mailchimp/audience", choose_audience, true},
    {"DELETE", "/api/v1/integrations/mailchimp", mailchimp_disconnect, true},
    {"GET", "/dashboard/email-collection", dashboard_page, false},
    {"GET", "/dashboard/assets/{name}", dashboard_asset, false},
    {"POST", "/api/v1/sync-jobs", create_job, true},
    {"GET", "/api/v1/sync-jobs", list_jobs, true},
    {"GET", "/api/v1/sync-jobs/{id}", get_job, true},
    {"POST", "/api/v1/sync-jobs/{id}/cancel", cancel_job, true},
    {"POST", "/api/v1/sync-jobs/{id}/retry", retry_job, true},
    {"GET", "/api/v1/sync-jobs/{id}/file.csv", handoff_file, true},
    {"POST", "/api/v1/sync-jobs/{id}/complete", complete_job, true},
    {"PUT", "/api/v1/integrations/webhook", put_webhook, true},
    {"GET", "/api/v1/integrations/webhook", get_webhook, true},
    {"DELETE", "/api/v1/integrations/webhook", delete_webhook, true},
    {"POST", "/api/v1/integrations/webhook/rotate-secret",
     rotate_webhook_secret, true},
    {"POST", "/api/v1/integrations/webhook/test", test_webhook, true},
    {"GET", "/api/v1/integrations/webhook/deliveries", list_deliveries, true},
    {"POST", "/api/v1/integrations/webhook/deliveries/{id}/redeliver",
     redeliver, true},
    {"POST", "/api/v1/integrations/webhook/deliveries/replay",
     replay_deliveries, true},
    {"GET", "/api/v1/events", account_events, false},
    {"GET", "/admin/events", admin_events, false},
};

void bridge(caf::event_based_actor* self, call_ptr c, const route_def* r) {
  try {
    if (r->needs_auth && !authenticate(*c)) return;
    r->fn(self, c);
  } catch (const std::exception& e) {
    spdlog::error("api: {} {}: {}", c->req.method, c->route.pattern, e.what());
    c->problem(500, "internal error");
  }
}

} // namespace

http::request_handler make_handler(app& a) {
  auto table = std::make_shared<http::router>();
  for (size_t i = 0; i < std::size(routes); ++i)
    table->add(routes[i].method, routes[i].pattern, static_cast<int>(i));
  return [&a, table](http::request&& req, http::responder_ptr out) {
    auto m = table->match(req.method, req.path);
    if (m.result != http::route_match::found) {
      auto r = m.result == http::route_match::method_not_allowed
                   ? http::problem(405, "this path does not take " + req.method)
                   : http::problem(404, "no such endpoint");
      if (m.result == http::route_match::method_not_allowed)
        r.set("allow", m.allow);
      a.stats->request_done(req.method, "unmatched", r.status, 0);
      out->reply(std::move(r));
      return;
    }
    if (!req.query.empty() && !form::parse(req.query)) {
      auto r = http::problem(400, "the query string has a malformed %-escape");
      a.stats->request_done(req.method, m.pattern, r.status, 0);
      out->reply(std::move(r));
      return;
    }
    auto* def = &routes[m.route];
    auto c =
        std::make_shared<call>(a, std::move(req), std::move(out), std::move(m));
    // Never a thread per request: blocking work goes to a WORKER POOL.
    a.sys->spawn(bridge, std::move(c), def);
  };
}

} // namespace ls::api
