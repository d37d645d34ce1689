// Campaigns: subscribe forms with custom inputs.
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "http/codec/time.hpp"

#include <algorithm>
#include <caf/all.hpp>

namespace ls::api {

namespace {

constexpr const char* field_types[] = {"text", "email",  "tel",
                                       "date", "select", "checkbox"};

/// Keys that are columns of their own and cannot be custom fields.
constexpr std::string_view reserved_keys[] = {
    "email",    "phone",  "name",   "first_name", "last_name",     "tags",
    "campaign", "fields", "source", "status",     "subscribed_at", "website"};

bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  if (!std::isalpha(static_cast<unsigned char>(k[0]))) return false;
  return std::all_of(k.begin(), k.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
  });
}

bool valid_slug(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '-' || s.back() == '-')
    return false;
  return std::all_of(s.begin(), s.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
}

std::string slug_from(std::string_view name) {
  std::string out;
  for (char ch : name) {
    auto u = static_cast<unsigned char>(ch);
    if (std::isalnum(u) && u < 0x80)
      out.push_back(static_cast<char>(std::tolower(u)));
    else if (!out.empty() && out.back() != '-')
      out.push_back('-');
    if (out.size() >= 48) break;
  }
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  return out.empty() ? "campaign" : out;
}

/// Reads {name, slug?, fields, default_tags?} into `c`. Returns false after
/// replying 4xx.
bool read_campaign(call& cl, const value& body, store::campaign& c) {
  std::vector<http::field_error> errors;
  fields_reader f{body, errors};
  f.reject_unknown({"name", "slug", "fields", "default_tags"});
  if (auto name = f.text("name", 200, true)) c.name = *name;
  if (auto slug = f.text("slug", 64)) {
    if (valid_slug(*slug))
      c.slug = *slug;
    else
      f.error("slug", "must be 1 to 64 of a-z, 0-9 and -, not starting or "
                      "ending with -");
  }
  c.fields.clear();
  if (auto* fields = f.raw("fields")) {
    if (fields->kind != value::array) {
      f.error("fields", "must be a list");
    } else if (fields->items.size() > 50) {
      f.error("fields", "at most 50 fields");
    } else {
      for (size_t i = 0; i < fields->items.size(); ++i) {
        auto& item = fields->items[i];
        auto prefix = "fields[" + std::to_string(i) + "]";
        if (item.kind != value::object) {
          errors.push_back({prefix, "must be an object"});
          continue;
        }
        fields_reader ff{item, errors, prefix};
        ff.reject_unknown({"key", "label", "type", "required", "options"});
        store::field_def d;
        if (auto k = ff.text("key", 64, true)) {
          if (!valid_key(*k))
            ff.error("key", "must start with a letter and hold only letters, "
                            "digits and _ (at most 64)");
          else if (std::find(std::begin(reserved_keys), std::end(reserved_keys),
                             *k) != std::end(reserved_keys))
            ff.error("key", "\"" + *k + "\" is a built-in field");
          else if (std::any_of(c.fields.begin(), c.fields.end(),
                               [&](auto& o) { return o.key == *k; }))
            ff.error("key", "is used twice");
          d.key = *k;
        }
        if (auto l = ff.text("label", 200, true)) d.label = *l;
        if (auto t = ff.text("type", 16, true)) {
          if (std::find(std::begin(field_types), std::end(field_types), *t) ==
              std::end(field_types))
            ff.error("type", "must be one of text, email, tel, date, select, "
                             "checkbox");
          d.type = *t;
        }
        d.required = ff.boolean("required").value_or(false);
        if (auto* opts = ff.raw("options")) {
          if (opts->kind != value::array || opts->items.empty() ||
              opts->items.size() > 100)
            ff.error("options", "must be a list of 1 to 100 strings");
          else
            for (auto& o : opts->items) {
              if (o.kind != value::string || o.s.empty() || o.s.size() > 200) {
                ff.error("options", "each option must be a string of 1 to 200 "
                                    "characters");
                break;
              }
              d.options.push_back(o.s);
            }
        }
        if (d.type == "select" && d.options.empty() && !ff.present("options"))
          ff.error("options", "a select field needs options");
        if (d.type != "select" && ff.present("options"))
          ff.error("options", "only select fields take options");
        c.fields.push_back(std::move(d));
      }
    }
  }
  if (auto tags = read_tags(f.raw("default_tags"), "default_tags", errors))
    c.default_tags = std::move(*tags);
  if (!errors.empty()) {
    cl.problem(422, "the campaign is not valid", errors);
    return false;
  }
  return true;
}

