#include "actors/webhooks.hpp"

#include "actors/errors.hpp"
#include "actors/events.hpp"
#include "http/client/client.hpp"
#include "http/client/target_guard.hpp"
#include "http/codec/json.hpp"
#include "http/codec/time.hpp"

#include <caf/all.hpp>
#include <random>
#include <spdlog/spdlog.h>

namespace ls {

const std::vector<std::string>& webhook_event_types() {
  static const std::vector<std::string> types = {
      "subscriber.created", "subscriber.updated", "subscriber.unsubscribed",
      "subscriber.deleted", "sync_job.completed", "sync_job.failed"};
  return types;
}

store::webhook_delivery make_delivery(const std::string& account_id,
                                      const std::string& type,
                                      const std::string& subject,
                                      const std::string& data_json,
                                      int64_t now_us) {
  store::webhook_delivery d;
  d.id = crypto::random_id("dlv_");
  d.account_id = account_id;
  d.message_id = crypto::random_id("msg_");
  d.type = type;
  d.subject = subject;
  d.created_at = now_us;
  d.next_attempt_at = now_us;
  json::writer w;
  w.begin_object().key("type").value(type);
  w.key("timestamp").value(timefmt::rfc3339(now_us));
  w.key("data").raw(data_json.empty() ? "{}" : data_json);
  d.body = std::move(w.end_object()).str();
  return d;
}

bool outbox(store::database& db, lmdb::txn& t, const std::string& account_id,
            const std::string& type, const std::string& subject,
            const std::function<std::string()>& data, int64_t now_us) {
  if (!db.webhook_wants(t, account_id, type)) return false;
  db.put_delivery(t, make_delivery(account_id, type, subject, data(), now_us));
  return true;
}

std::string format_secret(std::string_view raw) {
  return "whsec_" + crypto::base64(raw);
}

std::string sign(const std::vector<std::string>& secrets,
                 std::string_view message_id, int64_t timestamp_s,
                 std::string_view body) {
  std::string signed_content;
  signed_content.reserve(message_id.size() + body.size() + 24);
  signed_content.append(message_id)
      .append(".")
      .append(std::to_string(timestamp_s))
      .append(".")
      .append(body);
  std::string out;
  for (auto& s : secrets) {
    if (!out.empty()) out += ' ';
    out += "v1," + crypto::base64(crypto::hmac_sha256(s, signed_content));
  }
  return out;
}

namespace {

using hook_ptr = webhook_actor::stateful_pointer<webhook_state>;

constexpr auto store_timeout = std::chrono::seconds(60);

/// `d` jittered by ±10 %, so many failing messages do not retry in step.
int64_t jittered_us(std::chrono::milliseconds d) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  std::uniform_real_distribution<double> f(0.9, 1.1);
  return static_cast<int64_t>(static_cast<double>(us) * f(rng));
}

/// Seconds in a Retry-After header (delta-seconds only), capped at a day.
int64_t retry_after_us(const std::string& value) {
  if (value.empty() || value.size() > 9) return 0;
  int64_t s = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return 0;
    s = s * 10 + (c - '0');
  }
  return std::min<int64_t>(s, 86400) * 1000000;
}

void pump(hook_ptr self, const std::string& account);

/// Arms the timer for `due_us` unless an earlier one is armed.
void wake_at(hook_ptr self, int64_t due_us) {
  auto& st = self->state;
  auto now = timefmt::now_us();
  if (st.wake_at != 0 && st.wake_at <= due_us && st.wake_at > now) return;
  st.wake_at = due_us;
  auto wait = std::chrono::microseconds(std::max<int64_t>(0, due_us - now));
  self->delayed_send(self, wait + std::chrono::milliseconds(1), atom::retry_v);
}

using endpoint_change = std::function<void(store::webhook_endpoint&)>;

