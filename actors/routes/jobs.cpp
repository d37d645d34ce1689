// Sync jobs: create, list, get, cancel, retry; and the manual-import
// hand-offs (Kit, Klaviyo, HubSpot): their streamed CSV file and "complete".
#include "actors/errors.hpp"
#include "actors/mapper.hpp"
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "actors/webhooks.hpp"
#include "http/codec/csv.hpp"
#include "http/codec/time.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <charconv>
#include <mutex>

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

// -- hand-offs (Kit, Klaviyo, HubSpot)
// ---------------------------------------------------------------------------
//
// A hand-off job is a snapshot: its file holds the subscribers in scope who
// are subscribed and were added (first signup, or a fresh opt-in after
// unsubscribing) after `since_us` and no later than the job's creation. With
// since_last_handoff, `since_us` is the creation time of the newest COMPLETED
// hand-off to the same provider, so consecutive files neither miss nor repeat
// anyone.

/// A provider's contact-import columns (see README, "Hand-off providers").
struct handoff_provider {
  std::string_view id;
  std::string_view display;
  /// Rows without an email are left out (with a note saying `why_email`).
  bool needs_email;
  std::string_view why_email;
  std::string_view email, first_name, last_name, phone, company, tags;
  char tag_separator;
};

constexpr handoff_provider handoff_providers[] = {
    {"kit", "Kit", true, "Kit imports subscribers by email address",
     "Email address", "First name", "Last name", "Phone", "Company", "Tags",
     ','},
    {"klaviyo", "Klaviyo", false, "", "Email", "First Name", "Last Name",
     "Phone Number", "Organization", "Tags", ','},
    {"hubspot", "HubSpot", true,
     "HubSpot matches imported contacts by email address", "Email",
     "First Name", "Last Name", "Phone Number", "Company Name", "Tags", ';'},
};

const handoff_provider* find_handoff(std::string_view id) {
  for (auto& p : handoff_providers)
    if (p.id == id) return &p;
  return nullptr;
}

