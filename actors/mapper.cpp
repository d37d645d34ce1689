#include "actors/mapper.hpp"

#include "http/codec/json.hpp"
#include "http/codec/time.hpp"
#include "http/codec/utf8.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <netinet/in.h>
#include <simdjson.h>
#include <utility>

namespace ls::mapper {

namespace {

constexpr size_t value_limit = 255; // bytes of a Mailchimp text merge field

// -- UTF-8 and whitespace -----------------------------------------------------

size_t utf8_decode(std::string_view s, size_t i, uint32_t& cp) {
  return utf8::decode(s, i, cp);
}

bool is_space_cp(uint32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0xA0 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// Length of the whitespace character at s[i], or 0.
size_t space_at(std::string_view s, size_t i) {
  uint32_t cp;
  auto n = utf8_decode(s, i, cp);
  return n != 0 && is_space_cp(cp) ? n : 0;
}

// Length of the whitespace character that ends at s[end - 1], or 0.
size_t space_before(std::string_view s, size_t end) {
  for (size_t n = 1; n <= 3 && n <= end; ++n)
    if (space_at(s, end - n) == n) return n;
  return 0;
}

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e) {
    auto n = space_at(s, b);
    if (n == 0) break;
    b += n;
  }
  while (e > b) {
    auto n = space_before(s, e);
    if (n == 0) break;
    e -= n;
  }
  return s.substr(b, e - b);
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

/// A value fit for Mailchimp: invalid UTF-8 → U+FFFD, control characters →
/// space, trimmed, clipped to 255 bytes (then trimmed again).
std::string clean(std::string_view v) {
  std::string t;
  t.reserve(std::min(v.size(), value_limit * 2));
  for (size_t i = 0; i < v.size();) {
    uint32_t cp;
    auto n = utf8_decode(v, i, cp);
    if (n == 0) {
      t += "\xEF\xBF\xBD";
      ++i;
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) {
      t += ' ';
      i += n;
    } else {
      t.append(v.substr(i, n));
      i += n;
    }
    if (t.size() > value_limit * 4) // the rest would be clipped anyway
      break;
  }
  return std::string{trim(clip_utf8(trim(t), value_limit))};
}

// -- custom fields
// --------------------------------------------------------------

/// A field key compared loosely: lowercase, without '_', '-', '.', spaces.
std::string norm_key(std::string_view k) {
  std::string out;
  out.reserve(k.size());
  for (char c : k)
    if (c != '_' && c != '-' && c != '.' && c != ' ') out += lower(c);
  return out;
}

/// The cleaned value of the first custom field named by one of `aliases`
/// (normalised keys, in order of preference) that is not empty.
std::string custom(const store::subscriber& s,
                   std::initializer_list<std::string_view> aliases) {
  for (auto alias : aliases)
    for (auto& [k, v] : s.fields)
      if (norm_key(k) == alias)
        if (auto c = clean(v); !c.empty()) return c;
  return {};
}

/// "YYYY-MM-DDTHH:MM:SS+00:00" into `out`, or nothing when unset. (An out
/// parameter: returning the string trips a bogus GCC 12 -Warray-bounds.)
void signup_time(int64_t us, std::string& out) {
  out.clear();
  if (us <= 0) return;
  auto r = timefmt::rfc3339(us); // "2024-01-02T03:04:05.678Z"
  if (r.size() < 20 || r[4] != '-' || r[19] != '.') return; // year past 9999
  out.assign(r, 0, 19);
  out += "+00:00";
}

std::string signup_ip(std::string_view raw) {
  auto t = trim(raw);
  if (t.empty() || t.size() > 45) return {};
  std::string ip{t};
  in_addr a4;
  in6_addr a6;
  if (inet_pton(AF_INET, ip.c_str(), &a4) == 1 ||
      inet_pton(AF_INET6, ip.c_str(), &a6) == 1)
    return ip;
  return {};
}

// -- birthdays
// --------------------------------------------------------------------

struct token {
  bool number = false;
  uint32_t value = 0;
  size_t digits = 0;
  bool ordinal = false; // "4th"
  std::string word;     // lowercase letters
  std::string sep;      // separators before it, spaces left out
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::optional<std::vector<token>> tokenize(std::string_view s) {
  std::vector<token> out;
  std::string sep;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (is_digit(c)) {
      token t;
      t.number = true;
      while (i < s.size() && is_digit(s[i])) {
        if (++t.digits > 8) return std::nullopt;
        t.value = t.value * 10 + static_cast<uint32_t>(s[i] - '0');
        ++i;
      }
      size_t j = i;
      while (j < s.size() && is_alpha(s[j]))
        ++j;
      if (j > i) {
        auto suffix = lower(s.substr(i, j - i));
        if (suffix != "st" && suffix != "nd" && suffix != "rd" &&
            suffix != "th")
          return std::nullopt;
        t.ordinal = true;
        i = j;
      }
      t.sep = std::exchange(sep, {});
      out.push_back(std::move(t));
    } else if (is_alpha(c)) {
      token t;
      while (i < s.size() && is_alpha(s[i]))
        t.word += lower(s[i++]);
      t.sep = std::exchange(sep, {});
      out.push_back(std::move(t));
    } else if (c == ' ' || c == '\t') {
      ++i;
    } else if (c == ',' || c == '.' || c == '/' || c == '-') {
      sep += c;
      ++i;
    } else {
      return std::nullopt;
    }
  }
  if (out.empty() || !out.front().sep.empty()) return std::nullopt;
  if (sep.find_first_not_of(".,") != std::string::npos) // "March 4." is fine
    return std::nullopt;
  return out;
}

/// 1..12 for an English month name, full or abbreviated ("sept" too), else 0.
unsigned month_of(std::string_view w) {
  static constexpr std::array<std::string_view, 12> names = {
      "january", "february", "march",     "april",   "may",      "june",
      "july",    "august",   "september", "october", "november", "december"};
  for (unsigned m = 0; m < names.size(); ++m)
    if (w == names[m] || w == names[m].substr(0, 3)) return m + 1;
  return w == "sept" ? 9 : 0;
}

constexpr bool is_leap(uint32_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/// "MM/DD" when the date exists (Feb 29 needs a leap year only when the year
/// is known).
std::optional<std::string> month_day(uint32_t m, uint32_t d,
                                     std::optional<uint32_t> year) {
  static constexpr uint32_t days[] = {31, 29, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > days[m - 1]) return std::nullopt;
  if (m == 2 && d == 29 && year && !is_leap(*year)) return std::nullopt;
  std::string out = "00/00";
  out[0] = static_cast<char>('0' + m / 10);
  out[1] = static_cast<char>('0' + m % 10);
  out[3] = static_cast<char>('0' + d / 10);
  out[4] = static_cast<char>('0' + d % 10);
  return out;
}

/// Month and day of two numbers of unknown order: clear only when one is over
/// 12 or both are equal. Never guesses.
std::optional<std::pair<uint32_t, uint32_t>> order_of(uint32_t a, uint32_t b) {
  if (a == b) return std::pair{a, b};
  if (a > 12 && b > 12) return std::nullopt;
  if (a > 12) return std::pair{b, a};
  if (b > 12) return std::pair{a, b};
  return std::nullopt; // 03/04: March 4 or 3 April?
}

bool single_separator(const token& t) {
  return t.sep.size() == 1;
}

std::optional<std::string> numeric_birthday(const std::vector<token>& t) {
  for (auto& x : t)
    if (x.ordinal) return std::nullopt;
  if (t.size() == 1 && t[0].digits == 8) { // YYYYMMDD
    auto v = t[0].value;
    return month_day(v / 100 % 100, v % 100, v / 10000);
  }
  if (t.size() == 2) {
    if (t[0].digits > 2 || t[1].digits > 2 || !single_separator(t[1]))
      return std::nullopt;
    auto md = order_of(t[0].value, t[1].value);
    if (!md) return std::nullopt;
    return month_day(md->first, md->second, std::nullopt);
  }
  if (t.size() == 3) {
    if (!single_separator(t[1]) || t[1].sep != t[2].sep) return std::nullopt;
    if (t[0].digits == 4 && t[1].digits <= 2 && t[2].digits <= 2) // ISO
      return month_day(t[1].value, t[2].value, t[0].value);
    if (t[0].digits > 2 || t[1].digits > 2 ||
        (t[2].digits != 4 && t[2].digits != 2))
      return std::nullopt;
    auto md = order_of(t[0].value, t[1].value);
    if (!md) return std::nullopt;
    std::optional<uint32_t> year;
    if (t[2].digits == 4) year = t[2].value;
    return month_day(md->first, md->second, year);
  }
  return std::nullopt;
}

std::optional<std::string> named_birthday(const std::vector<token>& t) {
  unsigned month = 0;
  bool any_ordinal = false;
  for (auto& x : t) {
    if (!x.number) {
      if (month != 0) return std::nullopt; // two month names
      month = month_of(x.word);
      if (month == 0) return std::nullopt;
    }
    any_ordinal = any_ordinal || x.ordinal;
  }
  // Ordinals are days. Otherwise a 1-2 digit number is the day; a four-digit
  // number (or, next to an ordinal day, a two-digit one) is a year.
  std::optional<uint32_t> day, year;
  bool year_known = false;
  for (auto& x : t) {
    if (!x.number) continue;
    bool is_day = x.ordinal || (!any_ordinal && x.digits <= 2);
    if (is_day) {
      if (day || x.digits > 2) return std::nullopt;
      day = x.value;
    } else if (x.digits == 4 || x.digits == 2) {
      if (year) return std::nullopt;
      year = x.value;
      year_known = x.digits == 4;
    } else {
      return std::nullopt;
    }
  }
  if (!day) return std::nullopt;
  return month_day(month, *day, year_known ? year : std::nullopt);
}

// -- batch answers
// -----------------------------------------------------------------

std::string str(simdjson::dom::element obj, const char* key) {
  std::string_view s;
  if (obj[key].get(s)) return {};
  return std::string{s};
}

/// A count from `total_key`, else the size of the `array_key` array.
bool read_count(simdjson::dom::element root, const char* total_key,
                const char* array_key, size_t& out) {
  uint64_t n = 0;
  if (!root[total_key].get(n)) {
    out = static_cast<size_t>(n);
    return true;
  }
  simdjson::dom::array a;
  if (!root[array_key].get(a)) {
    out = a.size();
    return true;
  }
  return false;
}

void add_distinct(std::vector<std::string>& list, std::string s, size_t max) {
  if (list.size() < max && std::find(list.begin(), list.end(), s) == list.end())
    list.push_back(std::move(s));
}

void merge_examples(example_list& into, const example_list& from) {
  into.count += from.count;
  for (auto& e : from.examples)
    add_distinct(into.examples, e, 3);
}

/// The reason of an "other" refusal, with the address at its start replaced
/// so that the same refusal of many members reads the same.
std::string reason_of(std::string_view email, std::string_view error,
                      std::string_view field, std::string_view message) {
  std::string r;
  if (clean(error).empty()) { // absent, or only spaces and control characters
    r = "no reason given";
  } else if (!email.empty() && error.size() > email.size() &&
             iequals(error.substr(0, email.size()), email) &&
             error[email.size()] == ' ') {
    r = "the contact";
    r += error.substr(email.size());
  } else {
    r = error;
  }
  if (!field.empty()) {
    r += " (";
    r += field;
    if (!message.empty()) {
      r += ": ";
      r += message;
    }
    r += ')';
  }
  return clean(r);
}

std::string count_note(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string examples_of(const example_list& l) {
  if (l.examples.empty()) return {};
  std::string out = " (e.g. ";
  for (size_t i = 0; i < l.examples.size(); ++i) {
    if (i > 0) out += ", ";
    out += l.examples[i];
  }
  if (l.count > l.examples.size()) out += ", \xE2\x80\xA6"; // …
  out += ')';
  return out;
}

} // namespace

// -- public
// -------------------------------------------------------------------------

std::string clip_utf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string{s};
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp;
    auto n = utf8_decode(s, i, cp);
    if (n == 0) n = 1; // an invalid byte stands alone
    if (n > max_bytes - i) break;
    i += n;
  }
  return std::string{s.substr(0, i)};
}

std::pair<std::string, std::string> split_name(std::string_view full) {
  auto t = trim(full);
  size_t i = 0;
  while (i < t.size() && space_at(t, i) == 0) {
    uint32_t cp;
    auto n = utf8_decode(t, i, cp);
    i += n == 0 ? 1 : n;
  }
  std::pair<std::string, std::string> out{std::string{t.substr(0, i)}, {}};
  auto rest = trim(t.substr(i));
  bool in_space = false;
  for (size_t j = 0; j < rest.size();) {
    if (auto n = space_at(rest, j); n != 0) {
      in_space = true;
      j += n;
      continue;
    }
    if (in_space) out.second += ' ';
    in_space = false;
    out.second += rest[j++];
  }
  return out;
}

std::optional<std::string> normalize_birthday(std::string_view input) {
  auto s = trim(input);
  if (s.empty() || s.size() > 64) return std::nullopt;
  // An ISO date-time ("1990-03-04T00:00:00Z"): the date is enough.
  if (s.size() > 10 && s[4] == '-' && s[7] == '-' &&
      (s[10] == 'T' || s[10] == 't' ||
       (s[10] == ' ' && s.size() > 11 && is_digit(s[11]))) &&
      std::all_of(s.begin(), s.begin() + 4, is_digit))
    s = s.substr(0, 10);
  auto tokens = tokenize(s);
  if (!tokens) return std::nullopt;
  // Filler words: "4th of March", "the 4th of March".
  std::erase_if(*tokens, [](const token& t) {
    return t.word == "of" || t.word == "the";
  });
  if (tokens->empty()) return std::nullopt;
  bool has_word = std::any_of(tokens->begin(), tokens->end(),
                              [](const token& t) { return !t.number; });
  return has_word ? named_birthday(*tokens) : numeric_birthday(*tokens);
}

std::optional<member> to_member(const store::subscriber& s, skip_reason& why) {
  why = skip_reason::none;
  // Not subscribed here, but asked to be again through the public form: sent
  // as "pending", so Mailchimp's confirmation email is the person's proof.
  bool asks_again = s.status != "subscribed" && s.resubscribe_request.at != 0;
  if (s.status != "subscribed" && !asks_again) {
    why = skip_reason::unsubscribed;
    return std::nullopt;
  }
  member m;
  m.email = lower(trim(s.email));
  if (m.email.empty()) {
    why = skip_reason::phone_only;
    return std::nullopt;
  }
  m.status = asks_again ? "pending" : "subscribed";

  auto full = clean(s.name);
  if (full.empty()) full = custom(s, {"fullname", "name"});
  auto [first_word, rest] = split_name(full);
  auto fname = clean(s.first_name);
  if (fname.empty()) fname = custom(s, {"firstname", "fname", "givenname"});
  if (fname.empty()) fname = std::move(first_word);
  auto lname = clean(s.last_name);
  if (lname.empty())
    lname = custom(s, {"lastname", "lname", "surname", "familyname"});
  if (lname.empty()) lname = std::move(rest);
  auto phone = clean(s.phone);
  auto company =
      custom(s, {"company", "organization", "organisation", "employer"});
  std::string birthday;
  for (auto alias : {"birthday", "dob", "birthdate", "dateofbirth"}) {
    for (auto& [k, v] : s.fields)
      if (norm_key(k) == alias)
        if (auto b = normalize_birthday(v)) {
          birthday = std::move(*b);
          break;
        }
    if (!birthday.empty()) break;
  }

  auto put = [&m](const char* tag, std::string v) {
    if (!v.empty()) m.merge_fields.emplace_back(tag, std::move(v));
  };
  put("FNAME", std::move(fname));
  put("LNAME", std::move(lname));
  put("PHONE", std::move(phone));
  put("COMPANY", std::move(company));
  put("BIRTHDAY", std::move(birthday));

  for (auto& t : s.tags)
    if (auto c = clean(t); !c.empty())
      if (std::find(m.tags.begin(), m.tags.end(), c) == m.tags.end())
        m.tags.push_back(std::move(c));

  auto& signup = asks_again ? s.resubscribe_request : s.opt_in;
  m.ip_signup = signup_ip(signup.ip);
  signup_time(signup.at, m.timestamp_signup);
  return m;
}

std::string batch_body(const std::vector<member>& members, bool double_optin) {
  json::writer w;
  w.reserve(members.size() * 256 + 64);
  w.begin_object().key("members").begin_array();
  for (auto& m : members) {
    // See the header: "status" so compliance refusals are reported; with double
    // opt-in only "status_if_new", so members already subscribed are not sent
    // back to pending.
    w.begin_object().key("email_address").value(m.email);
    if (m.status == "pending")
      w.key("status").value("pending"); // a re-subscribe request: always asks
    else if (double_optin)
      w.key("status_if_new").value("pending");
    else
      w.key("status").value(m.status.empty() ? std::string_view{"subscribed"}
                                             : std::string_view{m.status});
    if (!m.merge_fields.empty()) {
      w.key("merge_fields").begin_object();
      for (auto& [tag, v] : m.merge_fields)
        w.key(tag).value(v);
      w.end_object();
    }
    if (!m.tags.empty()) {
      w.key("tags").begin_array();
      for (auto& t : m.tags)
        w.value(t);
      w.end_array();
    }
    if (!m.ip_signup.empty()) w.key("ip_signup").value(m.ip_signup);
    if (!m.timestamp_signup.empty())
      w.key("timestamp_signup").value(m.timestamp_signup);
    w.end_object();
  }
  w.end_array()
      .key("update_existing")
      .value(true)
      .key("sync_tags")
      .value(false)
      .end_object();
  return std::move(w).str();
}

void example_list::add(std::string email) {
  ++count;
  if (!email.empty()) add_distinct(examples, std::move(email), 3);
}

size_t batch_result::errors() const {
  return must_resubscribe.count + invalid_email.count + forgotten.count +
         other.count;
}

std::optional<batch_result> classify_batch(std::string_view body,
                                           std::string& error) {
  // One parser per thread, reused: a new one allocates for every answer.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root)) {
    error = "Mailchimp's batch answer is not JSON";
    return std::nullopt;
  }
  if (!root.is_object()) {
    error = "Mailchimp's batch answer is not a JSON object";
    return std::nullopt;
  }
  batch_result r;
  bool known = read_count(root, "total_created", "new_members", r.created);
  known =
      read_count(root, "total_updated", "updated_members", r.updated) || known;
  auto errors_field = root["errors"];
  if (errors_field.error() == simdjson::NO_SUCH_FIELD ||
      (!errors_field.error() && errors_field.value_unsafe().is_null())) {
    if (!known) {
      error = "Mailchimp's batch answer has no members, counts or errors";
      return std::nullopt;
    }
    return r;
  }
  simdjson::dom::array errors;
  if (errors_field.get(errors)) {
    error = "Mailchimp's batch answer has an \"errors\" that is not an array";
    return std::nullopt;
  }
  for (auto item : errors) {
    std::string email, text, field, message;
    if (item.is_object()) {
      email = clip_utf8(str(item, "email_address"), value_limit);
      text = str(item, "error");
      field = str(item, "field");
      message = str(item, "field_message");
    }
    if (icontains(text, "is in a compliance state")) {
      r.must_resubscribe.add(std::move(email));
    } else if (icontains(text,
                         "was permanently deleted and cannot be re-imported")) {
      r.forgotten.add(std::move(email));
    } else if (icontains(text, "looks fake or invalid") ||
               icontains(text, "Please provide a valid email address")) {
      r.invalid_email.add(std::move(email));
    } else {
      add_distinct(r.other_reasons, reason_of(email, text, field, message), 5);
      r.other.add(std::move(email));
    }
  }
  return r;
}

