// The creator dashboard: one HTML page and its static files (http/dashboard/,
// embedded at build time). The page is rendered per request only for the
// Mailchimp connect outcome; everything else is the script talking to the API.
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "http/codec/html.hpp"
#include "http/dashboard/assets.hpp"

#include <caf/all.hpp>

namespace ls::api {

namespace {

/// The URL of an embedded file, with its content hash in the name:
/// "app.js" → "/dashboard/assets/app.0123456789abcdef.js".
std::string asset_url(const dashboard::asset& a) {
  auto dot = a.name.rfind('.');
  auto base = a.name.substr(0, dot);
  auto ext =
      dot == std::string_view::npos ? std::string_view{} : a.name.substr(dot);
  return "/dashboard/assets/" + std::string{base} + "." + std::string{a.hash} +
         std::string{ext};
}

/// index.html with every `{{asset:NAME}}` replaced by the file's hashed URL.
/// Built once: the files cannot change while the binary runs.
const std::string& page_template() {
  static const std::string page = [] {
    auto* index = dashboard::find("index.html");
    std::string in = index ? std::string{index->body}
                           : "<!doctype html><title>Dashboard</title>"
                             "<p>The dashboard was built without its files.";
    std::string out;
    out.reserve(in.size());
    size_t pos = 0;
    constexpr std::string_view open = "{{asset:";
    while (true) {
      auto at = in.find(open, pos);
      if (at == std::string::npos) break;
      auto end = in.find("}}", at);
      if (end == std::string::npos) break;
      out.append(in, pos, at - pos);
      auto name =
          std::string_view{in}.substr(at + open.size(), end - at - open.size());
      if (auto* a = dashboard::find(name)) out += asset_url(*a);
      pos = end + 2;
    }
    out.append(in, pos);
    return out;
  }();
  return page;
}

/// Adds response headers. (One loop rather than many inlined `set` calls with
/// long literals, which GCC 12 wrongly warns about with -Warray-bounds.)
void add_headers(
    http::response& r,
    std::initializer_list<std::pair<std::string_view, std::string_view>> hs) {
  for (auto& [k, v] : hs)
    r.headers.emplace_back(std::string{k}, std::string{v});
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  for (auto at = s.find(what); at != std::string::npos;
       at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

/// The Host header when it is a plain host[:port], else "".
std::string plain_host(const call& c) {
  auto* host = c.req.header("host");
  if (!host || host->empty() || host->size() > 255) return {};
  for (char ch : *host)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' ||
          ch == '-' || ch == ':' || ch == '[' || ch == ']'))
      return {};
  return *host;
}

/// No inline script or style anywhere; the only connections are this origin's
/// API and its live-events websocket.
std::string page_csp(const call& c) {
  std::string connect = "'self'";
  if (auto host = plain_host(c); !host.empty())
    connect += (c.a.cookie_secure ? " wss://" : " ws://") + host;
  return "default-src 'none'; script-src 'self'; style-src 'self'; "
         "img-src 'self' data:; connect-src " +
         connect +
         "; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
}

} // namespace

void dashboard_page(caf::event_based_actor* self, call_ptr c) {
  if (!c->query("state").empty() || !c->query("code").empty() ||
      !c->query("error").empty())
    return mailchimp_callback(self, c);
  // The connect outcome is rendered here so its explanations live in one place
  // (reason_text) and show without waiting for the script.
  std::string notice;
  auto outcome = c->query("mailchimp");
  if (outcome == "connected")
    notice = "<p class=\"notice ok\" role=\"status\" id=\"oauth-notice\" "
             "data-outcome=\"connected\">Mailchimp is connected.</p>";
  else if (outcome == "error")
    notice = "<p class=\"notice err\" role=\"alert\" id=\"oauth-notice\" "
             "data-outcome=\"error\"><strong>Mailchimp is not "
             "connected:</strong> " +
             html::escape(reason_text(c->query("reason"))) + "</p>";
  auto body = page_template();
  replace_all(body, "{{notice}}", notice);
  replace_all(body, "{{mailchimp_mode}}",
              html::escape(c->a.cfg.mailchimp.mode));
  http::response r;
  auto csp = page_csp(*c);
  // The page names the current asset hashes and may carry the connect outcome:
  // never reuse a stored copy.
  add_headers(r, {{"content-type", "text/html; charset=utf-8"},
                  {"content-security-policy", csp},
                  {"cache-control", "no-store"},
                  {"x-content-type-options", "nosniff"},
                  {"referrer-policy", "same-origin"},
                  {"x-frame-options", "DENY"}});
  r.body = std::move(body);
  c->reply(std::move(r));
}

void dashboard_asset(caf::event_based_actor*, call_ptr c) {
  auto name = c->param("name");
  // "app.<hash>.js" (what the page links) or "app.js".
  const dashboard::asset* a = nullptr;
  bool versioned = false;
  auto last = name.rfind('.');
  auto first = name.find('.');
  if (first != std::string::npos && last != first) {
    auto plain = name.substr(0, first) + name.substr(last);
    auto hash = std::string_view{name}.substr(first + 1, last - first - 1);
    a = dashboard::find(plain);
    versioned = a && a->hash == hash;
  }
  if (!a) a = dashboard::find(name);
  if (!a || a->name == "index.html")
    return c->problem(404, "no such dashboard file");
  auto etag = "\"" + std::string{a->hash} + "\"";
  http::response r;
  // A hashed URL names these exact bytes forever; any other name (a plain one,
  // or the hash of an older build) must be checked each time.
  add_headers(r,
              {{"etag", etag},
               {"cache-control",
                versioned ? "public, max-age=31536000, immutable" : "no-cache"},
               {"x-content-type-options", "nosniff"}});
  if (auto* inm = c->req.header("if-none-match");
      inm && (inm->find(etag) != std::string::npos || *inm == "*")) {
    r.status = 304;
    return c->reply(std::move(r));
  }
  r.set("content-type", std::string{a->content_type});
  r.body = std::string{a->body};
  c->reply(std::move(r));
}

} // namespace ls::api
