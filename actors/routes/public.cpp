// The public side: a creator's profile page with its subscribe forms, and the
// subscribe endpoint behind them (JSON for scripts, form posts for the plain
// HTML page).
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "http/codec/form.hpp"
#include "http/codec/html.hpp"
#include "http/codec/time.hpp"
#include "http/codec/validation.hpp"

#include <algorithm>
#include <caf/all.hpp>

namespace ls::api {

namespace {

constexpr const char* page_csp =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'";

bool wants_html(const http::request& req) {
  auto* accept = req.header("accept");
  return accept && accept->find("text/html") != std::string::npos;
}

/// For form posts: back to the profile page with the outcome in the query.
void redirect_back(call& c, const std::string& handle, std::string_view result,
                   std::string_view detail = {}) {
  http::response r;
  r.status = 303;
  auto location =
      "/p/" + form::percent_encode(handle) + "?result=" + std::string{result};
  if (!detail.empty()) location += "&detail=" + form::percent_encode(detail);
  r.set("location", location);
  r.set("cache-control", "no-store");
  c.reply(std::move(r));
}

/// Validates one custom value against its form field; false (with an error)
/// when invalid.
bool check_custom(const store::field_def& d, const value& v, std::string& out,
                  std::vector<http::field_error>& errors) {
  auto field = "fields." + d.key;
  std::string text;
  if (d.type == "checkbox") {
    if (v.kind == value::boolean)
      out = v.b ? "true" : "false";
    else if (v.kind == value::string &&
             (v.s == "on" || v.s == "true" || v.s == "1"))
      out = "true";
    else if (v.kind == value::string &&
             (v.s == "false" || v.s == "0" || v.s.empty()))
      out = "false";
    else {
      errors.push_back({field, "must be true or false"});
      return false;
    }
    if (d.required && out != "true") {
      errors.push_back({field, d.label + " must be ticked"});
      return false;
    }
    return true;
  }
  if (v.kind != value::string) {
    errors.push_back({field, "must be a string"});
    return false;
  }
  auto r = validation::text(v.s, 1000);
  if (!r.ok()) {
    errors.push_back({field, r.error});
    return false;
  }
  text = r.value;
  if (text.empty()) {
    if (d.required) {
      errors.push_back({field, d.label + " is required"});
      return false;
    }
    out.clear();
    return true;
  }
  validation::result checked{text, {}};
  if (d.type == "email")
    checked = validation::email(text);
  else if (d.type == "tel")
    checked = validation::phone(text);
  else if (d.type == "date")
    checked = validation::iso_date(text);
  else if (d.type == "select" && std::find(d.options.begin(), d.options.end(),
                                           text) == d.options.end())
    checked.error = "must be one of the form's options";
  if (!checked.ok()) {
    errors.push_back({field, checked.error});
    return false;
  }
  out = checked.value;
  return true;
}

std::string clip_utf8(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string{s};
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return std::string{s.substr(0, n)};
}

} // namespace

void public_subscribe(caf::event_based_actor* self, call_ptr c) {
  auto handle = c->param("handle");
  auto acc = c->a.db->account_by_handle(handle);
  if (!acc) return c->problem(404, "no creator with this handle");
  bool html = wants_html(c->req);
  auto limited = [&](unsigned wait) {
    too_many(*c, wait, "too many signups; please try again in a moment");
  };
  if (auto wait =
          c->a.subscribe_per_ip.take("ip:" + address_key(c->req.remote_ip)))
    return limited(wait);
  if (auto wait = c->a.subscribe_per_handle.take("h:" + acc->id))
    return limited(wait);

  auto* ct = c->req.header("content-type");
  bool is_form =
      ct && ct->find("application/x-www-form-urlencoded") != std::string::npos;
  std::optional<value> body;
  std::string parse_error;
  if (is_form) {
    body = parse_form(c->req.body, parse_error);
  } else if (ct && ct->find("json") != std::string::npos) {
    body = parse_json(c->req.body, parse_error);
  } else {
    return c->problem(415, "send JSON (application/json) or a form "
                           "(application/x-www-form-urlencoded)");
  }
  if (!body) return c->problem(400, parse_error);
  if (body->kind != value::object)
    return c->problem(422, "the body must be a JSON object");
  html = html && is_form;

  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  if (!is_form) // a plain HTML form may carry extra inputs (a submit button's
                // name)
    f.reject_unknown({"campaign", "email", "phone", "name", "first_name",
                      "last_name", "fields", "tags", "website"});
  // The honeypot: people never see this input, bots fill it in. Answer as if
  // all went well.
  if (auto* trap = body->get("website");
      trap && trap->kind == value::string && !trap->s.empty()) {
    c->a.stats->request_done("POST", "honeypot", 202, 0);
    if (html) return redirect_back(*c, handle, "received");
    return c->json(202, R"({"status":"received"})");
  }

  std::optional<store::campaign> cmp;
  if (auto ref = f.text("campaign", 100)) {
    if (!ref->empty()) {
      cmp = c->a.db->campaign_by_id(acc->id, *ref);
      if (!cmp) cmp = c->a.db->campaign_by_slug(acc->id, *ref);
      if (!cmp) return c->problem(404, "no such campaign for this creator");
    }
  }
  auto sub = std::make_shared<store::subscriber>();
  if (auto e = f.text("email", 320); e && !e->empty()) {
    auto r = validation::email(*e);
    if (r.ok())
      sub->email = r.value;
    else
      f.error("email", r.error);
  }
  if (auto p = f.text("phone", 64); p && !p->empty()) {
    auto r = validation::phone(*p);
    if (r.ok())
      sub->phone = r.value;
    else
      f.error("phone", r.error);
  }
  if (auto v = f.text("name", 255)) sub->name = *v;
  if (auto v = f.text("first_name", 255)) sub->first_name = *v;
  if (auto v = f.text("last_name", 255)) sub->last_name = *v;
  if (sub->email.empty() && sub->phone.empty() &&
      std::none_of(errors.begin(), errors.end(), [](auto& e) {
        return e.field == "email" || e.field == "phone";
      }))
    f.error("email", "enter an email address or a phone number");

  // Custom inputs, checked against the campaign's form.
  const value* fields = f.raw("fields");
  if (fields && fields->kind != value::object) {
    f.error("fields", "must be an object");
    fields = nullptr;
  }
  if (cmp) {
    for (auto& d : cmp->fields) {
      const value* v = fields ? fields->get(d.key) : nullptr;
      if (!v || v->kind == value::null) {
        if (d.required)
          errors.push_back({"fields." + d.key, d.label + " is required"});
        continue;
      }
      std::string out;
      if (check_custom(d, *v, out, errors) && !out.empty())
        sub->fields.emplace_back(d.key, std::move(out));
    }
    if (fields)
      for (auto& [k, v] : fields->members)
        if (std::none_of(cmp->fields.begin(), cmp->fields.end(),
                         [&](auto& d) { return d.key == k; }))
          errors.push_back({"fields." + k, "is not a field of this form"});
  } else if (fields) {
    // Without a campaign, only the keys of the creator's own forms (each
    // checked as its form defines it): a stranger cannot invent fields.
    if (fields->members.size() > store::subscriber_limits::max_fields)
      f.error("fields",
              "at most " +
                  std::to_string(store::subscriber_limits::max_fields) +
                  " fields");
    auto campaigns = c->a.db->campaigns(acc->id);
    for (auto& [k, v] : fields->members) {
      const store::field_def* def = nullptr;
      for (auto& cm : campaigns) {
        for (auto& d : cm.fields)
          if (d.key == k) {
            def = &d;
            break;
          }
        if (def) break;
      }
      if (!def) {
        errors.push_back({"fields." + k.substr(0, 64),
                          "is not a field of any of this creator's forms"});
        continue;
      }
      if (v.kind == value::null) continue;
      auto d = *def;
      d.required = false; // required only on its own form
      std::string out;
      if (check_custom(d, v, out, errors) && !out.empty())
        sub->fields.emplace_back(k, std::move(out));
    }
  }
  std::sort(sub->fields.begin(), sub->fields.end());
  if (auto tags = read_tags(f.raw("tags"), "tags", errors))
    sub->tags = std::move(*tags);

  if (!errors.empty()) {
    if (html)
      return redirect_back(*c, handle, "error",
                           errors.front().field + ": " +
                               errors.front().message);
    return c->problem(422, "the signup is not valid", errors);
  }
  if (cmp) {
    sub->tags.insert(sub->tags.end(), cmp->default_tags.begin(),
                     cmp->default_tags.end());
    std::sort(sub->tags.begin(), sub->tags.end());
    sub->tags.erase(std::unique(sub->tags.begin(), sub->tags.end()),
                    sub->tags.end());
    sub->campaign_id = cmp->id;
    sub->campaign_ids = {cmp->id};
  }
  auto now = timefmt::now_us();
  sub->id = crypto::random_id("sub_");
  sub->account_id = acc->id;
  sub->source = is_form ? "form" : "api";
  sub->subscribed_at = sub->updated_at = now;
  sub->opt_in.at = now;
  sub->opt_in.ip = c->req.remote_ip;
  if (auto* ua = c->req.header("user-agent"))
    sub->opt_in.user_agent = clip_utf8(*ua, 512);
  sub->opt_in.campaign_id = sub->campaign_id;

  struct result {
    store::subscriber stored;
    bool created = false;
    bool hooked = false; ///< a webhook message went into the outbox
  };
  auto res = std::make_shared<result>();
  auto op = store::make_op([sub, res](store::database& db, lmdb::txn& t) {
    auto r = db.upsert_subscriber(t, *sub, res->stored, res->created);
    // A re-subscribe request goes to no provider until it is confirmed.
    if (r && res->stored.status == "subscribed")
      res->hooked = subscriber_outbox(
          db, t, res->created ? "subscriber.created" : "subscriber.updated",
          res->stored, res->stored.updated_at);
    return r;
  });
  write(self, c, op, [c, res, html, handle](store::outcome& o) {
    if (!o) {
      if (html && o.code != store::outcome::storage)
        return redirect_back(*c, handle, "error", o.message);
      return c->fail(o);
    }
    publish(*c, subscriber_event(res->created ? "subscriber.created"
                                              : "subscriber.updated",
                                 res->stored));
    if (res->hooked) nudge_webhooks(*c, res->stored.account_id);
    // The same answer for a new and a known address: a stranger learns
    // nothing about the list (ids only through the account's own API).
    if (html) return redirect_back(*c, handle, "received");
    c->json(202, R"({"status":"received"})");
  });
}

void profile_page(caf::event_based_actor*, call_ptr c) {
  auto handle = c->param("handle");
  auto acc = c->a.db->account_by_handle(handle);
  http::response r;
  r.set("content-type", "text/html; charset=utf-8");
  r.set("content-security-policy", page_csp);
  r.set("x-content-type-options", "nosniff");
  r.set("referrer-policy", "same-origin");
  r.set("cache-control", "no-store");
  if (!acc) {
    r.status = 404;
    r.body =
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Not "
        "found</title><p>There is no creator with this handle.</p></html>";
    return c->reply(std::move(r));
  }
  auto h = html::escape(acc->handle);
  std::string b;
  b += "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
       "<title>@" +
       h +
       " on LinkStacked</title><style>"
       "body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;"
       "padding:0 1rem;line-height:1.5}form{border:1px solid "
       "#ccc;border-radius:8px;"
       "padding:1rem;margin:1rem 0}label{display:block;margin:.5rem 0 .2rem}"
       "input,select{width:100%;padding:.4rem;box-sizing:border-box}"
       "input[type=checkbox]{width:auto}.hp{position:absolute;left:-10000px}"
       "button{margin-top:1rem;padding:.5rem "
       "1rem}.ok{color:#060}.err{color:#a00}"
       "</style></head><body><h1>@" +
       h + "</h1>";
  auto result = c->query("result");
  if (result == "received")
    b += "<p class=\"ok\" role=\"status\">Thanks, your signup is "
         "received.</p>";
  else if (result == "error")
    b += "<p class=\"err\" role=\"alert\">Sorry, that did not work: " +
         html::escape(c->query("detail").substr(0, 300)) + "</p>";
  auto action =
      "/api/v1/public/" + form::percent_encode(acc->handle) + "/subscribe";
  auto input = [&](const std::string& id, const std::string& name,
                   const std::string& label, const std::string& type,
                   bool required, const std::string& extra = {}) {
    b += "<label for=\"" + id + "\">" + html::escape(label) +
         (required ? " *" : "") + "</label><input id=\"" + id + "\" name=\"" +
         html::escape(name) + "\" type=\"" + type + "\"" + extra +
         (required ? " required" : "") + ">";
  };
  auto campaigns = c->a.db->campaigns(acc->id);
  auto form = [&](const store::campaign* cmp, size_t n) {
    auto p = "f" + std::to_string(n) + "-";
    b += "<form method=\"post\" action=\"" + action + "\">";
    if (cmp) {
      b += "<h2>" + html::escape(cmp->name) + "</h2>";
      b += "<input type=\"hidden\" name=\"campaign\" value=\"" +
           html::escape(cmp->id) + "\">";
    } else {
      b += "<h2>Subscribe</h2>";
    }
    input(p + "email", "email", "Email", "email", false,
          " autocomplete=\"email\"");
    input(p + "phone", "phone", "Phone", "tel", false, " autocomplete=\"tel\"");
    input(p + "name", "name", "Name", "text", false, " autocomplete=\"name\"");
    if (cmp)
      for (auto& d : cmp->fields) {
        auto id = p + "x-" + d.key;
        auto name = "fields[" + d.key + "]";
        if (d.type == "select") {
          b += "<label for=\"" + id + "\">" + html::escape(d.label) +
               (d.required ? " *" : "") + "</label><select id=\"" + id +
               "\" name=\"" + html::escape(name) + "\"" +
               (d.required ? " required" : "") +
               "><option value=\"\"></option>";
          for (auto& o : d.options)
            b += "<option>" + html::escape(o) + "</option>";
          b += "</select>";
        } else if (d.type == "checkbox") {
          b += "<label><input type=\"checkbox\" name=\"" + html::escape(name) +
               "\" value=\"on\"" + (d.required ? " required" : "") + "> " +
               html::escape(d.label) + "</label>";
        } else {
          input(id, name, d.label, d.type, d.required);
        }
      }
    b += "<div class=\"hp\" aria-hidden=\"true\"><label for=\"" + p +
         "website\">Leave this empty</label><input id=\"" + p +
         "website\" name=\"website\" tabindex=\"-1\" "
         "autocomplete=\"off\"></div>";
    b += "<button type=\"submit\">Subscribe</button></form>";
  };
  if (campaigns.empty()) form(nullptr, 0);
  for (size_t i = 0; i < campaigns.size(); ++i)
    form(&campaigns[i], i + 1);
  b += "</body></html>";
  r.body = std::move(b);
  c->reply(std::move(r));
}

} // namespace ls::api
