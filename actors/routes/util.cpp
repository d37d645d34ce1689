#include "actors/routes/util.hpp"

#include "actors/webhooks.hpp"
#include "http/codec/time.hpp"

#include <algorithm>
#include <atomic>
#include <caf/all.hpp>
#include <charconv>
#include <mutex>
#include <spdlog/spdlog.h>

namespace ls::api {

std::optional<value> json_body(call& c) {
  auto* ct = c.req.header("content-type");
  if (!ct || ct->find("json") == std::string::npos) {
    c.problem(415, "send the body as JSON with Content-Type: application/json");
    return std::nullopt;
  }
  std::string error;
  auto v = parse_json(c.req.body, error);
  if (!v) {
    c.problem(400, error);
    return std::nullopt;
  }
  if (v->kind != value::object) {
    c.problem(422, "the body must be a JSON object");
    return std::nullopt;
  }
  return v;
}

void write_account(json::writer& w, const store::account& a) {
  w.begin_object()
      .key("id")
      .value(a.id)
      .key("email")
      .value(a.email)
      .key("handle")
      .value(a.handle)
      .key("created_at")
      .value(timefmt::rfc3339(a.created_at))
      .end_object();
}

void write_campaign(json::writer& w, const store::campaign& c) {
  w.begin_object()
      .key("id")
      .value(c.id)
      .key("name")
      .value(c.name)
      .key("slug")
      .value(c.slug)
      .key("fields")
      .begin_array();
  for (auto& f : c.fields) {
    w.begin_object()
        .key("key")
        .value(f.key)
        .key("label")
        .value(f.label)
        .key("type")
        .value(f.type)
        .key("required")
        .value(f.required);
    if (f.type == "select") {
      w.key("options").begin_array();
      for (auto& o : f.options)
        w.value(o);
      w.end_array();
    }
    w.end_object();
  }
  w.end_array().key("default_tags").begin_array();
  for (auto& t : c.default_tags)
    w.value(t);
  w.end_array()
      .key("created_at")
      .value(timefmt::rfc3339(c.created_at))
      .key("updated_at")
      .value(timefmt::rfc3339(c.updated_at))
      .end_object();
}

void write_subscriber(json::writer& w, const store::subscriber& s) {
  w.begin_object()
      .key("id")
      .value(s.id)
      .key("email")
      .string_or_null(s.email)
      .key("phone")
      .string_or_null(s.phone)
      .key("name")
      .string_or_null(s.name)
      .key("first_name")
      .string_or_null(s.first_name)
      .key("last_name")
      .string_or_null(s.last_name)
      .key("fields")
      .begin_object();
  for (auto& [k, v] : s.fields)
    w.key(k).value(v);
  w.end_object().key("tags").begin_array();
  for (auto& t : s.tags)
    w.value(t);
  w.end_array()
      .key("source")
      .string_or_null(s.source)
      .key("campaign_id")
      .string_or_null(s.campaign_id)
      .key("status")
      .value(s.status)
      .key("resubscribe_requested_at");
  if (s.resubscribe_request.at != 0)
    w.value(timefmt::rfc3339(s.resubscribe_request.at));
  else
    w.null();
  w.key("subscribed_at")
      .value(timefmt::rfc3339(s.subscribed_at))
      .key("updated_at")
      .value(timefmt::rfc3339(s.updated_at))
      .end_object();
}

bool read_paging(call& c, size_t& limit, std::string& cursor) {
  limit = 50;
  if (auto l = c.query("limit"); !l.empty()) {
    auto [ptr, ec] = std::from_chars(l.data(), l.data() + l.size(), limit);
    if (ec != std::errc{} || ptr != l.data() + l.size() || limit < 1 ||
        limit > 500) {
      c.problem(422, "limit must be 1 to 500",
                {{"limit", "must be a whole number from 1 to 500"}});
      return false;
    }
  }
  cursor.clear();
  if (auto raw = c.query("cursor"); !raw.empty()) {
    auto decoded = crypto::from_base64url(raw);
    if (!decoded) {
      c.problem(422, "the cursor is not valid",
                {{"cursor", "use next_cursor from a previous page"}});
      return false;
    }
    cursor = *decoded;
  }
  return true;
}

void write_next_cursor(json::writer& w, const std::string& raw_cursor) {
  w.key("next_cursor");
  if (raw_cursor.empty())
    w.null();
  else
    w.value(crypto::base64url(raw_cursor));
}

void too_many(call& c, unsigned wait_seconds, std::string_view detail) {
  auto r = http::problem(429, detail);
  r.set("retry-after", std::to_string(wait_seconds));
  c.reply(std::move(r));
}

std::string cookie(const http::request& req, std::string_view name) {
  for (auto& [k, v] : req.headers) {
    if (k != "cookie") continue;
    std::string_view s = v;
    while (!s.empty()) {
      auto semi = s.find(';');
      auto part = s.substr(0, semi);
      while (!part.empty() && part.front() == ' ')
        part.remove_prefix(1);
      auto eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name)
        return std::string{part.substr(eq + 1)};
      if (semi == std::string_view::npos) break;
      s.remove_prefix(semi + 1);
    }
  }
  return {};
}