std::vector<std::string> skip_notes(const batch_result& totals,
                                    size_t phone_only) {
  std::vector<std::string> notes;
  auto& t = totals;
  if (t.must_resubscribe.count > 0)
    notes.push_back(
        count_note(t.must_resubscribe.count,
                   "must re-subscribe in Mailchimp before they can receive "
                   "emails",
                   "must re-subscribe in Mailchimp before they can receive "
                   "emails") +
        examples_of(t.must_resubscribe));
  if (t.invalid_email.count > 0)
    notes.push_back(count_note(t.invalid_email.count,
                               "was refused as an invalid email address",
                               "were refused as invalid email addresses") +
                    examples_of(t.invalid_email));
  if (t.forgotten.count > 0)
    notes.push_back(count_note(t.forgotten.count,
                               "was permanently deleted in Mailchimp (GDPR) "
                               "and cannot be re-imported",
                               "were permanently deleted in Mailchimp (GDPR) "
                               "and cannot be re-imported") +
                    examples_of(t.forgotten));
  if (t.other.count > 0) {
    auto note = count_note(t.other.count, "was refused by Mailchimp",
                           "were refused by Mailchimp");
    for (size_t i = 0; i < t.other_reasons.size(); ++i) {
      note += i == 0 ? ": " : " / ";
      note += t.other_reasons[i];
    }
    notes.push_back(note + examples_of(t.other));
  }
  if (phone_only > 0)
    notes.push_back(count_note(phone_only,
                               "has only a phone number and was skipped",
                               "have only a phone number and were skipped"));
  return notes;
}

void merge(batch_result& into, const batch_result& from) {
  into.created += from.created;
  into.updated += from.updated;
  merge_examples(into.must_resubscribe, from.must_resubscribe);
  merge_examples(into.invalid_email, from.invalid_email);
  merge_examples(into.forgotten, from.forgotten);
  merge_examples(into.other, from.other);
  for (auto& r : from.other_reasons)
    add_distinct(into.other_reasons, r, 5);
}

} // namespace ls::mapper
