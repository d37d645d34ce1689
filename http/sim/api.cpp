// The Marketing API v3 surface of the Mailchimp simulator: /3.0/… (mailchimp.md
// §2–§7).
#include "http/codec/form.hpp"
#include "http/router.hpp"
#include "http/sim/internal.hpp"

#include <algorithm>
#include <set>

namespace ls::mcsim::detail {

namespace {

using errors_t = std::vector<std::pair<std::string, std::string>>;
using simdjson::dom::element;

constexpr size_t batch_limit = 500;
constexpr size_t text_limit = 255;

// -- texts (mailchimp.md §5, §6)
// ---------------------------------------------------

std::string compliance_text(std::string_view email) {
  return std::string(email) +
         " is in a compliance state due to unsubscribe, bounce, or compliance "
         "review and cannot be subscribed.";
}

std::string forgotten_text(std::string_view email) {
  return std::string(email) +
         " was permanently deleted and cannot be re-imported. The contact must "
         "re-subscribe to get back on the list.";
}

std::string fake_text(std::string_view email) {
  return std::string(email) +
         " looks fake or invalid, please enter a real email address.";
}

std::string contact_exists_text(std::string_view email) {
  return std::string(email) +
         " is already a list member, do you want to update? please provide "
         "update_existing:true in the request body";
}

constexpr std::string_view invalid_email_text =
    "Please provide a valid email address.";
constexpr std::string_view merge_invalid_text =
    "Your merge fields were invalid.";
constexpr std::string_view validation_text =
    "The resource submitted could not be validated. For field-specific "
    "details, see the 'errors' array.";

bool compliance_state(std::string_view status) {
  return status == "unsubscribed" || status == "cleaned" ||
         status == "complained";
}

bool api_status(std::string_view s) {
  return s == "subscribed" || s == "unsubscribed" || s == "cleaned" ||
         s == "pending" || s == "transactional";
}

/// The status the API shows for an internal one.
std::string_view public_status(std::string_view s) {
  return s == "complained" ? std::string_view("unsubscribed") : s;
}

// -- writing
// ---------------------------------------------------------------------

void write_merge_value(json::writer& w, const member& m, const merge_field& f) {
  auto it = m.merge.find(f.tag);
  if (it == m.merge.end())
    w.value("");
  else
    w.raw(it->second);
}

std::string_view merge_text(const member& m, std::string_view tag) {
  auto it = m.merge.find(std::string(tag));
  if (it == m.merge.end()) return {};
  std::string_view v = it->second; // a serialized JSON string: unquote simply
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"' &&
      v.find('\\') == std::string_view::npos)
    return v.substr(1, v.size() - 2);
  return {};
}

struct list_stats {
  size_t subscribed = 0, unsubscribed = 0, cleaned = 0, total = 0;
};

list_stats stats_of(const audience& a) {
  list_stats s;
  for (auto& [h, m] : a.members) {
    if (m.status == "forgotten") continue;
    ++s.total;
    if (m.status == "subscribed")
      ++s.subscribed;
    else if (m.status == "unsubscribed" || m.status == "complained")
      ++s.unsubscribed;
    else if (m.status == "cleaned")
      ++s.cleaned;
  }
  return s;
}

void write_list(json::writer& w, const audience& a) {
  auto s = stats_of(a);
  w.begin_object()
      .key("id")
      .value(a.id)
      .key("web_id")
      .value(a.web_id)
      .key("name")
      .value(a.name)
      .key("contact")
      .begin_object()
      .key("company")
      .value(a.contact.company)
      .key("address1")
      .value(a.contact.address1)
      .key("address2")
      .value(a.contact.address2)
      .key("city")
      .value(a.contact.city)
      .key("state")
      .value(a.contact.state)
      .key("zip")
      .value(a.contact.zip)
      .key("country")
      .value(a.contact.country)
      .key("phone")
      .value(a.contact.phone)
      .end_object()
      .key("permission_reminder")
      .value(a.permission_reminder)
      .key("use_archive_bar")
      .value(a.use_archive_bar)
      .key("campaign_defaults")
      .begin_object()
      .key("from_name")
      .value(a.defaults.from_name)
      .key("from_email")
      .value(a.defaults.from_email)
      .key("subject")
      .value(a.defaults.subject)
      .key("language")
      .value(a.defaults.language)
      .end_object()
      .key("notify_on_subscribe")
      .value(a.notify_on_subscribe)
      .key("notify_on_unsubscribe")
      .value(a.notify_on_unsubscribe)
      .key("date_created")
      .value(a.date_created)
      .key("list_rating")
      .value(0)
      .key("email_type_option")
      .value(a.email_type_option)
      .key("subscribe_url_short")
      .value("http://eepurl.com/" + a.id.substr(0, 6))
      .key("subscribe_url_long")
      .value("https://mailchimp.com/subscribe?id=" + a.id)
      .key("beamer_address")
      .value("us-" + a.id + "@inbound.mailchimp.com")
      .key("visibility")
      .value(a.visibility)
      .key("double_optin")
      .value(a.double_optin)
      .key("has_welcome")
      .value(false)
      .key("marketing_permissions")
      .value(false)
      .key("modules")
      .begin_array()
      .end_array()
      .key("stats")
      .begin_object()
      .key("member_count")
      .value(static_cast<uint64_t>(s.subscribed))
      .key("total_contacts")
      .value(static_cast<uint64_t>(s.total))
      .key("unsubscribe_count")
      .value(static_cast<uint64_t>(s.unsubscribed))
      .key("cleaned_count")
      .value(static_cast<uint64_t>(s.cleaned))
      .key("member_count_since_send")
      .value(static_cast<uint64_t>(s.subscribed))
      .key("unsubscribe_count_since_send")
      .value(static_cast<uint64_t>(s.unsubscribed))
      .key("cleaned_count_since_send")
      .value(static_cast<uint64_t>(s.cleaned))
      .key("campaign_count")
      .value(0)
      .key("campaign_last_sent")
      .value("")
      .key("merge_field_count")
      .value(static_cast<uint64_t>(a.fields.size()))
      .key("avg_sub_rate")
      .value(0)
      .key("avg_unsub_rate")
      .value(0)
      .key("target_sub_rate")
      .value(0)
      .key("open_rate")
      .value(0)
      .key("click_rate")
      .value(0)
      .key("last_sub_date")
      .value(a.last_sub_date)
      .key("last_unsub_date")
      .value(a.last_unsub_date)
      .end_object()
      .end_object();
}

void write_merge_field(json::writer& w, const audience& a,
                       const merge_field& f) {
  w.begin_object()
      .key("merge_id")
      .value(f.merge_id)
      .key("tag")
      .value(f.tag)
      .key("name")
      .value(f.name)
      .key("type")
      .value(f.type)
      .key("required")
      .value(f.required)
      .key("default_value")
      .value("")
      .key("public")
      .value(true)
      .key("display_order")
      .value(f.display_order)
      .key("options")
      .begin_object();
  if (f.type == "address") w.key("default_country").value(164);
  if (f.type == "phone") w.key("phone_format").value("none");
  if (f.type == "birthday") w.key("date_format").value("MM/DD");
  if (f.type == "date") w.key("date_format").value("MM/DD/YYYY");
  if (f.type == "text" || f.type == "number") w.key("size").value(25);
  if (f.type == "dropdown" || f.type == "radio") {
    w.key("choices").begin_array();
    for (auto& c : f.choices)
      w.value(c);
    w.end_array();
  }
  w.end_object()
      .key("help_text")
      .value("")
      .key("list_id")
      .value(a.id)
      .end_object();
}

// -- merge fields
// ------------------------------------------------------------------

bool two_digits(std::string_view s, int lo, int hi) {
  if (s.size() != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
    return false;
  int v = (s[0] - '0') * 10 + (s[1] - '0');
  return v >= lo && v <= hi;
}

bool valid_birthday(std::string_view s) {
  return s.size() == 5 && s[2] == '/' && two_digits(s.substr(0, 2), 1, 12) &&
         two_digits(s.substr(3, 2), 1, 31);
}

/// A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool json_number(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
      ++i;
    return i > start;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (i < s.size() && s[i] == '0')
    ++i;
  else if (!digits())
    return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == s.size() && s.size() <= 40;
}

bool valid_date(std::string_view s) { // MM/DD/YYYY
  if (s.size() != 10 || s[2] != '/' || s[5] != '/') return false;
  if (!two_digits(s.substr(0, 2), 1, 12) || !two_digits(s.substr(3, 2), 1, 31))
    return false;
  return std::all_of(s.begin() + 6, s.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

/// Validates the `merge_fields` object sent for a member. On success fills
/// `updates` (tag → serialized value; "\"\"" clears) and returns true;
/// otherwise fills `errors`.
bool validate_merge(const audience& a, element obj, errors_t& errors,
                    std::map<std::string, std::string>& updates) {
  if (!obj.is_object()) {
    if (obj.is_null()) return true;
    errors.emplace_back("merge_fields", "Please provide an object");
    return false;
  }
  for (auto [key, v] : obj.get_object()) {
    const merge_field* f = nullptr;
    for (auto& candidate : a.fields)
      if (iequals(candidate.tag, key)) f = &candidate;
    if (!f) continue; // undefined merge tags are ignored (mailchimp.md §7)
    std::string out;
    auto bad_field = [&](std::string message) {
      errors.emplace_back(f->tag, std::move(message));
    };
    if (v.is_null()) {
      updates[f->tag] = "\"\"";
      continue;
    }
    if (f->type == "address") {
      if (v.is_string()) {
        std::string_view s = v.get_string().value_unsafe();
        if (s.empty()) {
          updates[f->tag] = "\"\"";
        } else {
          bad_field("Please enter a complete address");
        }
        continue;
      }
      if (!v.is_object()) {
        bad_field("Please enter a complete address");
        continue;
      }
      std::string parts[6];
      static constexpr std::string_view keys[6] = {"addr1", "addr2", "city",
                                                   "state", "zip",   "country"};
      bool bad = false;
      for (size_t i = 0; i < 6; ++i) {
        auto e = get_field(v, keys[i]);
        if (!e || e->is_null()) continue;
        if (e->is_string())
          parts[i] = std::string(e->get_string().value_unsafe());
        else if (e->is_number())
          parts[i] = simdjson::minify(*e);
        else
          bad = true;
        if (parts[i].size() > text_limit) bad = true;
      }
      if (bad || trim(parts[0]).empty() || trim(parts[2]).empty() ||
          trim(parts[3]).empty() || trim(parts[4]).empty()) {
        bad_field("Please enter a complete address");
        continue;
      }
      if (parts[5].empty()) parts[5] = "US";
      json::writer w;
      w.begin_object();
      for (size_t i = 0; i < 6; ++i)
        w.key(keys[i]).value(parts[i]);
      w.end_object();
      updates[f->tag] = std::move(w).str();
      continue;
    }
    if (f->type == "number") {
      if (v.is_number()) {
        updates[f->tag] = simdjson::minify(v);
        continue;
      }
      if (v.is_string()) {
        std::string_view s = v.get_string().value_unsafe();
        if (s.empty()) {
          updates[f->tag] = "\"\"";
          continue;
        }
        if (json_number(s)) {
          updates[f->tag] = std::string(s); // stored (and read) as a number
          continue;
        }
      }
      bad_field("Please enter a number");
      continue;
    }
    // Every other type holds a string (a number is accepted as its text).
    std::string s;
    if (v.is_string())
      s = std::string(v.get_string().value_unsafe());
    else if (v.is_number())
      s = simdjson::minify(v);
    else {
      bad_field("Please enter a value as text");
      continue;
    }
    if (s.size() > text_limit) {
      bad_field("Please enter a value of " + std::to_string(text_limit) +
                " characters or less");
      continue;
    }
    if (!s.empty()) {
      if (f->type == "birthday" && !valid_birthday(s)) {
        bad_field("Please enter a month (01-12) and a day (01-31)");
        continue;
      }
      if (f->type == "date" && !valid_date(s)) {
        bad_field("Please enter the date in the format MM/DD/YYYY");
        continue;
      }
      if ((f->type == "dropdown" || f->type == "radio") &&
          std::find(f->choices.begin(), f->choices.end(), s) ==
              f->choices.end()) {
        bad_field("Please choose one of the available options");
        continue;
      }
    }
    json::writer w;
    w.value(s);
    updates[f->tag] = std::move(w).str();
  }
  return errors.empty();
}

/// Required fields left empty once `updates` are applied to `current`.
void check_required(const audience& a,
                    const std::map<std::string, std::string>& current,
                    const std::map<std::string, std::string>& updates,
                    errors_t& errors) {
  for (auto& f : a.fields) {
    if (!f.required) continue;
    std::string v;
    if (auto it = updates.find(f.tag); it != updates.end())
      v = it->second;
    else if (auto it2 = current.find(f.tag); it2 != current.end())
      v = it2->second;
    if (v.empty() || v == "\"\"")
      errors.emplace_back(f.tag, "Please enter a value");
  }
}

// -- members
// -------------------------------------------------------------------------

enum class write_mode { batch, put, post };

struct member_outcome {
  enum { created, updated, failed } kind = failed;
  member* m = nullptr;
  // failed:
  std::string title; ///< the problem title for PUT/POST
  std::string error; ///< the error text (batch "error", problem "detail")
  std::string error_code = "ERROR_GENERIC";
  errors_t field_errors;
};

struct write_options {
  write_mode mode = write_mode::batch;
  bool update_existing = false;
  bool sync_tags = false;
  bool skip_merge_validation = false;
  /// PUT: the hash of the path; the body's address must hash to it.
  std::string expected_hash;
};

member_outcome fail(std::string title, std::string error,
                    errors_t field_errors = {}) {
  member_outcome o;
  o.title = std::move(title);
  o.error = std::move(error);
  o.field_errors = std::move(field_errors);
  return o;
}

std::vector<std::string> tag_names_of(element input, bool objects) {
  std::vector<std::string> out;
  auto tags = get_field(input, "tags");
  if (!tags || !tags->is_array()) return out;
  for (auto t : tags->get_array()) {
    std::string_view name;
    if (t.is_string())
      name = t.get_string().value_unsafe();
    else if (objects && t.is_object()) {
      if (auto n = get_string(t, "name")) name = *n;
    }
    name = trim(name);
    if (!name.empty() && name.size() <= 100) out.emplace_back(name);
  }
  return out;
}

void copy_optional_fields(member& m, element input) {
  if (auto s = get_string(input, "ip_signup")) m.ip_signup = std::string(*s);
  if (auto s = get_string(input, "timestamp_signup"))
    m.timestamp_signup = std::string(*s);
  if (auto s = get_string(input, "ip_opt")) m.ip_opt = std::string(*s);
  if (auto s = get_string(input, "timestamp_opt"))
    m.timestamp_opt = std::string(*s);
  if (auto s = get_string(input, "language")) m.language = std::string(*s);
  if (auto b = get_bool(input, "vip")) m.vip = *b;
  if (auto s = get_string(input, "email_type"))
    if (*s == "html" || *s == "text") m.email_type = std::string(*s);
}

void note_status_change(audience& a, member& m, std::string_view status) {
  if (status == m.status) return;
  m.status = std::string(status);
  if (status == "subscribed") a.last_sub_date = now_iso();
  if (status == "unsubscribed") a.last_unsub_date = now_iso();
}

/// Adds or updates one member (batch subscribe, PUT, POST), per mailchimp.md §5
/// and §6.
member_outcome write_member_input(state& st, audience& a, element input,
                                  const write_options& opt) {
  if (!input.is_object())
    return fail("Invalid Resource", std::string(validation_text),
                {{"", "Each member must be an object"}});
  auto email_v = get_string(input, "email_address");
  if (!email_v)
    return fail("Invalid Resource", std::string(invalid_email_text),
                {{"email_address", "This value should not be blank."}});
  std::string email(trim(*email_v));
  if (!valid_email_syntax(email))
    return fail("Invalid Resource", std::string(invalid_email_text));
  if (looks_fake(email)) return fail("Invalid Resource", fake_text(email));
  auto hash = subscriber_hash(email);
  if (!opt.expected_hash.empty() && hash != opt.expected_hash)
    return fail("Invalid Resource",
                "The subscriber hash in the URL does not match the email "
                "address in the request body.",
                {{"email_address", "Does not match the subscriber hash"}});

  auto status = get_string(input, "status");
  auto status_if_new = get_string(input, "status_if_new");
  for (auto s : {status, status_if_new})
    if (s && !api_status(*s))
      return fail("Invalid Resource", std::string(validation_text),
                  {{status == s ? "status" : "status_if_new",
                    "Value must be one of: subscribed, unsubscribed, cleaned, "
                    "pending, transactional"}});

  std::map<std::string, std::string> updates;
  errors_t merge_errors;
  bool merge_ok = true;
  if (auto mf = get_field(input, "merge_fields"))
    merge_ok = validate_merge(a, *mf, merge_errors, updates);

  auto it = a.members.find(hash);
  bool exists = it != a.members.end() && it->second.status != "forgotten";
  bool forgotten = it != a.members.end() && it->second.status == "forgotten";

  if (exists) {
    member& m = it->second;
    if (opt.mode == write_mode::post)
      return fail("Member Exists",
                  email +
                      " is already a list member. Use PUT to insert or update "
                      "list members.");
    if (opt.mode == write_mode::batch && !opt.update_existing) {
      auto o = fail("Member Exists", contact_exists_text(email));
      o.error_code = "ERROR_CONTACT_EXISTS";
      return o;
    }
    if (status && *status == "subscribed" && compliance_state(m.status))
      return fail("Member In Compliance State", compliance_text(email));
    if (!merge_ok)
      return fail("Invalid Resource", std::string(merge_invalid_text),
                  std::move(merge_errors));
    if (!opt.skip_merge_validation) {
      check_required(a, m.merge, updates, merge_errors);
      if (!merge_errors.empty())
        return fail("Invalid Resource", std::string(merge_invalid_text),
                    std::move(merge_errors));
    }
    for (auto& [tag, value] : updates)
      m.merge[tag] = value;
    if (status) note_status_change(a, m, *status);
    copy_optional_fields(m, input);
    if (opt.mode == write_mode::batch && get_field(input, "tags")) {
      auto names = tag_names_of(input, false);
      if (opt.sync_tags) m.tags.clear();
      for (auto& n : names) {
        auto id = tag_id(st, a, n);
        if (std::find(m.tags.begin(), m.tags.end(), id) == m.tags.end())
          m.tags.push_back(id);
      }
    }
    m.last_changed = now_iso();
    member_outcome o;
    o.kind = member_outcome::updated;
    o.m = &m;
    return o;
  }

  // A new member (or one permanently deleted before).
  std::string_view new_status;
  if (opt.mode == write_mode::put)
    new_status = status_if_new ? *status_if_new
                               : (status ? *status : std::string_view{});
  else
    new_status = status ? *status
                        : (status_if_new ? *status_if_new : std::string_view{});
  if (new_status.empty())
    return fail("Invalid Resource", std::string(validation_text),
                {{opt.mode == write_mode::put ? "status_if_new" : "status",
                  "This value should not be blank."}});
  if (forgotten && new_status != "pending")
    return fail("Forgotten Email Not Subscribed", forgotten_text(email));
  if (!merge_ok)
    return fail("Invalid Resource", std::string(merge_invalid_text),
                std::move(merge_errors));
  if (!opt.skip_merge_validation) {
    check_required(a, {}, updates, merge_errors);
    if (!merge_errors.empty())
      return fail("Invalid Resource", std::string(merge_invalid_text),
                  std::move(merge_errors));
  }
  if (forgotten) {
    a.members.erase(hash);
    a.order.erase(std::remove(a.order.begin(), a.order.end(), hash),
                  a.order.end());
  }
  member m;
  m.hash = hash;
  m.email = email;
  m.unique_email_id = random_hex(10);
  m.web_id = ++st.next_web_id;
  m.merge = std::move(updates);
  copy_optional_fields(m, input);
  m.last_changed = now_iso();
  if (new_status == "subscribed" && m.timestamp_opt.empty())
    m.timestamp_opt = m.last_changed;
  note_status_change(a, m, new_status);
  for (auto& n : tag_names_of(input, false)) {
    auto id = tag_id(st, a, n);
    if (std::find(m.tags.begin(), m.tags.end(), id) == m.tags.end())
      m.tags.push_back(id);
  }
  a.order.push_back(hash);
  auto [ins, ok] = a.members.emplace(hash, std::move(m));
  member_outcome o;
  o.kind = member_outcome::created;
  o.m = &ins->second;
  return o;
}

http::response problem_of(const member_outcome& o) {
  if (o.title == "Invalid Resource")
    return invalid_resource(o.field_errors, o.error);
  return mc_problem(400, o.title, o.error, o.field_errors);
}

bool query_true(std::string_view query, std::string_view key) {
  auto v = query_param(query, key);
  return v && (*v == "true" || *v == "1");
}

// -- routes
// ----------------------------------------------------------------------------

enum route_id {
  r_root,
  r_ping,
  r_lists,
  r_lists_create,
  r_list,
  r_list_delete,
  r_list_batch,
  r_merge_fields,
  r_members,
  r_members_add,
  r_member,
  r_member_put,
  r_member_tags,
  r_member_tags_get,
};

const http::router& routes() {
  static const http::router r = [] {
    http::router r;
    r.add("GET", "/3.0", r_root);
    r.add("GET", "/3.0/", r_root);
    r.add("GET", "/3.0/ping", r_ping);
    r.add("GET", "/3.0/lists", r_lists);
    r.add("POST", "/3.0/lists", r_lists_create);
    r.add("GET", "/3.0/lists/{list_id}", r_list);
    r.add("DELETE", "/3.0/lists/{list_id}", r_list_delete);
    r.add("POST", "/3.0/lists/{list_id}", r_list_batch);
    r.add("GET", "/3.0/lists/{list_id}/merge-fields", r_merge_fields);
    r.add("GET", "/3.0/lists/{list_id}/members", r_members);
    r.add("POST", "/3.0/lists/{list_id}/members", r_members_add);
    r.add("GET", "/3.0/lists/{list_id}/members/{hash}", r_member);
    r.add("PUT", "/3.0/lists/{list_id}/members/{hash}", r_member_put);
    r.add("POST", "/3.0/lists/{list_id}/members/{hash}/tags", r_member_tags);
    r.add("GET", "/3.0/lists/{list_id}/members/{hash}/tags", r_member_tags_get);
    return r;
  }();
  return r;
}

/// The member a path segment names: a subscriber hash, or an email address
/// (Mailchimp accepts both).
std::string hash_param(std::string_view raw) {
  auto decoded = form::percent_decode(raw, false);
  if (!decoded) return {};
  if (decoded->find('@') != std::string::npos) return subscriber_hash(*decoded);
  return lower(*decoded);
}

http::response account_info(state& st, const user& u) {
  size_t subscribers = 0;
  for (auto& id : st.list_order) {
    auto& a = st.lists.at(id);
    if (a.owner == u.login) subscribers += stats_of(a).subscribed;
  }
  json::writer w;
  w.begin_object()
      .key("account_id")
      .value(u.account_id)
      .key("login_id")
      .value(std::to_string(u.user_id))
      .key("account_name")
      .value(u.account_name)
      .key("email")
      .value(u.email)
      .key("first_name")
      .value("")
      .key("last_name")
      .value("")
      .key("username")
      .value(u.login)
      .key("avatar_url")
      .value("")
      .key("role")
      .value("owner")
      .key("member_since")
      .value(u.member_since)
      .key("pricing_plan_type")
      .value("monthly")
      .key("first_payment")
      .value("")
      .key("account_timezone")
      .value("UTC")
      .key("account_industry")
      .value("")
      .key("contact")
      .begin_object()
      .key("company")
      .value(u.account_name)
      // Mailchimp accounts always carry a postal address (it is required at
      // sign-up).
      .key("addr1")
      .value("405 N Angier Ave NE")
      .key("addr2")
      .value("")
      .key("city")
      .value("Atlanta")
      .key("state")
      .value("GA")
      .key("zip")
      .value("30308")
      .key("country")
      .value("US")
      .end_object()
      .key("pro_enabled")
      .value(false)
      .key("last_login")
      .value(now_iso())
      .key("total_subscribers")
      .value(static_cast<uint64_t>(subscribers))
      .end_object();
  return json_response(200, std::move(w).str());
}

http::response get_lists(state& st, const user& u, const http::request& req) {
  size_t count, offset;
  paging(req.query, count, offset);
  std::vector<const audience*> mine;
  for (auto& id : st.list_order) {
    auto& a = st.lists.at(id);
    if (a.owner == u.login) mine.push_back(&a);
  }
  json::writer w;
  w.begin_object().key("lists").begin_array();
  for (size_t i = offset; i < mine.size() && i - offset < count; ++i)
    write_list(w, *mine[i]);
  w.end_array()
      .key("total_items")
      .value(static_cast<uint64_t>(mine.size()))
      .key("constraints")
      .begin_object()
      .key("may_create")
      .value(true)
      .key("max_instances")
      .value(100)
      .key("current_total_instances")
      .value(static_cast<uint64_t>(mine.size()))
      .end_object()
      .end_object();
  return json_response(200, std::move(w).str());
}

http::response create_list(state& st, const user& u, const http::request& req) {
  json_doc doc;
  if (!doc.parse(req.body)) return json_parse_error();
  auto root = doc.root;
  if (!root.is_object())
    return invalid_resource({{"", "The request body must be an object"}});
  errors_t errors;
  auto required_string = [&](element obj, std::string_view key,
                             std::string field) -> std::string {
    auto s = get_string(obj, key);
    if (!s || trim(*s).empty()) {
      errors.emplace_back(std::move(field), "This value should not be blank.");
      return {};
    }
    return std::string(*s);
  };
  auto optional_string = [](element obj, std::string_view key) {
    auto s = get_string(obj, key);
    return s ? std::string(*s) : std::string();
  };
  auto name = required_string(root, "name", "name");
  contact_info contact;
  if (auto c = get_field(root, "contact"); c && c->is_object()) {
    contact.company = required_string(*c, "company", "contact.company");
    contact.address1 = required_string(*c, "address1", "contact.address1");
    contact.address2 = optional_string(*c, "address2");
    contact.city = required_string(*c, "city", "contact.city");
    contact.state = required_string(*c, "state", "contact.state");
    contact.zip = required_string(*c, "zip", "contact.zip");
    contact.country = required_string(*c, "country", "contact.country");
    contact.phone = optional_string(*c, "phone");
  } else {
    errors.emplace_back("contact", "This value should not be blank.");
  }
  auto reminder =
      required_string(root, "permission_reminder", "permission_reminder");
  campaign_defaults defaults;
  if (auto c = get_field(root, "campaign_defaults"); c && c->is_object()) {
    defaults.from_name =
        required_string(*c, "from_name", "campaign_defaults.from_name");
    defaults.from_email =
        required_string(*c, "from_email", "campaign_defaults.from_email");
    defaults.subject =
        required_string(*c, "subject", "campaign_defaults.subject");
    defaults.language =
        required_string(*c, "language", "campaign_defaults.language");
  } else {
    errors.emplace_back("campaign_defaults", "This value should not be blank.");
  }
  auto email_type_option = get_bool(root, "email_type_option");
  if (!email_type_option)
    errors.emplace_back("email_type_option", "This value should not be blank.");
  if (!errors.empty()) return invalid_resource(errors);
  if (name.size() > 100)
    return invalid_resource(
        {{"name", "Please enter a value of 100 characters or less"}});

  auto& a = create_audience(st, u.login, name);
  a.contact = std::move(contact);
  a.permission_reminder = std::move(reminder);
  a.defaults = std::move(defaults);
  a.email_type_option = *email_type_option;
  if (auto b = get_bool(root, "double_optin")) a.double_optin = *b;
  if (auto b = get_bool(root, "use_archive_bar")) a.use_archive_bar = *b;
  a.notify_on_subscribe = optional_string(root, "notify_on_subscribe");
  a.notify_on_unsubscribe = optional_string(root, "notify_on_unsubscribe");
  if (auto v = get_string(root, "visibility");
      v && (*v == "pub" || *v == "prv"))
    a.visibility = std::string(*v);
  json::writer w;
  write_list(w, a);
  return json_response(200, std::move(w).str());
}

http::response batch_subscribe(state& st, audience& a,
                               const http::request& req) {
  json_doc doc;
  if (!doc.parse(req.body)) return json_parse_error();
  auto root = doc.root;
  if (!root.is_object())
    return invalid_resource({{"", "The request body must be an object"}});
  auto members = get_field(root, "members");
  if (!members || !members->is_array())
    return invalid_resource(
        {{"members", "Schema describes array, but no array was provided."}});
  auto arr = members->get_array().value_unsafe();
  if (arr.size() > batch_limit)
    return invalid_resource(
        {{"members", "You may only submit up to 500 members at a time."}});

  write_options opt;
  opt.mode = write_mode::batch;
  opt.update_existing = get_bool(root, "update_existing").value_or(false);
  opt.sync_tags = get_bool(root, "sync_tags").value_or(false);
  opt.skip_merge_validation = query_true(req.query, "skip_merge_validation");
  bool skip_duplicates = query_true(req.query, "skip_duplicate_check");

  json::writer created, updated, errors;
  created.begin_array();
  updated.begin_array();
  errors.begin_array();
  size_t n_created = 0, n_updated = 0, n_errors = 0;
  std::set<std::string> seen;
  for (auto input : arr) {
    if (skip_duplicates && input.is_object()) {
      if (auto e = get_string(input, "email_address")) {
        if (!seen.insert(subscriber_hash(*e)).second) continue;
      }
    }
    auto o = write_member_input(st, a, input, opt);
    switch (o.kind) {
    case member_outcome::created:
      ++n_created;
      write_member(created, a, *o.m);
      break;
    case member_outcome::updated:
      ++n_updated;
      write_member(updated, a, *o.m);
      break;
    case member_outcome::failed: {
      ++n_errors;
      std::string email;
      if (auto e = get_string(input, "email_address")) email = *e;
      std::string field, message;
      if (!o.field_errors.empty()) {
        field = o.field_errors.front().first;
        message = o.field_errors.front().second;
      }
      errors.begin_object()
          .key("email_address")
          .value(email)
          .key("error")
          .value(o.error)
          .key("error_code")
          .value(o.error_code)
          .key("field")
          .value(field)
          .key("field_message")
          .value(message)
          .end_object();
      break;
    }
    }
  }
  created.end_array();
  updated.end_array();
  errors.end_array();
  json::writer w;
  w.begin_object()
      .key("new_members")
      .raw(created.str())
      .key("updated_members")
      .raw(updated.str())
      .key("errors")
      .raw(errors.str())
      .key("total_created")
      .value(static_cast<uint64_t>(n_created))
      .key("total_updated")
      .value(static_cast<uint64_t>(n_updated))
      .key("error_count")
      .value(static_cast<uint64_t>(n_errors))
      .key("_links")
      .begin_array()
      .end_array()
      .end_object();
  return json_response(200, std::move(w).str());
}

http::response get_members(audience& a, const http::request& req) {
  size_t count, offset;
  paging(req.query, count, offset);
  auto status = query_param(req.query, "status");
  std::vector<const member*> shown;
  for (auto& h : a.order) {
    auto& m = a.members.at(h);
    if (m.status == "forgotten") continue;
    if (status && !status->empty() && public_status(m.status) != *status)
      continue;
    shown.push_back(&m);
  }
  json::writer w;
  w.begin_object().key("members").begin_array();
  for (size_t i = offset; i < shown.size() && i - offset < count; ++i)
    write_member(w, a, *shown[i]);
  w.end_array()
      .key("list_id")
      .value(a.id)
      .key("total_items")
      .value(static_cast<uint64_t>(shown.size()))
      .end_object();
  return json_response(200, std::move(w).str());
}

member* visible_member(audience& a, const std::string& hash) {
  auto it = a.members.find(hash);
  if (it == a.members.end() || it->second.status == "forgotten") return nullptr;
  return &it->second;
}

http::response write_one(state& st, audience& a, const http::request& req,
                         write_options opt) {
  json_doc doc;
  if (!doc.parse(req.body)) return json_parse_error();
  opt.skip_merge_validation = query_true(req.query, "skip_merge_validation");
  auto o = write_member_input(st, a, doc.root, opt);
  if (o.kind == member_outcome::failed) return problem_of(o);
  json::writer w;
  write_member(w, a, *o.m);
  return json_response(200, std::move(w).str());
}

/// POST …/members/{hash}/tags: 204 always once the member exists; a malformed
/// body changes nothing (mailchimp.md §5).
http::response update_tags(state& st, audience& a, member& m,
                           const http::request& req) {
  http::response ok;
  ok.status = 204;
  ok.set("x-request-id", uuid4());
  json_doc doc;
  if (!doc.parse(req.body)) return ok;
  auto tags = get_field(doc.root, "tags");
  if (!tags || !tags->is_array()) return ok;
  std::vector<std::pair<std::string, bool>> changes;
  for (auto t : tags->get_array()) {
    auto name = get_string(t, "name");
    auto status = get_string(t, "status");
    if (!name || trim(*name).empty() || trim(*name).size() > 100 || !status ||
        (*status != "active" && *status != "inactive"))
      return ok;
    changes.emplace_back(std::string(trim(*name)), *status == "active");
  }
  for (auto& [name, active] : changes) {
    if (active) {
      auto id = tag_id(st, a, name);
      if (std::find(m.tags.begin(), m.tags.end(), id) == m.tags.end())
        m.tags.push_back(id);
    } else {
      m.tags.erase(std::remove_if(m.tags.begin(), m.tags.end(),
                                  [&](int64_t id) {
                                    return iequals(tag_name(a, id), name);
                                  }),
                   m.tags.end());
    }
  }
  if (!changes.empty()) m.last_changed = now_iso();
  return ok;
}

} // namespace

// -- shared with the control surface
// -----------------------------------------------------

bool seedable_status(std::string_view s) {
  return api_status(s) || s == "complained" || s == "forgotten";
}

void write_member(json::writer& w, const audience& a, const member& m) {
  std::string full_name(trim(std::string(merge_text(m, "FNAME")) + " " +
                             std::string(merge_text(m, "LNAME"))));
  w.begin_object()
      .key("id")
      .value(m.hash)
      .key("email_address")
      .value(m.email)
      .key("unique_email_id")
      .value(m.unique_email_id)
      .key("contact_id")
      .value(m.hash)
      .key("full_name")
      .value(full_name)
      .key("web_id")
      .value(m.web_id)
      .key("email_type")
      .value(m.email_type)
      .key("status")
      .value(public_status(m.status))
      .key("consents_to_one_to_one_messaging")
      .value(true)
      .key("merge_fields")
      .begin_object();
  for (auto& f : a.fields) {
    w.key(f.tag);
    write_merge_value(w, m, f);
  }
  w.end_object()
      .key("stats")
      .begin_object()
      .key("avg_open_rate")
      .value(0)
      .key("avg_click_rate")
      .value(0)
      .end_object()
      .key("ip_signup")
      .value(m.ip_signup)
      .key("timestamp_signup")
      .value(m.timestamp_signup)
      .key("ip_opt")
      .value(m.ip_opt)
      .key("timestamp_opt")
      .value(m.timestamp_opt)
      .key("member_rating")
      .value(2)
      .key("last_changed")
      .value(m.last_changed)
      .key("language")
      .value(m.language)
      .key("vip")
      .value(m.vip)
      .key("email_client")
      .value("")
      .key("source")
      .value(m.source)
      .key("tags_count")
      .value(static_cast<uint64_t>(m.tags.size()))
      .key("tags")
      .begin_array();
  for (auto id : m.tags)
    w.begin_object()
        .key("id")
        .value(id)
        .key("name")
        .value(tag_name(a, id))
        .end_object();
  w.end_array().key("list_id").value(a.id).end_object();
}

void write_sim_member(json::writer& w, const audience& a, const member& m) {
  w.begin_object()
      .key("id")
      .value(m.hash)
      .key("email_address")
      .value(m.email)
      .key("status")
      .value(m.status)
      .key("merge_fields")
      .begin_object();
  for (auto& [tag, value] : m.merge)
    w.key(tag).raw(value);
  w.end_object().key("tags").begin_array();
  for (auto id : m.tags)
    w.value(tag_name(a, id));
  w.end_array()
      .key("ip_signup")
      .value(m.ip_signup)
      .key("timestamp_signup")
      .value(m.timestamp_signup)
      .key("language")
      .value(m.language)
      .key("vip")
      .value(m.vip)
      .key("last_changed")
      .value(m.last_changed)
      .end_object();
}

std::string seed_member(state& st, audience& a, element input) {
  if (!input.is_object()) return "The body must be a JSON object.";
  auto email_v = get_string(input, "email_address");
  if (!email_v || !valid_email_syntax(trim(*email_v)))
    return "email_address must be a valid email address.";
  auto status = get_string(input, "status");
  if (!status || !seedable_status(*status))
    return "status must be one of subscribed, unsubscribed, cleaned, "
           "complained, forgotten, pending, transactional.";
  std::map<std::string, std::string> updates;
  errors_t errors;
  if (auto mf = get_field(input, "merge_fields");
      mf && !validate_merge(a, *mf, errors, updates))
    return "merge_fields: " + errors.front().first + ": " +
           errors.front().second;
  std::string email(trim(*email_v));
  auto hash = subscriber_hash(email);
  auto it = a.members.find(hash);
  if (it == a.members.end()) {
    member m;
    m.hash = hash;
    m.email = email;
    m.unique_email_id = random_hex(10);
    m.web_id = ++st.next_web_id;
    m.source = "Import";
    a.order.push_back(hash);
    it = a.members.emplace(hash, std::move(m)).first;
  }
  member& m = it->second;
  m.status = std::string(*status);
  for (auto& [tag, value] : updates)
    m.merge[tag] = value;
  copy_optional_fields(m, input);
  if (get_field(input, "tags")) {
    m.tags.clear();
    for (auto& n : tag_names_of(input, false)) {
      auto id = tag_id(st, a, n);
      if (std::find(m.tags.begin(), m.tags.end(), id) == m.tags.end())
        m.tags.push_back(id);
    }
  }
  m.last_changed = now_iso();
  return {};
}

merge_field& add_merge_field(audience& a, std::string tag, std::string name,
                             std::string type, bool required) {
  for (auto& f : a.fields) {
    if (f.tag == tag) {
      f.name = std::move(name);
      f.type = std::move(type);
      f.required = required;
      return f;
    }
  }
  merge_field f;
  f.merge_id = a.next_merge_id++;
  f.tag = std::move(tag);
  f.name = std::move(name);
  f.type = std::move(type);
  f.required = required;
  f.display_order = static_cast<int>(a.fields.size()) + 2;
  a.fields.push_back(std::move(f));
  return a.fields.back();
}

audience& create_audience(state& st, const std::string& owner, std::string name,
                          std::string id) {
  if (id.empty()) {
    do
      id = random_hex(10);
    while (st.lists.count(id));
  }
  audience a;
  a.id = id;
  a.web_id = random_number(100000, 999999);
  a.owner = owner;
  a.name = std::move(name);
  a.date_created = now_iso();
  a.permission_reminder = "You signed up on our site.";
  a.contact = {"Sandbox Creator", "1 Main St", "", "Atlanta", "GA",
               "30308",           "US",        ""};
  a.defaults = {"Sandbox Creator", "creator@sandbox.example", "News", "en"};
  add_merge_field(a, "FNAME", "First Name", "text");
  add_merge_field(a, "LNAME", "Last Name", "text");
  add_merge_field(a, "ADDRESS", "Address", "address");
  add_merge_field(a, "PHONE", "Phone Number", "phone");
  st.list_order.push_back(id);
  auto [it, ok] = st.lists.insert_or_assign(id, std::move(a));
  return it->second;
}

int64_t tag_id(state& st, audience& a, std::string_view name) {
  for (auto& [id, n] : a.tags)
    if (iequals(n, name)) return id;
  auto id = ++st.next_tag_id;
  a.tags.emplace_back(id, std::string(name));
  return id;
}

std::string_view tag_name(const audience& a, int64_t id) {
  for (auto& [i, n] : a.tags)
    if (i == id) return n;
  return {};
}

http::response api_request(state& st, const user& u, const http::request& req) {
  auto m = routes().match(req.method, req.path);
  if (m.result == http::route_match::not_found) return not_found();
  if (m.result == http::route_match::method_not_allowed) {
    auto r = mc_problem(405, "Method Not Allowed",
                        "The requested method and resource are not compatible. "
                        "See the Allow header for this resource's available "
                        "methods.");
    r.set("allow", m.allow);
    return r;
  }
  switch (m.route) {
  case r_root:
    return account_info(st, u);
  case r_ping:
    return json_response(200, R"({"health_status":"Everything's Chimpy!"})");
  case r_lists:
    return get_lists(st, u, req);
  case r_lists_create:
    return create_list(st, u, req);
  default:
    break;
  }
  auto* a = st.find_list(m.param("list_id"));
  if (!a || a->owner != u.login) return not_found();
  switch (m.route) {
  case r_list: {
    json::writer w;
    write_list(w, *a);
    return json_response(200, std::move(w).str());
  }
  case r_list_delete: {
    auto id = a->id;
    st.lists.erase(id);
    st.list_order.erase(
        std::remove(st.list_order.begin(), st.list_order.end(), id),
        st.list_order.end());
    http::response r;
    r.status = 204;
    r.set("x-request-id", uuid4());
    return r;
  }
  case r_list_batch:
    return batch_subscribe(st, *a, req);
  case r_merge_fields: {
    size_t count, offset;
    paging(req.query, count, offset);
    json::writer w;
    w.begin_object().key("merge_fields").begin_array();
    for (size_t i = offset; i < a->fields.size() && i - offset < count; ++i)
      write_merge_field(w, *a, a->fields[i]);
    w.end_array()
        .key("list_id")
        .value(a->id)
        .key("total_items")
        .value(static_cast<uint64_t>(a->fields.size()))
        .end_object();
    return json_response(200, std::move(w).str());
  }
  case r_members:
    return get_members(*a, req);
  case r_members_add: {
    write_options opt;
    opt.mode = write_mode::post;
    return write_one(st, *a, req, opt);
  }
  case r_member_put: {
    auto hash = hash_param(m.param("hash"));
    if (hash.empty()) return not_found();
    write_options opt;
    opt.mode = write_mode::put;
    opt.expected_hash = hash;
    return write_one(st, *a, req, opt);
  }
  default:
    break;
  }
  auto* mem = visible_member(*a, hash_param(m.param("hash")));
  if (!mem) return not_found();
  switch (m.route) {
  case r_member: {
    json::writer w;
    write_member(w, *a, *mem);
    return json_response(200, std::move(w).str());
  }
  case r_member_tags:
    return update_tags(st, *a, *mem, req);
  case r_member_tags_get: {
    json::writer w;
    w.begin_object().key("tags").begin_array();
    for (auto id : mem->tags)
      w.begin_object()
          .key("id")
          .value(id)
          .key("name")
          .value(tag_name(*a, id))
          .key("date_added")
          .value(mem->last_changed)
          .end_object();
    w.end_array()
        .key("total_items")
        .value(static_cast<uint64_t>(mem->tags.size()))
        .end_object();
    return json_response(200, std::move(w).str());
  }
  default:
    return not_found();
  }
}

} // namespace ls::mcsim::detail
