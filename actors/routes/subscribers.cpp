// Subscribers: list, get, patch, delete; and the streamed CSV download.
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "actors/webhooks.hpp"
#include "http/codec/csv.hpp"
#include "http/codec/form.hpp"
#include "http/codec/time.hpp"
#include "http/codec/validation.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <charconv>
#include <mutex>

namespace ls::api {

namespace {

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto comma = s.find(',');
    auto part = s.substr(0, comma);
    while (!part.empty() && part.front() == ' ')
      part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ')
      part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

/// Reads campaign / tag(s) / q from the query. Replies 4xx and returns false
/// when invalid.
bool read_filter(call& c, store::subscriber_filter& f, const char* tag_param) {
  f.campaign_id = c.query("campaign");
  if (!f.campaign_id.empty() &&
      !c.a.db->campaign_by_id(c.who->account.id, f.campaign_id)) {
    c.problem(404, "no such campaign");
    return false;
  }
  f.tags = split_list(c.query(tag_param));
  f.q = c.query("q");
  if (f.q.size() > 200) {
    c.problem(422, "the search is too long", {{"q", "at most 200 characters"}});
    return false;
  }
  return true;
}

} // namespace

void list_subscribers(caf::event_based_actor*, call_ptr c) {
  store::subscriber_filter filter;
  if (!read_filter(*c, filter, "tag")) return;
  size_t limit;
  std::string cursor;
  if (!read_paging(*c, limit, cursor)) return;
  auto page = c->a.db->subscribers(c->who->account.id, filter, cursor, limit);
  if (!page)
    return c->problem(422, "the cursor is not valid",
                      {{"cursor", "use next_cursor from a previous page"}});
  json::writer w;
  w.begin_object().key("items").begin_array();
  for (auto& s : page->items)
    write_subscriber(w, s);
  w.end_array();
  write_next_cursor(w, page->next_cursor);
  w.end_object();
  c->json(200, std::move(w).str());
}

void subscriber_stats(caf::event_based_actor*, call_ptr c) {
  store::subscriber_filter filter;
  if (!read_filter(*c, filter, "tag")) return;
  auto number = [&](const char* name, int64_t lo, int64_t hi, int64_t dflt,
                    int64_t& out) {
    auto raw = c->query(name);
    out = dflt;
    if (raw.empty()) return true;
    auto [ptr, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), out);
    if (ec == std::errc{} && ptr == raw.data() + raw.size() && out >= lo &&
        out <= hi)
      return true;
    auto msg = "must be a whole number from " + std::to_string(lo) + " to " +
               std::to_string(hi);
    c->problem(422, std::string{name} + " " + msg, {{name, msg}});
    return false;
  };
  int64_t days = 0, offset_min = 0;
  if (!number("days", 1, 366, 30, days) ||
      !number("utc_offset", -840, 840, 0, offset_min))
    return;
  // Days run midnight to midnight at the caller's UTC offset; the last one is
  // today.
  constexpr int64_t day_us = int64_t{86400} * 1000000;
  auto offset_us = offset_min * 60 * 1000000;
  auto local_now = timefmt::now_us() + offset_us;
  auto today =
      local_now >= 0 ? local_now / day_us : (local_now + 1) / day_us - 1;
  auto first_day = today - days + 1;
  std::vector<uint64_t> counts(static_cast<size_t>(days), 0);
  uint64_t total = 0;
  bool complete = c->a.db->signup_times(
      c->who->account.id, filter, first_day * day_us - offset_us, 1000000,
      [&](int64_t at) {
        auto local = at + offset_us;
        auto day = local >= 0 ? local / day_us : (local + 1) / day_us - 1;
        if (day < first_day || day > today) return;
        ++counts[static_cast<size_t>(day - first_day)];
        ++total;
      });
  json::writer w;
  w.begin_object().key("days").begin_array();
  for (int64_t i = 0; i < days; ++i)
    w.begin_object()
        .key("date")
        .value(timefmt::rfc3339((first_day + i) * day_us).substr(0, 10))
        .key("count")
        .value(counts[static_cast<size_t>(i)])
        .end_object();
  w.end_array()
      .key("total")
      .value(total)
      .key("complete")
      .value(complete)
      .end_object();
  c->json(200, std::move(w).str());
}

void get_subscriber(caf::event_based_actor*, call_ptr c) {
  auto s = c->a.db->subscriber_by_id(c->who->account.id, c->param("id"));
  if (!s) return c->problem(404, "no such subscriber");
  json::writer w;
  write_subscriber(w, *s);
  c->json(200, std::move(w).str());
}