/// Stores the delivery (and changes the endpoint, when it is still the one
/// the attempt went to); then `then`.
template <class F>
void save(hook_ptr self, store::webhook_delivery d, endpoint_change change,
          std::string url, F then) {
  auto op = store::make_op([d, change, url](store::database& db, lmdb::txn& t) {
    if (change)
      db.modify_webhook(t, d.account_id, [&](store::webhook_endpoint& w) {
        if (w.url == url) change(w);
      });
    return db.put_delivery(t, d);
  });
  self->request(self->state.cfg.store, store_timeout, atom::write_v, op)
      .then(
          [=](store::outcome& o) mutable {
            if (!o)
              spdlog::error("webhooks: cannot store delivery {}: {}", d.id,
                            o.message);
            then();
          },
          [=](caf::error& e) mutable {
            spdlog::error("webhooks: cannot store delivery {}: {}", d.id,
                          caf::to_string(e));
            then();
          });
}

void finish_attempt(hook_ptr self, const std::string& account) {
  self->state.in_flight.erase(account);
  pump(self, account);
}

/// The delivery cannot go (no endpoint, disabled, bad target): it fails now.
void give_up(hook_ptr self, store::webhook_delivery d, std::string why) {
  auto now = timefmt::now_us();
  d.status = "failed";
  d.attempts.push_back({now, 0, std::move(why), 0});
  auto account = d.account_id;
  save(self, std::move(d), nullptr, {}, [=] { finish_attempt(self, account); });
}

void attempt(hook_ptr self, store::webhook_delivery d) {
  auto& st = self->state;
  auto endpoint = st.cfg.db->webhook_of(d.account_id);
  if (!endpoint) return give_up(self, std::move(d), "no webhook is set");
  if (endpoint->status != "active")
    return give_up(self, std::move(d),
                   "the endpoint is disabled (" + endpoint->disabled_reason +
                       "); set it again to enable it");
  auto now = timefmt::now_us();
  std::vector<std::string> secrets;
  if (auto s = crypto::open(st.cfg.key, endpoint->sealed_secret))
    secrets.push_back(std::move(*s));
  if (!endpoint->sealed_previous.empty() && endpoint->previous_until > now)
    if (auto s = crypto::open(st.cfg.key, endpoint->sealed_previous))
      secrets.push_back(std::move(*s));
  if (secrets.empty())
    return give_up(self, std::move(d), "the signing secret cannot be read");
  // Checked again at delivery: DNS may have changed since it was set.
  auto target = http::check_target(endpoint->url, st.cfg.allow_private);
  if (!target.error.empty()) {
    store::webhook_attempt a{now, 0, target.error, 0};
    self->send(self, atom::done_v, d.account_id, d.id, a, std::string{});
    return;
  }
  auto ts = now / 1000000;
  http::client_request req;
  req.method = "POST";
  req.url = endpoint->url;
  req.connect_address = target.addresses.front();
  req.timeout = st.cfg.timeout;
  req.body = d.body;
  req.headers = {
      {"content-type", "application/json"},
      {"webhook-id", d.message_id},
      {"webhook-timestamp", std::to_string(ts)},
      {"webhook-signature", sign(secrets, d.message_id, ts, d.body)}};
  webhook_actor hdl{self};
  auto account = d.account_id;
  auto id = d.id;
  auto started = std::chrono::steady_clock::now();
  st.cfg.client->send(std::move(req), [=](http::client_response r) {
    store::webhook_attempt a;
    a.at = now;
    a.status = r.status;
    a.error = r.error;
    a.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    std::string retry_after;
    if (auto* h = r.header("retry-after")) retry_after = *h;
    caf::anon_send(hdl, atom::done_v, account, id, std::move(a),
                   std::move(retry_after));
  });
}

/// Sends the account's oldest due message, unless one is on the wire. A
/// subject's later messages wait while an earlier one waits for its retry.
void pump(hook_ptr self, const std::string& account) {
  auto& st = self->state;
  if (st.in_flight.count(account)) return;
  auto now = timefmt::now_us();
  std::set<std::string> blocked;
  int64_t next_due = 0;
  std::optional<store::webhook_delivery> next;
  // Only up to the first one that can go is read: a backlog of thousands
  // costs one record per send, not all of them.
  st.cfg.db->visit_pending(account, [&](store::webhook_delivery& d) {
    if (!d.subject.empty() && blocked.count(d.subject)) return true;
    if (d.next_attempt_at > now) {
      if (!d.subject.empty()) blocked.insert(d.subject);
      if (next_due == 0 || d.next_attempt_at < next_due)
        next_due = d.next_attempt_at;
      return true;
    }
    next = std::move(d);
    return false;
  });
  if (next) {
    st.in_flight.insert(account);
    attempt(self, std::move(*next));
    return;
  }
  if (next_due != 0) wake_at(self, next_due);
}

