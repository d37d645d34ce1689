// Reading Mailchimp's answers (actors/mailchimp.hpp: parse_token,
// parse_metadata, parse_lists, parse_list, parse_account_contact,
// problem_detail) and building requests from what was read (create_list_body,
// authorize_url, token_request_body).
// Properties: never throws; a refusal says why; what is returned keeps the
// documented promises (an access token is non-empty, a data center is 1-16
// letters or digits, every audience has an id, a user id is never empty); the
// request bodies built from read values are JSON or forms that read back to
// those values.
#include "actors/mailchimp.hpp"

#include "fuzz.hpp"
#include "http/codec/form.hpp"

#include <simdjson.h>

namespace {

std::string field(simdjson::dom::element obj, const char* key) {
  std::string_view s;
  if (obj[key].get(s)) return "<missing>";
  return std::string(s);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = FUZZ_INPUT;
  try {
    std::string error;
    unsigned status = size > 0 && data[0] % 2 ? 200 : 400;
    if (auto t = ls::mailchimp::parse_token(status, in, error))
      FUZZ_CHECK(!t->empty() && status == 200, in);
    else
      FUZZ_CHECK(!error.empty(), in);

    error.clear();
    if (auto m = ls::mailchimp::parse_metadata(in, error)) {
      FUZZ_CHECK(!m->dc.empty() && m->dc.size() <= 16, in);
      for (char c : m->dc)
        FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                       (c >= 'A' && c <= 'Z'),
                   in);
      FUZZ_CHECK(!m->user_id.empty(), in);
      ls::mailchimp::endpoints e{"https://login.mailchimp.com",
                                 "https://{dc}.api.mailchimp.com/3.0"};
      FUZZ_CHECK(e.api_for(m->dc) ==
                     "https://" + m->dc + ".api.mailchimp.com/3.0",
                 in);
      // The OAuth redirect and token bodies carry the values through.
      auto url = ls::mailchimp::authorize_url(e, m->user_id, m->account_name,
                                              m->login_email);
      auto q = url.find('?');
      auto pairs = ls::form::parse(std::string_view(url).substr(q + 1));
      // No NUL survives decoding (form.hpp), so only values without one.
      if (m->user_id.find('\0') == std::string::npos &&
          m->account_name.find('\0') == std::string::npos &&
          m->login_email.find('\0') == std::string::npos) {
        FUZZ_CHECK(pairs && pairs->size() == 4, url);
        FUZZ_CHECK(ls::form::first(*pairs, "client_id") == m->user_id, url);
        FUZZ_CHECK(ls::form::first(*pairs, "redirect_uri") == m->account_name,
                   url);
        FUZZ_CHECK(ls::form::first(*pairs, "state") == m->login_email, url);
        auto body = ls::mailchimp::token_request_body(
            m->user_id, m->dc, m->account_name, m->login_email);
        auto form = ls::form::parse(body);
        FUZZ_CHECK(form && form->size() == 5 &&
                       ls::form::first(*form, "code") == m->login_email &&
                       ls::form::first(*form, "client_secret") == m->dc,
                   body);
      }
    } else {
      FUZZ_CHECK(!error.empty(), in);
    }

    error.clear();
    if (auto page = ls::mailchimp::parse_lists(in, error)) {
      for (auto& a : page->items)
        FUZZ_CHECK(!a.id.empty(), in);
    } else {
      FUZZ_CHECK(!error.empty(), in);
    }

    error.clear();
    if (auto a = ls::mailchimp::parse_list(in, error))
      FUZZ_CHECK(!a->id.empty(), in);
    else
      FUZZ_CHECK(!error.empty(), in);

    error.clear();
    if (auto c = ls::mailchimp::parse_account_contact(in, error)) {
      auto body =
          ls::mailchimp::create_list_body(c->city, *c, c->state, c->zip);
      simdjson::dom::parser p;
      simdjson::dom::element root;
      FUZZ_CHECK(!p.parse(body).get(root), body);
      auto contact = root["contact"];
      FUZZ_CHECK(!contact.error(), body);
      FUZZ_CHECK(field(root, "name") == c->city &&
                     field(contact.value_unsafe(), "company") == c->company &&
                     field(contact.value_unsafe(), "address1") == c->address1 &&
                     field(contact.value_unsafe(), "country") == c->country,
                 body);
      auto defaults = root["campaign_defaults"];
      FUZZ_CHECK(!defaults.error() &&
                     field(defaults.value_unsafe(), "from_name") == c->state &&
                     field(defaults.value_unsafe(), "from_email") == c->zip,
                 body);
    } else {
      FUZZ_CHECK(!error.empty(), in);
    }

    auto detail = ls::mailchimp::problem_detail(status, in);
    FUZZ_CHECK(!detail.empty(), in);
  } catch (...) {
    FUZZ_CHECK(false, in); // the readers answer or refuse, never throw
  }
  return 0;
}