void patch_subscriber(caf::event_based_actor* self, call_ptr c) {
  auto acc = c->who->account.id;
  auto id = c->param("id");
  if (!c->a.db->subscriber_by_id(acc, id))
    return c->problem(404, "no such subscriber");
  auto body = json_body(*c);
  if (!body) return;
  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  f.reject_unknown({"email", "phone", "name", "first_name", "last_name",
                    "fields", "tags", "status"});
  // What to change; nullopt = leave as is, "" = clear.
  struct change {
    std::optional<std::string> email, phone, name, first_name, last_name,
        status;
    std::vector<std::pair<std::string, std::optional<std::string>>> fields;
    std::optional<std::vector<std::string>> tags;
  };
  auto ch = std::make_shared<change>();
  auto cleared = [&](const char* k) {
    auto* v = body->get(k);
    return v && v->kind == value::null;
  };
  if (auto e = f.text("email", 320)) {
    auto r = validation::email(*e);
    r.ok() ? void(ch->email = r.value) : f.error("email", r.error);
  } else if (cleared("email")) {
    ch->email = "";
  }
  if (auto p = f.text("phone", 64)) {
    auto r = validation::phone(*p);
    r.ok() ? void(ch->phone = r.value) : f.error("phone", r.error);
  } else if (cleared("phone")) {
    ch->phone = "";
  }
  for (auto [key, slot] : {std::pair{"name", &change::name},
                           std::pair{"first_name", &change::first_name},
                           std::pair{"last_name", &change::last_name}}) {
    if (auto v = f.text(key, 255))
      (*ch).*slot = *v;
    else if (cleared(key))
      (*ch).*slot = "";
  }
  if (auto st = f.text("status", 20)) {
    if (*st != "subscribed" && *st != "unsubscribed")
      f.error("status", "must be subscribed or unsubscribed");
    else
      ch->status = *st;
  }
  if (auto* fv = f.raw("fields")) {
    if (fv->kind != value::object) {
      f.error("fields", "must be an object");
    } else {
      for (auto& [k, v] : fv->members) {
        if (k.empty() || k.size() > 64) {
          errors.push_back({"fields", "field names are 1 to 64 characters"});
        } else if (v.kind == value::null) {
          ch->fields.emplace_back(k, std::nullopt);
        } else if (v.kind == value::string) {
          auto r = validation::text(v.s, 1000);
          if (r.ok())
            ch->fields.emplace_back(k, r.value);
          else
            errors.push_back({"fields." + k, r.error});
        } else if (v.kind == value::boolean) {
          ch->fields.emplace_back(k, v.b ? "true" : "false");
        } else {
          errors.push_back(
              {"fields." + k, "must be a string, a boolean or null"});
        }
      }
    }
  }
  if (f.present("tags")) ch->tags = read_tags(f.raw("tags"), "tags", errors);
  if (!errors.empty())
    return c->problem(422, "the change is not valid", errors);
  auto result = std::make_shared<store::subscriber>();
  auto was = std::make_shared<std::string>(); // the status before
  auto hooked = std::make_shared<bool>(false);
  auto now = timefmt::now_us();
  auto op = store::make_op([acc, id, ch, result, was, hooked,
                            now](store::database& db, lmdb::txn& t) {
    auto r = db.modify_subscriber(
        t, acc, id,
        [&](store::subscriber& s) {
          *was = s.status;
          if (ch->email) s.email = *ch->email;
          if (ch->phone) s.phone = *ch->phone;
          if (ch->name) s.name = *ch->name;
          if (ch->first_name) s.first_name = *ch->first_name;
          if (ch->last_name) s.last_name = *ch->last_name;
          if (ch->status) {
            // The creator decides a pending re-subscribe request: to
            // subscribed (they have the person's word; the request becomes
            // the consent) or to unsubscribed (declined).
            if (*ch->status == "subscribed" && s.status != "subscribed" &&
                s.resubscribe_request.at != 0)
              s.opt_in = s.resubscribe_request;
            s.resubscribe_request = {};
            s.status = *ch->status;
          }
          for (auto& [k, v] : ch->fields) {
            auto it = std::find_if(s.fields.begin(), s.fields.end(),
                                   [&](auto& p) { return p.first == k; });
            if (it != s.fields.end()) s.fields.erase(it);
            if (v) s.fields.emplace_back(k, *v);
          }
          std::sort(s.fields.begin(), s.fields.end());
          if (ch->tags) s.tags = *ch->tags;
          s.updated_at = now;
          return store::outcome{};
        },
        *result);
    if (r) {
      bool left = *was != "unsubscribed" && result->status == "unsubscribed";
      *hooked = subscriber_outbox(
          db, t, left ? "subscriber.unsubscribed" : "subscriber.updated",
          *result, now);
    }
    return r;
  });
  write(self, c, op, [c, result, was, hooked](store::outcome& o) {
    if (!o) return c->fail(o);
    if (*hooked) nudge_webhooks(*c, result->account_id);
    bool left = *was != "unsubscribed" && result->status == "unsubscribed";
    publish(*c, subscriber_event(left ? "subscriber.unsubscribed"
                                      : "subscriber.updated",
                                 *result));
    json::writer w;
    write_subscriber(w, *result);
    c->json(200, std::move(w).str());
  });
}