/// Lowercase without '_', '-', '.' and spaces (as the MAPPER compares keys).
std::string norm_key(std::string_view k) {
  std::string out;
  for (char ch : k)
    if (ch != '_' && ch != '-' && ch != '.' && ch != ' ')
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// Custom-field keys that feed the name and company columns (the MAPPER's
// aliases): they get no column of their own.
constexpr std::string_view first_aliases[] = {"firstname", "fname",
                                              "givenname"};
constexpr std::string_view last_aliases[] = {"lastname", "lname", "surname",
                                             "familyname"};
constexpr std::string_view full_aliases[] = {"fullname", "name"};
constexpr std::string_view company_aliases[] = {"company", "organization",
                                                "organisation", "employer"};

template <size_t N>
bool is_alias(const std::string& norm, const std::string_view (&aliases)[N]) {
  return std::find(std::begin(aliases), std::end(aliases), norm) !=
         std::end(aliases);
}

/// The first non-empty custom field named by one of `aliases`, in order.
template <size_t N>
std::string_view custom(const store::subscriber& s,
                        const std::string_view (&aliases)[N]) {
  for (auto alias : aliases)
    for (auto& [k, v] : s.fields)
      if (!v.empty() && norm_key(k) == alias) return v;
  return {};
}

/// Who is in a hand-off's file.
struct handoff_scope {
  const handoff_provider* provider = nullptr;
  std::string account_id;
  store::subscriber_filter filter; ///< the campaign, when scoped to one
  int64_t since_us = 0;            ///< added after this…
  int64_t upto_us = 0;             ///< …and no later than this
};

handoff_scope scope_of(const store::sync_job& j) {
  handoff_scope s;
  s.provider = find_handoff(j.provider);
  s.account_id = j.account_id;
  if (j.scope_type == "campaign") s.filter.campaign_id = j.scope_campaign_id;
  s.since_us = j.since_us;
  s.upto_us = j.created_at;
  return s;
}

enum class verdict { outside, unsubscribed, phone_only_out, row };

verdict judge(const handoff_scope& scope, const store::subscriber& s) {
  // Added: the first signup, or a fresh opt-in after unsubscribing.
  auto added = std::max(s.subscribed_at, s.opt_in.at);
  if (added <= scope.since_us || added > scope.upto_us) return verdict::outside;
  if (s.status != "subscribed") return verdict::unsubscribed;
  if (s.email.empty() && scope.provider->needs_email)
    return verdict::phone_only_out;
  return verdict::row;
}

constexpr size_t handoff_page_rows = 1000;

struct handoff_counts {
  uint64_t rows = 0, phone_only_rows = 0, unsubscribed = 0, phone_only_out = 0;
};

/// Reads the scope page by page (constant memory) and counts what the file
/// will hold and leave out.
handoff_counts count_handoff(store::database& db, const handoff_scope& scope) {
  handoff_counts n;
  std::string after;
  do {
    after =
        db.export_page(scope.account_id, scope.filter, after,
                       10 * handoff_page_rows, [&](const store::subscriber& s) {
                         switch (judge(scope, s)) {
                         case verdict::outside:
                           break;
                         case verdict::unsubscribed:
                           ++n.unsubscribed;
                           break;
                         case verdict::phone_only_out:
                           ++n.phone_only_out;
                           break;
                         case verdict::row:
                           ++n.rows;
                           if (s.email.empty()) ++n.phone_only_rows;
                           break;
                         }
                       });
    db.release_mapped_pages();
  } while (!after.empty());
  return n;
}

/// The creation time of the newest COMPLETED hand-off to `provider` (0: none).
int64_t last_handoff(store::database& db, const std::string& account_id,
                     const std::string& provider) {
  std::string cursor;
  while (true) {
    auto page = db.jobs(account_id, "COMPLETED", provider, cursor, 1);
    if (!page) return 0;
    if (!page->items.empty()) return page->items.front().created_at;
    if (page->next_cursor.empty()) return 0;
    cursor = page->next_cursor;
  }
}

std::string plural(uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string{n == 1 ? one : many};
}

std::vector<std::string> handoff_notes(const handoff_provider& p,
                                       const store::sync_job& j,
                                       const handoff_counts& n) {
  std::vector<std::string> notes;
  if (j.since_last_handoff)
    notes.push_back(j.since_us == 0
                        ? "no completed hand-off to " + std::string{p.display} +
                              " yet: the file holds everyone in scope"
                        : "only subscribers added since the " +
                              std::string{p.display} + " hand-off of " +
                              timefmt::rfc3339(j.since_us));
  if (n.unsubscribed > 0)
    notes.push_back(plural(n.unsubscribed, "unsubscribed on LinkStacked is",
                           "unsubscribed on LinkStacked are") +
                    " left out of the file");
  if (n.phone_only_out > 0)
    notes.push_back(plural(n.phone_only_out, "phone-only subscriber is",
                           "phone-only subscribers are") +
                    " left out of the file: " + std::string{p.why_email});
  if (n.phone_only_rows > 0)
    notes.push_back(plural(n.phone_only_rows, "phone-only subscriber is",
                           "phone-only subscribers are") +
                    " in the file by phone number; " + std::string{p.display} +
                    " will not text them until they consent to SMS there");
  return notes;
}

/// The file's columns: the provider's, then one per custom field of the
/// scope's campaigns (the key as header), then tags.
struct handoff_columns {
  std::vector<std::string> headers;
  std::vector<std::string> field_keys; ///< the custom-field columns, in order
};

handoff_columns columns_of(store::database& db, const handoff_scope& scope) {
  auto& p = *scope.provider;
  handoff_columns out;
  out.headers = {std::string{p.email}, std::string{p.first_name},
                 std::string{p.last_name}, std::string{p.phone},
                 std::string{p.company}};
  std::vector<std::string> taken;
  for (auto h :
       {p.email, p.first_name, p.last_name, p.phone, p.company, p.tags})
    taken.push_back(norm_key(h));
  for (auto& cmp : db.campaigns(scope.account_id)) {
    if (!scope.filter.campaign_id.empty() && cmp.id != scope.filter.campaign_id)
      continue;
    for (auto& d : cmp.fields) {
      if (std::find(out.field_keys.begin(), out.field_keys.end(), d.key) !=
          out.field_keys.end())
        continue;
      auto norm = norm_key(d.key);
      if (is_alias(norm, first_aliases) || is_alias(norm, last_aliases) ||
          is_alias(norm, full_aliases) || is_alias(norm, company_aliases))
        continue; // it feeds a name or company column
      out.field_keys.push_back(d.key);
      // A key the import would take for one of its own columns is renamed.
      bool clash = std::find(taken.begin(), taken.end(), norm) != taken.end();
      out.headers.push_back(clash ? d.key + " (custom field)" : d.key);
    }
  }
  out.headers.push_back(std::string{p.tags});
  return out;
}

/// A phone number in E.164 (as every stored phone is): "+" and 7 to 15
/// digits. It cannot start a formula other than a plain number, so it is
/// written without the neutralising apostrophe the importers would keep.
bool is_e164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; });
}

