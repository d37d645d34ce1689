// A subscriber as a Mailchimp batch member (actors/mapper.hpp: to_member,
// batch_body), with subscribers made from the input.
// Properties: skip reasons as documented; the email trimmed and lowercased;
// merge fields in order FNAME, LNAME, PHONE, COMPANY, BIRTHDAY, each non-empty,
// at most 255 bytes, valid UTF-8, without control characters or surrounding
// whitespace; BIRTHDAY as MM/DD; tags distinct and clean; the batch body is
// JSON that reads back to the same members.
#include "actors/mapper.hpp"
#include "fuzz.hpp"
#include "http/codec/utf8.hpp"
#include "http/codec/validation.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <simdjson.h>

namespace {

bool is_space_cp(uint32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0xA0 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

/// What clean() promises of every value sent.
bool clean_value(std::string_view v) {
  if (v.empty() || v.size() > 255 || !ls::validation::is_utf8(v)) return false;
  uint32_t cp = 0;
  for (size_t i = 0; i < v.size();) {
    auto n = ls::utf8::decode(v, i, cp);
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return false;
    if ((i == 0 || i + n == v.size()) && is_space_cp(cp)) return false;
    i += n;
  }
  return true;
}

std::string sanitized(std::string_view s) {
  std::string out;
  ls::utf8::append_sanitized(out, s);
  return out;
}

std::string text(FuzzedDataProvider& fdp) {
  return fdp.ConsumeRandomLengthString(300);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  ls::store::subscriber s;
  static const char* statuses[] = {"subscribed", "subscribed", "unsubscribed",
                                   ""};
  s.status = fdp.PickValueInArray(statuses);
  s.email = text(fdp);
  s.name = text(fdp);
  s.first_name = text(fdp);
  s.last_name = text(fdp);
  s.phone = text(fdp);
  static const char* keys[] = {
      "first_name",    "FirstName",    "fname",    "given-name", "last_name",
      "surname",       "Family Name",  "name",     "full_name",  "company",
      "employer",      "Organisation", "birthday", "DOB",        "birth_date",
      "date.of.birth", "city"};
  auto nfields = fdp.ConsumeIntegralInRange<int>(0, 6);
  for (int i = 0; i < nfields; ++i)
    s.fields.emplace_back(
        fdp.ConsumeBool() ? std::string(fdp.PickValueInArray(keys)) : text(fdp),
        text(fdp));
  auto ntags = fdp.ConsumeIntegralInRange<int>(0, 5);
  for (int i = 0; i < ntags; ++i)
    s.tags.push_back(text(fdp));
  s.opt_in.ip = text(fdp);
  s.opt_in.at = fdp.ConsumeIntegral<int64_t>();
  bool double_optin = fdp.ConsumeBool();
  std::string shown = "email [" + s.email + "] name [" + s.name + "]";

  ls::mapper::skip_reason why;
  auto m = ls::mapper::to_member(s, why);
  if (s.status != "subscribed") {
    FUZZ_CHECK(!m && why == ls::mapper::skip_reason::unsubscribed, shown);
    return 0;
  }
  if (!m) {
    FUZZ_CHECK(why == ls::mapper::skip_reason::phone_only, shown);
    return 0;
  }
  FUZZ_CHECK(why == ls::mapper::skip_reason::none, shown);
  FUZZ_CHECK(!m->email.empty() && m->status == "subscribed", shown);
  for (char c : m->email)
    FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), shown);

  static const char* order[] = {"FNAME", "LNAME", "PHONE", "COMPANY",
                                "BIRTHDAY"};
  size_t at = 0;
  for (auto& [tag, v] : m->merge_fields) {
    while (at < 5 && tag != order[at])
      ++at;
    FUZZ_CHECK(at < 5, shown + " field " + tag);
    ++at;
    FUZZ_CHECK(clean_value(v), shown + " " + tag + " [" + v + "]");
    if (tag == "BIRTHDAY")
      FUZZ_CHECK(v.size() == 5 && v[2] == '/', shown + " [" + v + "]");
  }
  for (size_t i = 0; i < m->tags.size(); ++i) {
    FUZZ_CHECK(clean_value(m->tags[i]), shown + " tag [" + m->tags[i] + "]");
    for (size_t j = 0; j < i; ++j)
      FUZZ_CHECK(m->tags[i] != m->tags[j], shown);
  }
  if (!m->ip_signup.empty()) {
    unsigned char buf[16];
    FUZZ_CHECK(inet_pton(AF_INET, m->ip_signup.c_str(), buf) == 1 ||
                   inet_pton(AF_INET6, m->ip_signup.c_str(), buf) == 1,
               m->ip_signup);
  }
  if (!m->timestamp_signup.empty())
    FUZZ_CHECK(m->timestamp_signup.size() == 25 &&
                   m->timestamp_signup.ends_with("+00:00") &&
                   m->timestamp_signup[10] == 'T',
               m->timestamp_signup);

  // The batch body reads back to the member.
  auto body = ls::mapper::batch_body({*m, *m}, double_optin);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  FUZZ_CHECK(!parser.parse(body).get(root), body);
  simdjson::dom::array members;
  FUZZ_CHECK(!root["members"].get(members) && members.size() == 2, body);
  for (auto e : members) {
    std::string_view email, status;
    FUZZ_CHECK(!e["email_address"].get(email) && email == sanitized(m->email),
               body);
    if (double_optin)
      FUZZ_CHECK(!e["status_if_new"].get(status) && status == "pending" &&
                     e["status"].error() == simdjson::NO_SUCH_FIELD,
                 body);
    else
      FUZZ_CHECK(!e["status"].get(status) && status == "subscribed", body);
    simdjson::dom::object fields;
    if (m->merge_fields.empty()) {
      FUZZ_CHECK(e["merge_fields"].error() == simdjson::NO_SUCH_FIELD, body);
    } else {
      FUZZ_CHECK(!e["merge_fields"].get(fields), body);
      size_t n = 0;
      for (auto [k, v] : fields) {
        std::string_view sv;
        FUZZ_CHECK(n < m->merge_fields.size() &&
                       k == m->merge_fields[n].first && !v.get(sv) &&
                       sv == m->merge_fields[n].second,
                   body);
        ++n;
      }
      FUZZ_CHECK(n == m->merge_fields.size(), body);
    }
    simdjson::dom::array tags;
    if (!m->tags.empty()) {
      FUZZ_CHECK(!e["tags"].get(tags) && tags.size() == m->tags.size(), body);
      size_t n = 0;
      for (auto t : tags) {
        std::string_view sv;
        FUZZ_CHECK(!t.get(sv) && sv == m->tags[n++], body);
      }
    }
  }
  bool update = false;
  FUZZ_CHECK(!root["update_existing"].get(update) && update, body);
  return 0;
}
