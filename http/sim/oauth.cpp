// The OAuth host of the Mailchimp simulator: /oauth2/authorize, /oauth2/token
// and /oauth2/metadata (mailchimp.md §1).
#include "http/codec/form.hpp"
#include "http/sim/internal.hpp"

#include <sodium.h>

namespace ls::mcsim::detail {

namespace {

constexpr std::string_view page_style =
    "body{font-family:system-ui,sans-serif;background:#f6f6f4;margin:0}"
    "main{max-width:32rem;margin:4rem auto;background:#fff;padding:2rem;"
    "border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.1)}"
    "h1{font-size:1.4rem}button{font-size:1rem;padding:.6rem 1.2rem;"
    "margin-right:.5rem;border-radius:4px;border:1px solid #241c15;"
    "cursor:pointer}button[value=allow]{background:#007c89;color:#fff}"
    "label{display:block;margin:1rem 0}.note{color:#666;font-size:.85rem}";

/// The CSP source allowing the page's one inline style sheet and nothing else.
const std::string& style_source() {
  static const std::string source = [] {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(
        digest, reinterpret_cast<const unsigned char*>(page_style.data()),
        page_style.size());
    return "'sha256-" +
           base64(std::string_view(reinterpret_cast<const char*>(digest),
                                   sizeof digest)) +
           "'";
  }();
  return source;
}

/// An HTML page no other site may frame (the approve page must not be
/// clickjacked into allowing) and that runs no script. `form_action` is where
/// its form may post, redirects after the post included: browsers check the
/// redirect to the application against it too.
http::response html(unsigned status, std::string body,
                    std::string_view form_action = "'none'") {
  http::response r;
  r.status = status;
  r.set("content-type", "text/html; charset=utf-8");
  r.set("cache-control", "no-store");
  r.set("content-security-policy",
        "default-src 'none'; style-src " + style_source() + "; form-action " +
            std::string(form_action) +
            "; frame-ancestors 'none'; base-uri 'none'");
  r.set("x-frame-options", "DENY");
  r.set("x-content-type-options", "nosniff");
  r.body = std::move(body);
  return r;
}

std::string page(std::string_view title, std::string_view content) {
  std::string out =
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>";
  out += html::escape(title);
  out += " | Mailchimp (simulated)</title><style>";
  out += page_style;
  out += "</style></head><body><main>";
  out += content;
  out += "</main></body></html>\n";
  return out;
}

http::response error_page(std::string_view message) {
  std::string content = "<h1>Authorization error</h1><p id=\"error\">";
  content += html::escape(message);
  content += "</p><p class=\"note\">The simulated Mailchimp did not redirect "
             "back to the application.</p>";
  return html(400, page("Authorization error", content));
}

http::response oauth_error(unsigned status, std::string_view error,
                           std::string_view description) {
  json::writer w;
  w.begin_object()
      .key("error")
      .value(error)
      .key("error_description")
      .value(description)
      .end_object();
  http::response r;
  r.status = status;
  r.set("content-type", "application/json; charset=utf-8");
  r.set("cache-control", "no-store");
  r.body = std::move(w).str();
  return r;
}

std::string with_query(const std::string& uri, std::string_view query) {
  std::string out = uri;
  out += uri.find('?') == std::string::npos ? '?' : '&';
  out += query;
  return out;
}

http::response redirect(const std::string& uri, std::string query) {
  http::response r;
  r.status = 302;
  r.set("location", with_query(uri, query));
  r.set("cache-control", "no-store");
  r.set("content-security-policy",
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
  r.set("x-frame-options", "DENY");
  r.set("content-type", "text/html; charset=utf-8");
  r.body =
      "<a href=\"" + html::escape(with_query(uri, query)) + "\">Continue</a>\n";
  return r;
}

std::string param(const form::pairs& p, std::string_view key) {
  auto v = form::first(p, key);
  return v ? *v : std::string();
}

/// Checks client_id and the exact redirect URI; returns the error message, or
/// "".
std::string check_client(state& st, const std::string& client_id,
                         const std::string& redirect_uri) {
  if (client_id.empty()) return "The request is missing client_id.";
  auto it = st.apps.find(client_id);
  if (it == st.apps.end())
    return "Invalid client_id: no application is registered as \"" + client_id +
           "\".";
  if (redirect_uri.empty()) return "The request is missing redirect_uri.";
  auto& uris = it->second.redirect_uris;
  if (std::find(uris.begin(), uris.end(), redirect_uri) == uris.end())
    return "Invalid redirect_uri: \"" + redirect_uri +
           "\" is not registered for this application (redirect URIs must "
           "match exactly).";
  return {};
}

http::response authorize_page(state& st, const http::request& req) {
  auto p = form::parse(req.query);
  if (!p) return error_page("The query string is malformed.");
  auto client_id = param(*p, "client_id");
  auto redirect_uri = param(*p, "redirect_uri");
  if (auto err = check_client(st, client_id, redirect_uri); !err.empty())
    return error_page(err);
  auto response_type = param(*p, "response_type");
  auto state_param = form::first(*p, "state");
  if (response_type != "code") {
    std::string q = "error=unsupported_response_type";
    if (state_param) q += "&state=" + form::percent_encode(*state_param);
    return redirect(redirect_uri, q);
  }
  auto chosen = param(*p, "login");
  std::string content = "<h1>Authorize <span id=\"client\">";
  content += html::escape(client_id);
  content += "</span></h1><p>This application wants to connect to your "
             "Mailchimp account: it will be able to read and change your "
             "audiences and contacts.</p>";
  content += "<form method=\"post\" action=\"/oauth2/authorize\">";
  auto hidden = [&](std::string_view name, std::string_view value) {
    content += "<input type=\"hidden\" name=\"";
    content += name;
    content += "\" value=\"";
    content += html::escape(value);
    content += "\">";
  };
  hidden("response_type", response_type);
  hidden("client_id", client_id);
  hidden("redirect_uri", redirect_uri);
  if (state_param) hidden("state", *state_param);
  if (st.users.empty()) {
    content += "<p class=\"note\">The simulator has no user yet: create one "
               "with POST /_sim/users.</p>";
  } else {
    content += "<label>Log in as <select name=\"login\">";
    for (auto& u : st.users) {
      content += "<option value=\"" + html::escape(u.login) + "\"";
      if (u.login == chosen) content += " selected";
      content += ">" + html::escape(u.account_name) + " (" +
                 html::escape(u.login) + ", " + html::escape(u.dc) +
                 ")</option>";
    }
    content += "</select></label>";
  }
  content += "<button type=\"submit\" name=\"decision\" value=\"allow\">"
             "Allow</button><button type=\"submit\" name=\"decision\" "
             "value=\"deny\">Deny</button></form>";
  content += "<p class=\"note\">You will be sent back to " +
             html::escape(redirect_uri) + "</p>";
  // The form posts here, then the answer redirects to the application.
  std::string form_action = "'self'";
  if (std::string origin; redirect_uri_problem(redirect_uri, &origin).empty())
    form_action += " " + origin;
  return html(200, page("Authorize", content), form_action);
}

http::response authorize_decision(state& st, const http::request& req) {
  auto p = form::parse(req.body);
  if (!p) return error_page("The form is malformed.");
  auto client_id = param(*p, "client_id");
  auto redirect_uri = param(*p, "redirect_uri");
  if (auto err = check_client(st, client_id, redirect_uri); !err.empty())
    return error_page(err);
  auto state_param = form::first(*p, "state");
  auto back = [&](std::string q) {
    if (state_param) q += "&state=" + form::percent_encode(*state_param);
    return redirect(redirect_uri, std::move(q));
  };
  if (param(*p, "response_type") != "code")
    return back("error=unsupported_response_type");
  if (param(*p, "decision") != "allow") return back("error=access_denied");
  auto login = param(*p, "login");
  const user* u = nullptr;
  if (login.empty()) {
    if (!st.users.empty()) u = &st.users.front();
  } else {
    u = st.find_user(login);
  }
  if (!u)
    return error_page(login.empty() ? "The simulator has no user to log in as."
                                    : "No simulated user has the login \"" +
                                          login + "\".");
  auto code = random_hex(32);
  st.codes[code] = auth_code{client_id, redirect_uri, u->login,
                             clock::now() + st.code_lifetime};
  return back("code=" + code);
}

http::response token(state& st, const http::request& req) {
  auto p = form::parse(req.body);
  if (!p)
    return oauth_error(400, "invalid_request",
                       "The body must be form-encoded.");
  auto client_id = param(*p, "client_id");
  auto client_secret = param(*p, "client_secret");
  // HTTP Basic client authentication (RFC 6749 §2.3.1) is accepted too.
  if (auto* auth = req.header("authorization");
      auth && client_id.empty() && auth->size() > 6 &&
      iequals(auth->substr(0, 6), "basic ")) {
    std::string decoded(auth->size(), '\0');
    size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()),
                          decoded.size(), auth->data() + 6, auth->size() - 6,
                          " ", &len, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) == 0) {
      decoded.resize(len);
      auto colon = decoded.find(':');
      if (colon != std::string::npos) {
        client_id = form::percent_decode(decoded.substr(0, colon), true)
                        .value_or(std::string());
        client_secret = form::percent_decode(decoded.substr(colon + 1), true)
                            .value_or(std::string());
      }
    }
  }
  auto grant_type = param(*p, "grant_type");
  if (grant_type.empty())
    return oauth_error(400, "invalid_request", "grant_type is missing.");
  if (grant_type != "authorization_code")
    return oauth_error(400, "unsupported_grant_type",
                       "Only the authorization_code grant is supported.");
  auto app = st.apps.find(client_id);
  if (app == st.apps.end() || client_secret.empty() ||
      app->second.client_secret != client_secret)
    return oauth_error(401, "invalid_client",
                       "Client authentication failed: unknown client_id or "
                       "wrong client_secret.");
  auto code = param(*p, "code");
  if (code.empty())
    return oauth_error(400, "invalid_request", "code is missing.");
  auto it = st.codes.find(code);
  if (it == st.codes.end())
    return oauth_error(400, "invalid_grant",
                       "The authorization code is invalid or was already "
                       "used.");
  auto c = it->second;
  st.codes.erase(it); // single use, whatever the outcome
  if (clock::now() >= c.expires)
    return oauth_error(400, "invalid_grant",
                       "The authorization code has expired.");
  if (c.client_id != client_id)
    return oauth_error(400, "invalid_grant",
                       "The authorization code was issued to another client.");
  if (param(*p, "redirect_uri") != c.redirect_uri)
    return oauth_error(400, "invalid_grant",
                       "redirect_uri does not match the one of the "
                       "authorization request.");
  if (!st.find_user(c.login))
    return oauth_error(400, "invalid_grant",
                       "The user of this code no longer exists.");
  json::writer w;
  w.begin_object()
      .key("access_token")
      .value(st.issue_token(c.login))
      .key("expires_in")
      .value(0)
      .key("scope")
      .null()
      .end_object();
  http::response r;
  r.status = 200;
  r.set("content-type", "application/json; charset=utf-8");
  r.set("cache-control", "no-store");
  r.body = std::move(w).str();
  return r;
}