namespace {

struct page_pull {
  std::shared_ptr<page_source> source;
  std::mutex mutex;
  http::body_stream::deliver_fn pending;
  bool cancelled = false;
  std::atomic<bool> broken{false}; ///< next_page() threw: the body is short
};

struct paged_stream : http::body_stream {
  std::shared_ptr<page_pull> pull_state;
  caf::actor maker;
  void pull(deliver_fn deliver) override {
    {
      std::lock_guard guard{pull_state->mutex};
      pull_state->pending = std::move(deliver);
    }
    caf::anon_send(maker, atom::next_v);
  }
  void cancel() override {
    {
      std::lock_guard guard{pull_state->mutex};
      pull_state->cancelled = true;
      pull_state->pending = nullptr;
    }
    caf::anon_send_exit(maker, caf::exit_reason::user_shutdown);
  }
  bool failed() const override { return pull_state->broken.load(); }
  ~paged_stream() override {
    caf::anon_send_exit(maker, caf::exit_reason::user_shutdown);
  }
};

caf::behavior page_maker(caf::event_based_actor* self,
                         std::shared_ptr<page_pull> st) {
  return {
      [=](atom::next) {
        http::body_stream::deliver_fn deliver;
        {
          std::lock_guard guard{st->mutex};
          if (st->cancelled) return self->quit();
          deliver = std::move(st->pending);
          st->pending = nullptr;
        }
        if (!deliver) return;
        bool last = false;
        std::string page;
        try {
          page = st->source->next_page(last);
        } catch (const std::exception& e) {
          // The connection is closed without the final chunk (failed()), so
          // the download shows as broken rather than as a shorter file.
          spdlog::error("download stopped part-way: {}", e.what());
          st->broken = true;
          page.clear();
          last = true;
        }
        deliver(std::move(page), last);
        if (last) self->quit();
      },
  };
}

} // namespace

void stream_pages(call& c, http::response head,
                  std::shared_ptr<page_source> source) {
  auto st = std::make_shared<page_pull>();
  st->source = std::move(source);
  auto body = std::make_shared<paged_stream>();
  body->pull_state = st;
  body->maker = c.a.sys->spawn(page_maker, st);
  c.stream(std::move(head), std::move(body));
}

void publish(call& c, event e) {
  if (c.a.bus) caf::anon_send(c.a.bus, atom::publish_v, std::move(e));
}

void nudge_webhooks(call& c, const std::string& account_id) {
  if (c.a.webhooks) caf::anon_send(c.a.webhooks, atom::next_v, account_id);
}

bool subscriber_outbox(store::database& db, lmdb::txn& t,
                       const std::string& type, const store::subscriber& s,
                       int64_t now_us) {
  return outbox(
      db, t, s.account_id, type, s.id,
      [&] {
        json::writer w;
        write_subscriber(w, s);
        return std::move(w).str();
      },
      now_us);
}

bool authenticate(call& c) {
  auto& db = *c.a.db;
  if (auto* auth = c.req.header("authorization")) {
    std::string_view v = *auth;
    constexpr std::string_view bearer = "Bearer ";
    if (v.size() > bearer.size() &&
        std::equal(bearer.begin(), bearer.end(), v.begin(), [](char a, char b) {
          return std::tolower(a) == std::tolower(b);
        })) {
      auto token = v.substr(bearer.size());
      if (auto acc = db.account_by_token_hash(crypto::sha256(token))) {
        c.who = principal{std::move(*acc), false, {}, api_token_credential};
        return true;
      }
    }
    c.problem(401, "the API token is not valid");
    return false;
  }
  auto token = cookie(c.req, "ls_session");
  if (token.empty()) {
    c.problem(401, "sign in, or send Authorization: Bearer <api_token>");
    return false;
  }
  auto session_hash = crypto::sha256(token);
  auto s = db.session_by_hash(session_hash);
  if (!s || s->expires_at < timefmt::now_us()) {
    c.problem(401, "your session has expired; please sign in again");
    return false;
  }
  auto acc = db.account_by_id(s->account_id);
  if (!acc) {
    c.problem(401, "your session has expired; please sign in again");
    return false;
  }
  auto& m = c.req.method;
  bool safe = m == "GET" || m == "HEAD" || m == "OPTIONS";
  if (!safe) {
    auto* csrf = c.req.header("x-csrf-token");
    if (!csrf || !crypto::equal_constant_time(*csrf, s->csrf_token)) {
      c.problem(403, "missing or wrong X-CSRF-Token header");
      return false;
    }
  }
  c.who = principal{std::move(*acc), true, s->csrf_token,
                    credential_of_session(session_hash)};
  return true;
}

} // namespace ls::api
