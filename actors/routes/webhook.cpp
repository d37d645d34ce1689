// The custom webhook: its settings, secret rotation, a test event, the
// delivery log and redelivery.
#include "actors/routes/api.hpp"
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "actors/webhooks.hpp"
#include "http/client/target_guard.hpp"
#include "http/codec/time.hpp"

#include <caf/all.hpp>

namespace ls::api {

namespace {

constexpr auto actor_timeout = std::chrono::seconds(30);
constexpr auto rotation_overlap = std::chrono::hours(24);

/// The endpoint as the API shows it; `secret` only on creation and rotation.
std::string webhook_json(const store::webhook_endpoint& w,
                         const std::string& secret = {}) {
  json::writer out;
  out.begin_object().key("url").value(w.url).key("events").begin_array();
  for (auto& e : w.events)
    out.value(e);
  out.end_array().key("status").value(w.status);
  out.key("secret").string_or_null(secret);
  out.key("disabled_reason").string_or_null(w.disabled_reason);
  out.key("failing_since");
  if (w.failing_since)
    out.value(timefmt::rfc3339(w.failing_since));
  else
    out.null();
  out.key("created_at").value(timefmt::rfc3339(w.created_at));
  out.key("updated_at").value(timefmt::rfc3339(w.updated_at));
  return std::move(out.end_object()).str();
}

void write_delivery(json::writer& w, const store::webhook_delivery& d) {
  w.begin_object().key("id").value(d.id);
  w.key("message_id").value(d.message_id).key("type").value(d.type);
  w.key("status").value(d.status);
  w.key("created_at").value(timefmt::rfc3339(d.created_at));
  w.key("next_attempt_at");
  if (d.status == "pending")
    w.value(timefmt::rfc3339(d.next_attempt_at));
  else
    w.null();
  w.key("attempts").begin_array();
  for (auto& a : d.attempts) {
    w.begin_object().key("at").value(timefmt::rfc3339(a.at));
    w.key("status");
    if (a.status)
      w.value(a.status);
    else
      w.null();
    w.key("error").string_or_null(a.error);
    w.key("duration_ms").value(a.duration_us / 1000);
    w.end_object();
  }
  w.end_array().key("payload").raw(d.body).end_object();
}

/// A fresh secret: 32 random bytes, sealed for storage, and the text shown.
std::pair<std::string, std::string> new_secret(const app& a) {
  auto raw = crypto::random_token(24); // 32 chars of base64url
  raw.resize(32);
  return {crypto::seal(a.secret_key, raw), format_secret(raw)};
}

void store_webhook(caf::event_based_actor* self, const call_ptr& c,
                   const std::string& url,
                   const std::vector<std::string>& events);

/// Replies with the webhook change's outcome: the endpoint, or the problem.
void reply_endpoint(const call_ptr& c, store::outcome& o,
                    const store::webhook_endpoint& w, unsigned status,
                    const std::string& secret = {}) {
  if (!o) return c->fail(o);
  c->json(status, webhook_json(w, secret));
}

} // namespace

void put_webhook(caf::event_based_actor* self, call_ptr c) {
  auto body = json_body(*c);
  if (!body) return;
  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  f.reject_unknown({"url", "events"});
  auto url = f.text("url", 2000, true);
  std::vector<std::string> events = webhook_event_types();
  if (auto* ev = f.raw("events")) {
    events.clear();
    if (ev->kind != value::array || ev->items.empty()) {
      f.error("events", "must be a non-empty array of event types");
    } else {
      for (auto& item : ev->items) {
        auto& known = webhook_event_types();
        if (item.kind != value::string ||
            std::find(known.begin(), known.end(), item.s) == known.end()) {
          f.error("events", "unknown event type (known: subscriber.created, "
                            "subscriber.updated, subscriber.unsubscribed, "
                            "subscriber.deleted, sync_job.completed, "
                            "sync_job.failed)");
          break;
        }
        if (std::find(events.begin(), events.end(), item.s) == events.end())
          events.push_back(item.s);
      }
    }
  }
  if (!errors.empty())
    return c->problem(422, "the webhook is not valid", errors);
  // Resolving the host may block for seconds: on the resolver pool.
  auto checked = std::make_shared<std::string>();
  offload(
      self, c, c->a.resolver,
      [checked, url = *url, allow = c->a.cfg.webhooks.allow_private_targets] {
        *checked = http::check_target(url, allow).error;
      },
      [self, c, checked, url = *url, events] {
        if (!checked->empty())
          return c->problem(422, "the webhook is not valid",
                            {{"url", *checked}});
        store_webhook(self, c, url, events);
      },
      [] {});
}

namespace {

void store_webhook(caf::event_based_actor* self, const call_ptr& c,
                   const std::string& url,
                   const std::vector<std::string>& events) {
  auto account = c->who->account.id;
  auto now = timefmt::now_us();
  auto [sealed, shown] = new_secret(c->a);
  struct result {
    store::webhook_endpoint w;
    bool created = false;
  };
  auto res = std::make_shared<result>();
  auto op =
      store::make_op([=, sealed = sealed](store::database& db, lmdb::txn& t) {
        auto changed =
            db.modify_webhook(t, account, [&](store::webhook_endpoint& w) {
              w.url = url;
              w.events = events;
              // Setting it again enables it and starts a fresh failure count.
              w.status = "active";
              w.disabled_reason.clear();
              w.failing_since = 0;
              w.updated_at = now;
              res->w = w;
            });
        if (changed) return changed;
        res->created = true;
        auto& w = res->w;
        w.account_id = account;
        w.url = url;
        w.events = events;
        w.sealed_secret = sealed;
        w.created_at = w.updated_at = now;
        return db.put_webhook(t, w);
      });
  write(self, c, op, [c, res, shown = shown](store::outcome& o) {
    reply_endpoint(c, o, res->w, res->created ? 201 : 200,
                   res->created ? shown : std::string{});
  });
}

} // namespace

void get_webhook(caf::event_based_actor*, call_ptr c) {
  auto w = c->a.db->webhook_of(c->who->account.id);
  if (!w) return c->problem(404, "no webhook is set");
  c->json(200, webhook_json(*w));
}

void delete_webhook(caf::event_based_actor* self, call_ptr c) {
  auto account = c->who->account.id;
  write(self, c, store::make_op([account](store::database& db, lmdb::txn& t) {
          return db.delete_webhook(t, account);
        }),
        [c](store::outcome& o) {
          if (!o) return c->fail(o);
          http::response r;
          r.status = 204;
          c->reply(std::move(r));
        });
}

void rotate_webhook_secret(caf::event_based_actor* self, call_ptr c) {
  auto account = c->who->account.id;
  auto now = timefmt::now_us();
  auto [sealed, shown] = new_secret(c->a);
  auto until = now + std::chrono::duration_cast<std::chrono::microseconds>(
                         rotation_overlap)
                         .count();
  auto res = std::make_shared<store::webhook_endpoint>();
  auto op =
      store::make_op([=, sealed = sealed](store::database& db, lmdb::txn& t) {
        return db.modify_webhook(t, account, [&](store::webhook_endpoint& w) {
          // For a day both secrets sign, so receivers can switch over.
          w.sealed_previous = w.sealed_secret;
          w.previous_until = until;
          w.sealed_secret = sealed;
          w.updated_at = now;
          *res = w;
        });
      });
  write(self, c, op, [c, res, shown = shown](store::outcome& o) {
    reply_endpoint(c, o, *res, 200, shown);
  });
}

void test_webhook(caf::event_based_actor* self, call_ptr c) {
  auto account = c->who->account.id;
  if (!c->a.db->webhook_of(account))
    return c->problem(404, "no webhook is set");
  json::writer data;
  data.begin_object()
      .key("message")
      .value("A test event from LinkStacked: your endpoint works.")
      .end_object();
  auto d = std::make_shared<store::webhook_delivery>(make_delivery(
      account, "webhook.test", "", std::move(data).str(), timefmt::now_us()));
  write(self, c, store::make_op([d](store::database& db, lmdb::txn& t) {
          if (!db.webhook_of(d->account_id))
            return store::outcome::fail(store::outcome::not_found,
                                        "no webhook is set");
          return db.put_delivery(t, *d);
        }),
        [c, d](store::outcome& o) {
          if (!o) return c->fail(o);
          nudge_webhooks(*c, d->account_id);
          json::writer w;
          write_delivery(w, *d);
          c->json(202, std::move(w).str());
        });
}

void list_deliveries(caf::event_based_actor*, call_ptr c) {
  size_t limit = 0;
  std::string cursor;
  if (!read_paging(*c, limit, cursor)) return;
  auto status = c->query("status");
  if (!status.empty() && status != "pending" && status != "delivered" &&
      status != "failed")
    return c->problem(422, "status must be pending, delivered or failed",
                      {{"status", "must be pending, delivered or failed"}});
  auto page = c->a.db->deliveries(c->who->account.id, status, cursor, limit);
  if (!page) return c->problem(400, "the cursor is not valid");
  json::writer w;
  w.begin_object().key("items").begin_array();
  for (auto& d : page->items)
    write_delivery(w, d);
  w.end_array();
  write_next_cursor(w, page->next_cursor);
  c->json(200, std::move(w.end_object()).str());
}

void redeliver(caf::event_based_actor* self, call_ptr c) {
  self->request(c->a.webhooks, actor_timeout, atom::retry_v, c->who->account.id,
                c->param("id"))
      .then(
          [c](store::webhook_delivery& d) {
            json::writer w;
            write_delivery(w, d);
            c->json(202, std::move(w).str());
          },
          [c](caf::error& e) {
            c->problem(to_http_status(e), error_detail(e).empty()
                                              ? "cannot redeliver"
                                              : error_detail(e));
          });
}

void replay_deliveries(caf::event_based_actor* self, call_ptr c) {
  auto body = json_body(*c);
  if (!body) return;
  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  f.reject_unknown({"since"});
  auto since_text = f.text("since", 64, true);
  std::optional<int64_t> since;
  if (since_text) {
    since = timefmt::parse_rfc3339(*since_text);
    if (!since) f.error("since", "must be an RFC 3339 time");
  }
  if (!errors.empty())
    return c->problem(422, "the replay is not valid", errors);
  auto account = c->who->account.id;
  auto count = std::make_shared<size_t>(0);
  auto now = timefmt::now_us();
  write(self, c, store::make_op([=](store::database& db, lmdb::txn& t) {
          return db.replay_failed(t, account, *since, now, *count);
        }),
        [c, count, account](store::outcome& o) {
          if (!o) return c->fail(o);
          if (*count > 0) nudge_webhooks(*c, account);
          json::writer w;
          w.begin_object().key("replayed").value(uint64_t{*count}).end_object();
          c->json(202, std::move(w).str());
        });
}

} // namespace ls::api