http::response metadata(state& st, const http::request& req) {
  auto* auth = req.header("authorization");
  std::string tok;
  if (auth) {
    std::string_view a = trim(*auth);
    auto sp = a.find(' ');
    if (sp != std::string_view::npos) {
      auto scheme = a.substr(0, sp);
      if (iequals(scheme, "oauth") || iequals(scheme, "bearer"))
        tok = std::string(trim(a.substr(sp + 1)));
    }
  }
  if (tok.empty())
    return oauth_error(401, "invalid_token",
                       "The request did not include an OAuth access token "
                       "(Authorization: OAuth <token>).");
  auto* login = tok.empty() ? nullptr : st.token_owner(tok);
  auto* u = login ? st.find_user(*login) : nullptr;
  if (!u)
    return oauth_error(401, "invalid_token",
                       "The access token is invalid or was revoked.");
  std::string base = st.base_url;
  if (base.empty()) {
    auto* host = req.header("host");
    base = "http://" + (host ? *host : std::string("127.0.0.1"));
  }
  json::writer w;
  w.begin_object()
      .key("dc")
      .value(u->dc)
      .key("role")
      .value("owner")
      .key("accountname")
      .value(u->account_name)
      .key("user_id")
      .value(u->user_id)
      .key("login")
      .begin_object()
      .key("email")
      .value(u->email)
      .key("avatar")
      .null()
      .key("login_id")
      .value(u->user_id)
      .key("login_name")
      .value(u->login)
      .key("login_email")
      .value(u->email)
      .end_object()
      .key("login_url")
      .value(base)
      .key("api_endpoint")
      .value(base)
      .end_object();
  return json_response(200, std::move(w).str());
}

http::response method_not_allowed(std::string_view allow) {
  auto r = oauth_error(405, "invalid_request", "Method not allowed.");
  r.set("allow", std::string(allow));
  return r;
}

} // namespace

http::response oauth_request(state& st, const http::request& req) {
  const auto& path = req.path;
  if (path == "/oauth2/authorize") {
    if (req.method == "GET" || req.method == "HEAD")
      return authorize_page(st, req);
    if (req.method == "POST") return authorize_decision(st, req);
    return method_not_allowed("GET, POST");
  }
  if (path == "/oauth2/token") {
    if (req.method == "POST") return token(st, req);
    return method_not_allowed("POST");
  }
  if (path == "/oauth2/metadata") {
    if (req.method == "GET" || req.method == "HEAD") return metadata(st, req);
    return method_not_allowed("GET");
  }
  http::response r = oauth_error(404, "not_found", "No such OAuth endpoint.");
  return r;
}

} // namespace ls::mcsim::detail