void reply_campaign(call& c, unsigned status, const store::campaign& cmp) {
  json::writer w;
  write_campaign(w, cmp);
  c.json(status, std::move(w).str());
}

} // namespace

void create_campaign(caf::event_based_actor* self, call_ptr c) {
  auto body = json_body(*c);
  if (!body) return;
  auto cmp = std::make_shared<store::campaign>();
  if (!read_campaign(*c, *body, *cmp)) return;
  cmp->id = crypto::random_id("cmp_");
  cmp->account_id = c->who->account.id;
  cmp->created_at = cmp->updated_at = timefmt::now_us();
  if (cmp->slug.empty()) {
    auto base = slug_from(cmp->name);
    auto existing = c->a.db->campaigns(cmp->account_id);
    auto taken = [&](const std::string& s) {
      return std::any_of(existing.begin(), existing.end(),
                         [&](auto& e) { return e.slug == s; });
    };
    cmp->slug = base;
    for (int n = 2; taken(cmp->slug); ++n)
      cmp->slug = base + "-" + std::to_string(n);
  }
  write(self, c, store::make_op([cmp](store::database& db, lmdb::txn& t) {
          return db.put_campaign(t, *cmp);
        }),
        [c, cmp](store::outcome& o) {
          if (!o) return c->fail(o);
          reply_campaign(*c, 201, *cmp);
        });
}

void list_campaigns(caf::event_based_actor*, call_ptr c) {
  auto all = c->a.db->campaigns(c->who->account.id);
  json::writer w;
  w.begin_object().key("items").begin_array();
  for (auto& cmp : all)
    write_campaign(w, cmp);
  // Campaigns per account are few: one page holds them all.
  w.end_array().key("next_cursor").null().end_object();
  c->json(200, std::move(w).str());
}

void get_campaign(caf::event_based_actor*, call_ptr c) {
  auto cmp = c->a.db->campaign_by_id(c->who->account.id, c->param("id"));
  if (!cmp) return c->problem(404, "no such campaign");
  reply_campaign(*c, 200, *cmp);
}

void replace_campaign(caf::event_based_actor* self, call_ptr c) {
  auto old = c->a.db->campaign_by_id(c->who->account.id, c->param("id"));
  if (!old) return c->problem(404, "no such campaign");
  auto body = json_body(*c);
  if (!body) return;
  auto cmp = std::make_shared<store::campaign>(*old);
  cmp->slug.clear();
  if (!read_campaign(*c, *body, *cmp)) return;
  if (cmp->slug.empty()) cmp->slug = old->slug;
  cmp->updated_at = timefmt::now_us();
  write(self, c, store::make_op([cmp](store::database& db, lmdb::txn& t) {
          return db.replace_campaign(t, *cmp);
        }),
        [c, cmp](store::outcome& o) {
          if (!o) return c->fail(o);
          reply_campaign(*c, 200, *cmp);
        });
}

void delete_campaign(caf::event_based_actor* self, call_ptr c) {
  auto acc = c->who->account.id;
  auto id = c->param("id");
  if (!c->a.db->campaign_by_id(acc, id))
    return c->problem(404, "no such campaign");
  write(self, c, store::make_op([acc, id](store::database& db, lmdb::txn& t) {
          return db.delete_campaign(t, acc, id);
        }),
        [c](store::outcome& o) {
          if (!o) return c->fail(o);
          http::response r;
          r.status = 204;
          c->reply(std::move(r));
        });
}

} // namespace ls::api