void append_handoff_row(std::string& out, const handoff_scope& scope,
                        const handoff_columns& cols,
                        const store::subscriber& s) {
  auto& p = *scope.provider;
  // Names and company as the Mailchimp sync maps them (actors/mapper.hpp).
  std::string_view full = s.name.empty() ? custom(s, full_aliases) : s.name;
  auto [first_word, rest] = mapper::split_name(full);
  std::string_view first = s.first_name;
  if (first.empty()) first = custom(s, first_aliases);
  if (first.empty()) first = first_word;
  std::string_view last = s.last_name;
  if (last.empty()) last = custom(s, last_aliases);
  if (last.empty()) last = rest;
  std::string tags;
  for (auto& t : s.tags) {
    if (!tags.empty()) tags += p.tag_separator;
    for (char ch : t) // a separator inside a tag would split it in two
      tags += ch == p.tag_separator ? ' ' : ch;
  }
  auto cell = [&out](std::string_view v) {
    csv::append_cell(out, v);
    out += ',';
  };
  cell(s.email);
  cell(first);
  cell(last);
  if (is_e164(s.phone)) {
    out += s.phone;
    out += ',';
  } else {
    cell(s.phone);
  }
  cell(custom(s, company_aliases));
  for (auto& k : cols.field_keys) {
    auto* v = s.field(k);
    cell(v ? std::string_view{*v} : std::string_view{});
  }
  csv::append_cell(out, tags);
  out += "\r\n";
}

/// One download of a hand-off file (streamed like the CSV export).
struct handoff_download : page_source {
  std::shared_ptr<store::database> db;
  handoff_scope scope;
  handoff_columns cols;
  std::string after; ///< last key read
  bool header_written = false;
  size_t pages = 0;

  std::string next_page(bool& last) override {
    std::string out;
    if (!header_written) {
      std::vector<std::string_view> head(cols.headers.begin(),
                                         cols.headers.end());
      csv::append_row(out, head);
      header_written = true;
    }
    after = db->export_page(scope.account_id, scope.filter, after,
                            handoff_page_rows, [&](const store::subscriber& s) {
                              if (judge(scope, s) == verdict::row)
                                append_handoff_row(out, scope, cols, s);
                            });
    last = after.empty();
    if (++pages % 2 == 0) db->release_mapped_pages();
    return out;
  }
};

