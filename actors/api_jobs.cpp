// Sync jobs: create, list, get, cancel, retry.
#include "actors/api_routes.hpp"
#include "actors/api_util.hpp"
#include "actors/errors.hpp"
#include "http/codec/time.hpp"

#include <caf/all.hpp>
#include <charconv>

namespace ls::api {

namespace {

constexpr auto job_timeout = std::chrono::minutes(2);

void write_skip(json::writer& w, const store::skip_count& s) {
  w.begin_object().key("count").value(s.count).key("examples").begin_array();
  for (auto& e : s.examples)
    w.value(e);
  w.end_array().end_object();
}

void write_time(json::writer& w, const char* key, int64_t us) {
  w.key(key);
  if (us == 0)
    w.null();
  else
    w.value(timefmt::rfc3339(us));
}

void fail_from(call& c, const caf::error& err) {
  auto status = to_http_status(err);
  auto detail = error_detail(err);
  c.problem(status, detail.empty() ? "the job could not be changed" : detail);
}

void reply_job(call& c, unsigned status, const store::sync_job& j) {
  json::writer w;
  write_job(w, j);
  c.json(status, std::move(w).str());
}

} // namespace

void write_job(json::writer& w, const store::sync_job& j) {
  w.begin_object()
      .key("id")
      .value(j.id)
      .key("provider")
      .value(j.provider)
      .key("status")
      .value(j.status)
      .key("scope")
      .begin_object()
      .key("type")
      .value(j.scope_type);
  if (j.scope_type == "campaign")
    w.key("campaign_id").value(j.scope_campaign_id);
  w.end_object().key("audience");
  if (j.audience_id.empty())
    w.null();
  else
    w.begin_object()
        .key("id")
        .value(j.audience_id)
        .key("name")
        .value(j.audience_name)
        .end_object();
  w.key("attempt").value(uint64_t{j.attempt});
  write_time(w, "created_at", j.created_at);
  write_time(w, "started_at", j.started_at);
  write_time(w, "finished_at", j.finished_at);
  w.key("progress")
      .begin_object()
      .key("total")
      .value(j.total)
      .key("processed")
      .value(j.processed)
      .key("created")
      .value(j.created)
      .key("updated")
      .value(j.updated)
      .key("skipped")
      .value(j.skipped)
      .end_object();
  w.key("skipped").begin_object().key("phone_only").value(j.phone_only);
  w.key("must_resubscribe");
  write_skip(w, j.must_resubscribe);
  w.key("invalid_email");
  write_skip(w, j.invalid_email);
  w.key("forgotten");
  write_skip(w, j.forgotten);
  w.key("other");
  write_skip(w, j.other);
  w.end_object().key("notes").begin_array();
  for (auto& n : j.notes)
    w.value(n);
  w.end_array().key("error");
  if (j.error_code.empty())
    w.null();
  else
    w.begin_object()
        .key("code")
        .value(j.error_code)
        .key("message")
        .value(j.error_message)
        .end_object();
  w.end_object();
}

void create_job(caf::event_based_actor* self, call_ptr c) {
  auto body = json_body(*c);
  if (!body) return;
  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  f.reject_unknown({"provider", "scope"});
  auto provider = f.text("provider", 20, true);
  if (provider && *provider != "mailchimp" && *provider != "kit" &&
      *provider != "klaviyo" && *provider != "hubspot")
    f.error("provider", "must be mailchimp, kit, klaviyo or hubspot");
  auto job = std::make_shared<store::sync_job>();
  if (auto* scope = f.raw("scope")) {
    if (scope->kind != value::object) {
      f.error("scope", "must be {\"type\":\"all\"} or "
                       "{\"type\":\"campaign\",\"campaign_id\":…}");
    } else {
      fields_reader s{*scope, errors, "scope"};
      s.reject_unknown({"type", "campaign_id"});
      auto type = s.text("type", 20, true);
      if (type && *type == "campaign") {
        auto id = s.text("campaign_id", 64, true);
        if (id && !c->a.db->campaign_by_id(c->who->account.id, *id))
          s.error("campaign_id", "no such campaign");
        job->scope_type = "campaign";
        job->scope_campaign_id = id.value_or("");
      } else if (type && *type != "all") {
        s.error("type", "must be all or campaign");
      }
    }
  }
  if (!errors.empty()) return c->problem(422, "the job is not valid", errors);
  if (*provider != "mailchimp")
    return c->problem(
        501, "hand-offs to " + *provider +
                 " are not available yet; use the CSV download meanwhile");
  auto conn = c->a.db->mailchimp_connection_of(c->who->account.id);
  if (!conn || conn->status != "connected")
    return c->problem(
        409, conn ? "Mailchimp needs to be connected again before a sync"
                  : "connect Mailchimp before queueing a sync");
  if (conn->audience_id.empty())
    return c->problem(409,
                      "choose a Mailchimp audience before queueing a sync");
  auto now = timefmt::now_us();
  job->id = crypto::random_id("job_");
  job->account_id = c->who->account.id;
  job->provider = *provider;
  job->audience_id = conn->audience_id;
  job->audience_name = conn->audience_name;
  job->created_at = job->updated_at = now;
  self->request(c->a.jobs, job_timeout, atom::create_v, *job)
      .then([c](store::sync_job& j) { reply_job(*c, 202, j); },
            [c](caf::error& e) { fail_from(*c, e); });
}

void list_jobs(caf::event_based_actor*, call_ptr c) {
  auto status = c->query("status");
  auto provider = c->query("provider");
  size_t limit;
  std::string cursor;
  if (!read_paging(*c, limit, cursor)) return;
  auto page =
      c->a.db->jobs(c->who->account.id, status, provider, cursor, limit);
  if (!page)
    return c->problem(422, "the cursor is not valid",
                      {{"cursor", "use next_cursor from a previous page"}});
  json::writer w;
  w.begin_object().key("items").begin_array();
  for (auto& j : page->items)
    write_job(w, j);
  w.end_array();
  write_next_cursor(w, page->next_cursor);
  w.end_object();
  c->json(200, std::move(w).str());
}

void get_job(caf::event_based_actor*, call_ptr c) {
  auto j = c->a.db->job_by_id(c->who->account.id, c->param("id"));
  if (!j) return c->problem(404, "no such job");
  reply_job(*c, 200, *j);
}

void cancel_job(caf::event_based_actor* self, call_ptr c) {
  auto id = c->param("id");
  if (!c->a.db->job_by_id(c->who->account.id, id))
    return c->problem(404, "no such job");
  self->request(c->a.jobs, job_timeout, atom::cancel_v, c->who->account.id, id)
      .then([c](store::sync_job& j) { reply_job(*c, 200, j); },
            [c](caf::error& e) { fail_from(*c, e); });
}

void retry_job(caf::event_based_actor* self, call_ptr c) {
  auto id = c->param("id");
  if (!c->a.db->job_by_id(c->who->account.id, id))
    return c->problem(404, "no such job");
  self->request(c->a.jobs, job_timeout, atom::retry_v, c->who->account.id, id)
      .then([c](store::sync_job& j) { reply_job(*c, 200, j); },
            [c](caf::error& e) { fail_from(*c, e); });
}

} // namespace ls::api
