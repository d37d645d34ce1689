#include "actors/mailchimp.hpp"

#include "http/codec/form.hpp"
#include "http/codec/json.hpp"

#include <simdjson.h>

namespace ls::mailchimp {

namespace {

std::optional<simdjson::dom::element>
parse(simdjson::dom::parser& p, std::string_view body, std::string& error) {
  simdjson::dom::element root;
  if (p.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
    error = "Mailchimp answered something that is not JSON";
    return std::nullopt;
  }
  if (!root.is_object()) {
    error = "Mailchimp answered an unexpected JSON value";
    return std::nullopt;
  }
  return root;
}

std::string string_or_number(simdjson::dom::element e) {
  std::string_view s;
  if (!e.get(s)) return std::string{s};
  int64_t i;
  if (!e.get(i)) return std::to_string(i);
  uint64_t u;
  if (!e.get(u)) return std::to_string(u);
  return {};
}

std::string str(simdjson::dom::element obj, const char* key) {
  std::string_view s;
  if (obj[key].get(s)) return {};
  return std::string{s};
}

std::optional<audience> read_list(simdjson::dom::element l) {
  audience a;
  a.id = str(l, "id");
  a.name = str(l, "name");
  if (a.id.empty()) return std::nullopt;
  bool dbl = false;
  if (!l["double_optin"].get(dbl)) a.double_optin = dbl;
  uint64_t count = 0;
  if (!l["stats"]["member_count"].get(count)) a.member_count = count;
  return a;
}

} // namespace

std::string endpoints::api_for(std::string_view dc) const {
  std::string out = api_base;
  if (auto pos = out.find("{dc}"); pos != std::string::npos)
    out.replace(pos, 4, dc);
  return out;
}

std::string authorize_url(const endpoints& e, std::string_view client_id,
                          std::string_view redirect_uri,
                          std::string_view state) {
  return e.oauth_base + "/oauth2/authorize?response_type=code&client_id=" +
         form::percent_encode(client_id) +
         "&redirect_uri=" + form::percent_encode(redirect_uri) +
         "&state=" + form::percent_encode(state);
}

std::string token_request_body(std::string_view client_id,
                               std::string_view client_secret,
                               std::string_view redirect_uri,
                               std::string_view code) {
  return "grant_type=authorization_code&client_id=" +
         form::percent_encode(client_id) +
         "&client_secret=" + form::percent_encode(client_secret) +
         "&redirect_uri=" + form::percent_encode(redirect_uri) +
         "&code=" + form::percent_encode(code);
}

std::optional<std::string> parse_token(unsigned status, std::string_view body,
                                       std::string& error) {
  simdjson::dom::parser p;
  auto root = parse(p, body, error);
  if (!root) return std::nullopt;
  if (status != 200) {
    auto e = str(*root, "error");
    auto d = str(*root, "error_description");
    error = e.empty() ? "token exchange answered HTTP " + std::to_string(status)
                      : e + (d.empty() ? "" : ": " + d);
    return std::nullopt;
  }
  auto token = str(*root, "access_token");
  if (token.empty()) {
    error = "the token answer has no access_token";
    return std::nullopt;
  }
  return token;
}

std::optional<metadata> parse_metadata(std::string_view body,
                                       std::string& error) {
  simdjson::dom::parser p;
  auto root = parse(p, body, error);
  if (!root) return std::nullopt;
  metadata m;
  m.dc = str(*root, "dc");
  m.api_endpoint = str(*root, "api_endpoint");
  m.account_name = str(*root, "accountname");
  simdjson::dom::element e;
  if (!(*root)["user_id"].get(e)) m.user_id = string_or_number(e);
  simdjson::dom::element login;
  if (!(*root)["login"].get(login)) {
    m.login_email = str(login, "login_email");
    if (m.login_email.empty()) m.login_email = str(login, "email");
    if (m.user_id.empty() && !login["login_id"].get(e))
      m.user_id = string_or_number(e);
  }
  // The data center names a host label: letters and digits only.
  bool dc_ok = !m.dc.empty() && m.dc.size() <= 16;
  for (char c : m.dc)
    dc_ok = dc_ok && std::isalnum(static_cast<unsigned char>(c));
  if (!dc_ok) {
    error = "the metadata has no valid data center (dc)";
    return std::nullopt;
  }
  if (m.user_id.empty()) m.user_id = "dc:" + m.dc + ":" + m.account_name;
  return m;
}

std::optional<audience_page> parse_lists(std::string_view body,
                                         std::string& error) {
  simdjson::dom::parser p;
  auto root = parse(p, body, error);
  if (!root) return std::nullopt;
  simdjson::dom::array lists;
  if ((*root)["lists"].get(lists)) {
    error = "the lists answer has no lists";
    return std::nullopt;
  }
  audience_page page;
  for (auto l : lists)
    if (auto a = read_list(l)) page.items.push_back(std::move(*a));
  uint64_t total = 0;
  if (!(*root)["total_items"].get(total)) page.total_items = total;
  return page;
}

std::optional<audience> parse_list(std::string_view body, std::string& error) {
  simdjson::dom::parser p;
  auto root = parse(p, body, error);
  if (!root) return std::nullopt;
  auto a = read_list(*root);
  if (!a) error = "the list answer has no id";
  return a;
}

std::optional<contact> parse_account_contact(std::string_view body,
                                             std::string& error) {
  simdjson::dom::parser p;
  auto root = parse(p, body, error);
  if (!root) return std::nullopt;
  contact c;
  simdjson::dom::element ct;
  if (!(*root)["contact"].get(ct)) {
    c.company = str(ct, "company");
    c.address1 = str(ct, "addr1");
    c.address2 = str(ct, "addr2");
    c.city = str(ct, "city");
    c.state = str(ct, "state");
    c.zip = str(ct, "zip");
    c.country = str(ct, "country");
  }
  if (c.company.empty()) c.company = str(*root, "account_name");
  return c;
}

std::string create_list_body(std::string_view name, const contact& c,
                             std::string_view from_name,
                             std::string_view from_email) {
  json::writer w;
  w.begin_object()
      .key("name")
      .value(name)
      .key("contact")
      .begin_object()
      .key("company")
      .value(c.company)
      .key("address1")
      .value(c.address1)
      .key("address2")
      .value(c.address2)
      .key("city")
      .value(c.city)
      .key("state")
      .value(c.state)
      .key("zip")
      .value(c.zip)
      .key("country")
      .value(c.country)
      .end_object()
      .key("permission_reminder")
      .value("You are receiving this because you subscribed on my LinkStacked "
             "page.")
      .key("campaign_defaults")
      .begin_object()
      .key("from_name")
      .value(from_name)
      .key("from_email")
      .value(from_email)
      .key("subject")
      .value(name)
      .key("language")
      .value("en")
      .end_object()
      .key("email_type_option")
      .value(false)
      .end_object();
  return std::move(w).str();
}

std::string problem_detail(unsigned status, std::string_view body) {
  simdjson::dom::parser p;
  std::string error;
  if (auto root = parse(p, body, error)) {
    auto d = str(*root, "detail");
    // Field errors say what to fix: "contact.city: This value should not be
    // blank."
    simdjson::dom::array errors;
    if (!(*root)["errors"].get(errors)) {
      size_t n = 0;
      for (auto e : errors) {
        auto field = str(e, "field");
        auto message = str(e, "message");
        if (message.empty() || ++n > 5) continue;
        d += (n == 1 ? " " : "; ") + (field.empty() ? "" : field + ": ") +
             message;
      }
    }
    if (!d.empty()) return d;
    auto t = str(*root, "title");
    if (!t.empty()) return t;
  }
  return "Mailchimp answered HTTP " + std::to_string(status);
}

} // namespace ls::mailchimp