/// Stores a new hand-off job (PENDING until marked imported) with its total
/// and notes.
void create_handoff(caf::event_based_actor* self, const call_ptr& c,
                    std::shared_ptr<store::sync_job> job) {
  auto& db = *c->a.db;
  auto* p = find_handoff(job->provider);
  if (job->since_last_handoff)
    job->since_us = last_handoff(db, job->account_id, job->provider);
  auto counts = count_handoff(db, scope_of(*job));
  job->total = counts.rows;
  job->phone_only = counts.phone_only_out;
  job->unsubscribed = counts.unsubscribed;
  job->notes = handoff_notes(*p, *job, counts);
  self->request(c->a.jobs, job_timeout, atom::create_v, *job)
      .then([c](store::sync_job& j) { reply_job(*c, 202, j); },
            [c](caf::error& e) { fail_from(*c, e); });
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
  f.reject_unknown({"provider", "scope", "since_last_handoff"});
  auto provider = f.text("provider", 20, true);
  if (provider && *provider != "mailchimp" && !find_handoff(*provider))
    f.error("provider", "must be mailchimp, kit, klaviyo or hubspot");
  auto since = f.boolean("since_last_handoff");
  if (since && *since && provider && *provider == "mailchimp")
    f.error("since_last_handoff",
            "only for kit, klaviyo and hubspot hand-offs");
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
  auto now = timefmt::now_us();
  job->id = crypto::random_id("job_");
  job->account_id = c->who->account.id;
  job->provider = *provider;
  job->created_at = job->updated_at = now;
  if (*provider != "mailchimp") {
    job->since_last_handoff = since.value_or(false);
    return create_handoff(self, c, std::move(job));
  }
  auto conn = c->a.db->mailchimp_connection_of(c->who->account.id);
  if (!conn || conn->status != "connected")
    return c->problem(
        409, conn ? "Mailchimp needs to be connected again before a sync"
                  : "connect Mailchimp before queueing a sync");
  if (conn->audience_id.empty())
    return c->problem(409,
                      "choose a Mailchimp audience before queueing a sync");
  job->audience_id = conn->audience_id;
  job->audience_name = conn->audience_name;
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

void handoff_file(caf::event_based_actor*, call_ptr c) {
  auto j = c->a.db->job_by_id(c->who->account.id, c->param("id"));
  if (!j) return c->problem(404, "no such job");
  if (!find_handoff(j->provider))
    return c->problem(409, "a Mailchimp sync has no hand-off file; only Kit, "
                           "Klaviyo and HubSpot jobs have one");
  if (j->status != "PENDING")
    return c->problem(
        409, "the hand-off file is only available while the job is PENDING; "
             "this one is " +
                 j->status +
                 (j->status == "COMPLETED"
                      ? " (it was marked imported): queue a new hand-off"
                      : ": retry it to download the file again"));
  auto dl = std::make_shared<handoff_download>();
  dl->db = c->a.db;
  dl->scope = scope_of(*j);
  dl->cols = columns_of(*c->a.db, dl->scope);
  http::response head;
  head.set("content-type", "text/csv; charset=utf-8");
  head.set("content-disposition",
           "attachment; filename=\"linkstacked-" + j->provider + "-" +
               timefmt::rfc3339(j->created_at).substr(0, 10) + ".csv\"");
  head.set("cache-control", "no-store");
  stream_pages(*c, std::move(head), std::move(dl));
}

void complete_job(caf::event_based_actor* self, call_ptr c) {
  auto acc = c->who->account.id;
  auto id = c->param("id");
  auto now = timefmt::now_us();
  auto result = std::make_shared<store::sync_job>();
  auto hooked = std::make_shared<bool>(false);
  auto op = store::make_op([=](store::database& db, lmdb::txn& t) {
    *hooked = false; // the op may run again on a fresh transaction
    auto r = db.modify_job(
        t, acc, id,
        [now](store::sync_job& j) {
          if (!find_handoff(j.provider))
            return store::outcome::fail(
                store::outcome::conflict,
                "only a Kit, Klaviyo or HubSpot hand-off is marked imported "
                "by hand; a Mailchimp sync completes on its own");
          if (j.status != "PENDING")
            return store::outcome::fail(
                store::outcome::conflict,
                "only a PENDING hand-off can be marked imported (this one is " +
                    j.status + ")");
          j.status = "COMPLETED";
          j.finished_at = j.updated_at = now;
          j.processed = j.total;
          j.cancel_requested = false;
          return store::outcome{};
        },
        *result);
    if (r)
      *hooked = outbox(
          db, t, acc, "sync_job.completed", id,
          [&] {
            json::writer w;
            write_job(w, *result);
            return std::move(w).str();
          },
          now);
    return r;
  });
  write(self, c, op, [c, acc, result, hooked](store::outcome& o) {
    if (!o) return c->fail(o);
    if (*hooked) nudge_webhooks(*c, acc);
    publish(*c, job_event(*result));
    reply_job(*c, 200, *result);
  });
}

} // namespace ls::api