void delete_subscriber(caf::event_based_actor* self, call_ptr c) {
  auto acc = c->who->account.id;
  auto id = c->param("id");
  auto hooked = std::make_shared<bool>(false);
  write(self, c,
        store::make_op([acc, id, hooked](store::database& db, lmdb::txn& t) {
          auto r = db.delete_subscriber(t, acc, id);
          if (r)
            *hooked = outbox(
                db, t, acc, "subscriber.deleted", id,
                [&] {
                  json::writer w;
                  w.begin_object().key("id").value(id).end_object();
                  return std::move(w).str();
                },
                timefmt::now_us());
          return r;
        }),
        [c, acc, id, hooked](store::outcome& o) {
          if (!o) return c->fail(o);
          if (*hooked) nudge_webhooks(*c, acc);
          publish(*c, subscriber_deleted(acc, id));
          http::response r;
          r.status = 204;
          c->reply(std::move(r));
        });
}

// -- CSV download
// ----------------------------------------------------------------------------

namespace {

constexpr size_t export_page_rows = 1000;

/// One CSV download of subscribers.
struct export_job : page_source {
  std::shared_ptr<store::database> db;
  std::string account_id;
  store::subscriber_filter filter;
  std::vector<std::string> columns; ///< custom field keys
  std::string after;                ///< last key written
  bool header_written = false;
  size_t pages = 0;

  std::string next_page(bool& last) override {
    std::string out;
    if (!header_written) {
      std::vector<std::string_view> head{"email", "phone", "name", "source",
                                         "tags"};
      for (auto& k : columns)
        head.push_back(k);
      head.push_back("subscribed_at");
      csv::append_row(out, head);
      header_written = true;
    }
    std::string tags, when;
    std::vector<std::string_view> cells;
    after = db->export_page(
        account_id, filter, after, export_page_rows,
        [&](const store::subscriber& s) {
          tags.clear();
          for (auto& t : s.tags) {
            if (!tags.empty()) tags += ", ";
            tags += t;
          }
          when = timefmt::rfc3339(s.subscribed_at);
          cells = {s.email, s.phone, s.name, s.source, tags};
          for (auto& k : columns) {
            auto* v = s.field(k);
            cells.push_back(v ? std::string_view{*v} : std::string_view{});
          }
          cells.push_back(when);
          csv::append_row(out, cells);
        });
    last = after.empty();
    if (++pages % 2 == 0) db->release_mapped_pages();
    return out;
  }
};

} // namespace

void export_csv(caf::event_based_actor*, call_ptr c) {
  auto job = std::make_shared<export_job>();
  job->db = c->a.db;
  job->account_id = c->who->account.id;
  if (!read_filter(*c, job->filter, "tags")) return;
  if (!job->filter.campaign_id.empty() && !job->filter.tags.empty())
    return c->problem(422, "choose a campaign or tags, not both",
                      {{"tags", "cannot be combined with campaign"}});
  auto campaigns = c->a.db->campaigns(job->account_id);
  for (auto& cmp : campaigns) {
    if (!job->filter.campaign_id.empty() && cmp.id != job->filter.campaign_id)
      continue;
    for (auto& d : cmp.fields)
      if (std::find(job->columns.begin(), job->columns.end(), d.key) ==
          job->columns.end())
        job->columns.push_back(d.key);
  }
  http::response head;
  head.set("content-type", "text/csv; charset=utf-8");
  auto date = timefmt::rfc3339(timefmt::now_us()).substr(0, 10);
  head.set("content-disposition", "attachment; filename=\"subscribers-" +
                                      c->who->account.handle + "-" + date +
                                      ".csv\"");
  head.set("cache-control", "no-store");
  stream_pages(*c, std::move(head), std::move(job));
}

} // namespace ls::api
