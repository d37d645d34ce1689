// Helpers shared by the endpoint files: reading request bodies (the input tree
// and field readers are in input.hpp), and the JSON shapes of the records.
#pragma once

#include "actors/errors.hpp"
#include "actors/events.hpp"
#include "actors/routes/api.hpp"
#include "actors/routes/input.hpp"
#include "http/codec/json.hpp"

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

namespace ls::api {

/// Reads the request body as JSON (415 unless the content type is JSON, 400
/// when malformed, 422 unless it is an object). On failure it has replied
/// already and returns nullopt.
std::optional<value> json_body(call& c);

void write_account(json::writer& w, const store::account& a);
void write_campaign(json::writer& w, const store::campaign& c);
void write_subscriber(json::writer& w, const store::subscriber& s);
void write_job(json::writer& w, const store::sync_job& j);

/// Reads ?limit= (1..500, default 50) and ?cursor= (opaque, from a previous
/// page) for a list endpoint. On bad values it has replied 422 and returns
/// false.
bool read_paging(call& c, size_t& limit, std::string& cursor);

/// Writes `"next_cursor":…` (null at the end).
void write_next_cursor(json::writer& w, const std::string& raw_cursor);

/// Authenticates the call (Bearer token or session cookie with CSRF for unsafe
/// methods). On failure it has replied 401/403 and returns false.
bool authenticate(call& c);

/// A response body made a page at a time (CSV downloads). The pages are made
/// on an actor, one per pull, and the socket's pace decides when the next
/// pull comes, so memory stays at one page whatever the list size.
struct page_source {
  virtual ~page_source() = default;
  /// The next page; `last` set on the final one. Throwing (storage failed)
  /// ends the body early: the client sees a short file, never a hang.
  virtual std::string next_page(bool& last) = 0;
};

/// Replies with `head` and the pages of `source` as a chunked body.
void stream_pages(call& c, http::response head,
                  std::shared_ptr<page_source> source);

/// Hands `e` to the EVENT BUS (after the change it describes is durable).
void publish(call& c, event e);

/// Tells WEBHOOK DELIVERY that the account's outbox got a message.
void nudge_webhooks(call& c, const std::string& account_id);

/// Inside a change: the subscriber's webhook message (see outbox()).
bool subscriber_outbox(store::database& db, lmdb::txn& t,
                       const std::string& type, const store::subscriber& s,
                       int64_t now_us);

/// Replies 429 with `detail` and Retry-After: `wait_seconds` (a rate limit).
void too_many(call& c, unsigned wait_seconds, std::string_view detail);

/// The value of cookie `name`, or "".
std::string cookie(const http::request& req, std::string_view name);

/// Sends `op` to the STORE and calls `then` with the outcome once it is
/// durable; timeouts and a dead store become a 503 problem.
template <class F>
void write(caf::event_based_actor* self, const call_ptr& c,
           store::write_op_ptr op, F then);

/// Runs blocking `work` on `pool` (a WORKER POOL), then `then()` in this
/// bridge. A pool with a full queue is 503 with Retry-After at once; `on_busy`
/// runs first (to give back what the caller took).
template <class F, class Busy>
void offload(caf::event_based_actor* self, const call_ptr& c,
             const worker_pool_actor& pool, std::function<void()> work, F then,
             Busy on_busy);

} // namespace ls::api

#include <caf/event_based_actor.hpp>

namespace ls::api {

template <class F>
void write(caf::event_based_actor* self, const call_ptr& c,
           store::write_op_ptr op, F then) {
  self->request(c->a.store, c->a.store_timeout, atom::write_v, std::move(op))
      .then([c, then](store::outcome& o) mutable { then(o); },
            [c](caf::error& err) {
              auto status = to_http_status(err);
              c->problem(status, status == 504
                                     ? "storage did not answer in time; please "
                                       "try again"
                                     : "storage is not available right now; "
                                       "please try again");
            });
}

template <class F, class Busy>
void offload(caf::event_based_actor* self, const call_ptr& c,
             const worker_pool_actor& pool, std::function<void()> work, F then,
             Busy on_busy) {
  self->request(pool, std::chrono::seconds(60), atom::run_v,
                blocking_work{std::move(work)})
      .then(
          [c, then, on_busy](bool ran) mutable {
            if (ran) return then();
            on_busy();
            c->problem(500, "internal error");
          },
          [c, on_busy](caf::error& err) mutable {
            on_busy();
            auto status = to_http_status(err);
            if (status == 503) {
              auto r = http::problem(
                  503, "the server is busy; please try again in a moment");
              r.set("retry-after", "1");
              return c->reply(std::move(r));
            }
            c->problem(status, "the request could not be completed");
          });
}

} // namespace ls::api