void pump_all(hook_ptr self) {
  for (auto& a : self->state.cfg.db->pending_accounts())
    pump(self, a);
}

void on_done(hook_ptr self, const std::string& account, const std::string& id,
             store::webhook_attempt& a, const std::string& retry_after) {
  auto& st = self->state;
  auto d = st.cfg.db->delivery_by_id(account, id);
  if (!d) return finish_attempt(self, account);
  auto endpoint = st.cfg.db->webhook_of(account);
  auto now = timefmt::now_us();
  d->attempts.push_back(a);
  bool ok = a.error.empty() && a.status >= 200 && a.status < 300;
  endpoint_change change;
  std::string disabled_reason;
  if (ok) {
    d->status = "delivered";
    if (endpoint && endpoint->failing_since != 0)
      change = [](store::webhook_endpoint& w) { w.failing_since = 0; };
  } else {
    if (a.status >= 300 && a.status < 400 && a.error.empty())
      d->attempts.back().error = "redirects are not followed";
    auto failing_since = endpoint && endpoint->failing_since != 0
                             ? endpoint->failing_since
                             : now;
    if (a.status == 410)
      disabled_reason = "the endpoint answered 410 Gone";
    else if (now - failing_since >=
             std::chrono::duration_cast<std::chrono::microseconds>(
                 st.cfg.disable_after)
                 .count())
      disabled_reason = "every delivery failed for 5 days";
    change = [failing_since, disabled_reason, now](store::webhook_endpoint& w) {
      if (w.failing_since == 0) w.failing_since = failing_since;
      if (!disabled_reason.empty()) {
        w.status = "disabled";
        w.disabled_reason = disabled_reason;
        w.updated_at = now;
      }
    };
    // Retries so far: the attempts after the first.
    auto retries = d->attempts.size() - 1;
    if (!disabled_reason.empty() || retries >= st.cfg.schedule.size()) {
      d->status = "failed";
    } else {
      auto wait = jittered_us(st.cfg.schedule[retries]);
      if (a.status == 429 || a.status == 503)
        wait = std::max(wait, retry_after_us(retry_after));
      d->next_attempt_at = now + wait;
    }
  }
  if (!disabled_reason.empty() && endpoint && st.cfg.bus) {
    // The account is told: its sockets get the new status.
    json::writer w;
    w.begin_object().key("url").value(endpoint->url);
    w.key("status").value("disabled");
    w.key("disabled_reason").value(disabled_reason).end_object();
    caf::anon_send(
        st.cfg.bus, atom::publish_v,
        event{account, "webhook.disabled", "webhook", std::move(w).str()});
  }
  save(self, std::move(*d), std::move(change),
       endpoint ? endpoint->url : std::string{},
       [=] { finish_attempt(self, account); });
}

} // namespace

webhook_actor::behavior_type
webhook_impl(webhook_actor::stateful_pointer<webhook_state> self,
             webhook_config cfg) {
  self->state.cfg = std::move(cfg);
  // What was pending when the service stopped goes out now.
  pump_all(self);
  return {
      [=](atom::next, std::string& account) { pump(self, account); },
      [=](atom::done, std::string& account, std::string& id,
          store::webhook_attempt& a, std::string& retry_after) {
        on_done(self, account, id, a, retry_after);
      },
      [=](atom::retry) {
        self->state.wake_at = 0;
        pump_all(self);
      },
      [=](atom::retry, std::string& account,
          std::string& id) -> caf::result<store::webhook_delivery> {
        auto d = self->state.cfg.db->delivery_by_id(account, id);
        if (!d)
          return caf::make_error(ls_error::not_found,
                                 std::string{"no such delivery"});
        d->status = "pending";
        d->next_attempt_at = timefmt::now_us();
        auto rp = self->make_response_promise<store::webhook_delivery>();
        auto copy = *d;
        save(self, std::move(*d), nullptr, {}, [=]() mutable {
          rp.deliver(copy);
          pump(self, account);
        });
        return rp;
      },
  };
}

} // namespace ls
