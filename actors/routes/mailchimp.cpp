// Mailchimp: OAuth connect (redirect to Mailchimp, callback on the dashboard
// URL), audiences, disconnect, and the integrations overview.
#include "actors/errors.hpp"
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "http/codec/form.hpp"
#include "http/codec/time.hpp"

#include <algorithm>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace ls::api {

namespace {

constexpr const char* dashboard_path = "/dashboard/email-collection";

/// The dashboard URL the user is on: the scheme of public_url, the Host they
/// used.
std::optional<std::string> dashboard_url(const call& c) {
  auto* host = c.req.header("host");
  if (!host || host->empty() || host->size() > 255) return std::nullopt;
  for (char ch : *host)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' ||
          ch == '-' || ch == ':' || ch == '[' || ch == ']'))
      return std::nullopt;
  auto& pub = c.a.cfg.server.public_url;
  auto scheme = pub.substr(0, pub.find("://"));
  return scheme + "://" + *host + dashboard_path;
}

void fail_from(call& c, const caf::error& err) {
  auto status = to_http_status(err);
  auto detail = error_detail(err);
  if (detail.empty())
    detail = status == 504 ? "Mailchimp did not answer in time"
                           : "the request could not be completed";
  c.problem(status, detail);
}

void redirect_to_dashboard(call& c, std::string_view query) {
  http::response r;
  r.status = 303;
  r.set("location", std::string{dashboard_path} + "?" + std::string{query});
  r.set("cache-control", "no-store");
  c.reply(std::move(r));
}

void oauth_failed(call& c, std::string_view reason) {
  redirect_to_dashboard(c, "mailchimp=error&reason=" + std::string{reason});
}

void write_audience(json::writer& w, const mailchimp::audience& a) {
  w.begin_object()
      .key("id")
      .value(a.id)
      .key("name")
      .value(a.name)
      .key("member_count")
      .value(a.member_count)
      .key("double_optin")
      .value(a.double_optin)
      .end_object();
}

constexpr auto actor_timeout = std::chrono::minutes(10);

} // namespace

/// The callback: ?code=…&state=… (or ?error=…&state=…) from Mailchimp.
void mailchimp_callback(caf::event_based_actor* self, call_ptr c) {
  auto state = c->query("state");
  auto code = c->query("code");
  auto error = c->query("error");
  if (state.empty() || state.size() > 200)
    return oauth_failed(*c, "invalid_state");
  // The callback must come from the same signed-in browser session that started
  // it.
  auto session_token = cookie(c->req, "ls_session");
  auto session_hash =
      session_token.empty() ? std::string{} : crypto::sha256(session_token);
  auto session = session_hash.empty() ? std::nullopt
                                      : c->a.db->session_by_hash(session_hash);
  auto state_hash = crypto::sha256(state);
  auto now = c->a.oauth_now();
  auto found = std::make_shared<store::oauth_state>();
  auto session_account =
      session ? session->account_id : std::string{"\n(no session)"};
  auto op = store::make_op([state_hash, now, found, session_account,
                            session_hash](store::database& db, lmdb::txn& t) {
    return db.consume_oauth_state(
        t, state_hash, now, *found, [&](const store::oauth_state& s) {
          return s.account_id == session_account &&
                 (s.session_hash.empty() || s.session_hash == session_hash);
        });
  });
  write(self, c, op, [=](store::outcome& o) {
    if (o.code == store::outcome::not_found)
      return oauth_failed(*c, "invalid_state");
    if (o.code == store::outcome::conflict)
      return oauth_failed(*c, "replayed_state");
    if (o.code == store::outcome::invalid)
      return oauth_failed(*c, "wrong_session");
    if (!o) return oauth_failed(*c, "storage_failed");
    if (found->expires_at < now) return oauth_failed(*c, "expired_state");
    if (!error.empty())
      return oauth_failed(*c, error == "access_denied"
                                  ? "access_denied"
                                  : "authorization_failed");
    if (code.empty() || code.size() > 512)
      return oauth_failed(*c, "missing_code");
    auto& a = c->a;
    mc_call exchange;
    exchange.method = "POST";
    exchange.url = a.mailchimp_endpoints.oauth_base + "/oauth2/token";
    exchange.headers = {{"content-type", "application/x-www-form-urlencoded"}};
    exchange.body = mailchimp::token_request_body(a.cfg.mailchimp.client_id,
                                                  a.cfg.mailchimp.client_secret,
                                                  found->redirect_uri, code);
    exchange.timeout_ms = a.cfg.mailchimp.request_timeout.count();
    auto account_id = found->account_id;
    self->request(a.oauth_fetcher, actor_timeout, atom::call_v,
                  std::move(exchange))
        .then(
            [=](mc_reply& r) {
              std::string why;
              auto token = r.error.empty()
                               ? mailchimp::parse_token(r.status, r.body, why)
                               : std::nullopt;
              if (!token) {
                spdlog::warn("mailchimp: token exchange failed for {}: {}",
                             account_id, r.error.empty() ? why : r.error);
                return oauth_failed(*c, "exchange_failed");
              }
              mc_call meta;
              meta.url =
                  c->a.mailchimp_endpoints.oauth_base + "/oauth2/metadata";
              meta.headers = {{"authorization", "OAuth " + *token}};
              meta.timeout_ms = c->a.cfg.mailchimp.request_timeout.count();
              auto tok = *token;
              self->request(c->a.oauth_fetcher, actor_timeout, atom::call_v,
                            std::move(meta))
                  .then(
                      [=](mc_reply& m) {
                        std::string why2;
                        auto md = m.error.empty() && m.status == 200
                                      ? mailchimp::parse_metadata(m.body, why2)
                                      : std::nullopt;
                        if (!md) {
                          spdlog::warn(
                              "mailchimp: metadata failed for {}: {}",
                              account_id,
                              m.error.empty()
                                  ? (why2.empty()
                                         ? "HTTP " + std::to_string(m.status)
                                         : why2)
                                  : m.error);
                          return oauth_failed(*c, "metadata_failed");
                        }
                        auto conn =
                            std::make_shared<store::mailchimp_connection>();
                        conn->account_id = account_id;
                        conn->status = "connected";
                        conn->sealed_token = crypto::seal(c->a.secret_key, tok);
                        conn->dc = md->dc;
                        conn->api_endpoint = md->api_endpoint;
                        conn->user_id = md->user_id;
                        conn->account_name = md->account_name;
                        conn->login_email = md->login_email;
                        conn->connected_at = conn->updated_at =
                            timefmt::now_us();
                        if (auto old =
                                c->a.db->mailchimp_connection_of(account_id);
                            old && old->user_id == conn->user_id) {
                          // Reconnecting the same Mailchimp account keeps the
                          // chosen audience.
                          conn->audience_id = old->audience_id;
                          conn->audience_name = old->audience_name;
                        }
                        auto save = store::make_op(
                            [conn](store::database& db, lmdb::txn& t) {
                              return db.put_mailchimp_connection(t, *conn);
                            });
                        write(self, c, save, [=](store::outcome& saved) {
                          if (!saved) return oauth_failed(*c, "storage_failed");
                          self->request(c->a.integrations,
                                        std::chrono::seconds(30),
                                        atom::connected_v, *conn)
                              .then(
                                  [=](bool) {
                                    redirect_to_dashboard(
                                        *c, "mailchimp=connected");
                                  },
                                  [=](caf::error&) {
                                    redirect_to_dashboard(
                                        *c, "mailchimp=connected");
                                  });
                        });
                      },
                      [=](caf::error&) {
                        oauth_failed(*c, "metadata_failed");
                      });
            },
            [=](caf::error&) { oauth_failed(*c, "exchange_failed"); });
  });
}

void mailchimp_connect(caf::event_based_actor* self, call_ptr c) {
  auto& a = c->a;
  if (auto wait = a.connect_per_account.take(c->who->account.id))
    return too_many(*c, wait,
                    "too many connect attempts; please try again in a minute");
  auto here = dashboard_url(*c);
  if (!here) return c->problem(400, "the Host header is missing or malformed");
  auto& allowed = a.cfg.mailchimp.redirect_uris;
  if (std::find(allowed.begin(), allowed.end(), *here) == allowed.end()) {
    std::string detail =
        "Mailchimp only returns to registered redirect URLs, and "
        "this dashboard's URL is not one of them. Register "
        "exactly " +
        *here +
        " as a redirect URL of your Mailchimp app and add it to "
        "mailchimp.redirect_uris";
    if (here->find("://localhost") != std::string::npos ||
        here->find("://127.0.0.1") != std::string::npos)
      detail +=
          " (localhost and 127.0.0.1 are different URLs to Mailchimp: "
          "open the dashboard at the one you registered, or register both)";
    detail += ".";
    http::response r = http::problem(409, detail);
    c->reply(std::move(r));
    return;
  }
  auto state = crypto::random_token(32); // 256 bits
  auto rec = std::make_shared<store::oauth_state>();
  rec->account_id = c->who->account.id;
  if (c->who->via_session)
    rec->session_hash = crypto::sha256(cookie(c->req, "ls_session"));
  rec->redirect_uri = *here;
  rec->created_at = a.oauth_now();
  rec->expires_at =
      rec->created_at + std::chrono::duration_cast<std::chrono::microseconds>(
                            a.oauth_state_lifetime)
                            .count();
  auto hash = crypto::sha256(state);
  auto op = store::make_op([rec, hash](store::database& db, lmdb::txn& t) {
    db.purge_oauth_states(t, rec->created_at);
    return db.put_oauth_state(t, hash, *rec);
  });
  write(self, c, op, [c, state, here](store::outcome& o) {
    if (!o) return c->fail(o);
    auto& a = c->a;
    http::response r;
    r.status = 302;
    r.set("location",
          mailchimp::authorize_url(a.mailchimp_endpoints,
                                   a.cfg.mailchimp.client_id, *here, state));
    r.set("cache-control", "no-store");
    c->reply(std::move(r));
  });
}

/// What each failure reason means, in words a creator understands.
std::string_view reason_text(std::string_view reason) {
  if (reason == "access_denied")
    return "you chose not to allow LinkStacked on Mailchimp's page. Nothing "
           "was "
           "connected; press Connect again to allow it.";
  if (reason == "invalid_state")
    return "the answer from Mailchimp did not match a connect request from "
           "this "
           "dashboard (a forged or broken link). Press Connect again.";
  if (reason == "expired_state")
    return "the connect request expired (they last 10 minutes). Press Connect "
           "again and approve within 10 minutes.";
  if (reason == "replayed_state")
    return "this Mailchimp answer was already used (a page reload or the back "
           "button). Your connection is as it was; press Connect again if "
           "needed.";
  if (reason == "wrong_session")
    return "the connect request was started by another sign-in (another "
           "browser or "
           "account). Sign in as the account that pressed Connect and try "
           "again.";
  if (reason == "missing_code")
    return "Mailchimp came back without an authorization code. Press Connect "
           "again.";
  if (reason == "exchange_failed")
    return "Mailchimp did not accept the authorization code (it may have "
           "expired, "
           "or the app's client id, secret or redirect URL are wrong). Press "
           "Connect "
           "again; if it keeps failing, check the Mailchimp app settings.";
  if (reason == "metadata_failed")
    return "Mailchimp did not tell which account you connected. Press Connect "
           "again "
           "in a moment.";
  if (reason == "storage_failed")
    return "the connection could not be saved. Please try again.";
  if (reason == "authorization_failed")
    return "Mailchimp reported an error during approval. Press Connect again.";
  return "connecting Mailchimp failed. Press Connect again.";
}

void integrations_overview(caf::event_based_actor* self, call_ptr c) {
  self->request(c->a.integrations, actor_timeout, atom::status_v,
                c->who->account.id)
      .then(
          [c](mailchimp_status& s) {
            json::writer w;
            w.begin_object().key("mailchimp").begin_object();
            w.key("status").value(s.state);
            w.key("account_name").string_or_null(s.account_name);
            w.key("login_email").string_or_null(s.login_email);
            w.key("dc").string_or_null(s.dc);
            w.key("audience");
            if (s.audience_id.empty())
              w.null();
            else
              w.begin_object()
                  .key("id")
                  .value(s.audience_id)
                  .key("name")
                  .value(s.audience_name)
                  .end_object();
            w.end_object();
            w.key("webhook").begin_object();
            if (auto hook = c->a.db->webhook_of(c->who->account.id)) {
              w.key("status").value(hook->status);
              w.key("url").value(hook->url);
              w.key("events").begin_array();
              for (auto& e : hook->events)
                w.value(e);
              w.end_array();
              w.key("disabled_reason").string_or_null(hook->disabled_reason);
            } else {
              w.key("status").value("not_set");
              w.key("url").null();
            }
            w.end_object();
            // Hand-off providers need no connection: always available.
            for (auto name : {"kit", "klaviyo", "hubspot"})
              w.key(name)
                  .begin_object()
                  .key("status")
                  .value("available")
                  .end_object();
            w.end_object();
            c->json(200, std::move(w).str());
          },
          [c](caf::error& e) { fail_from(*c, e); });
}

void list_audiences(caf::event_based_actor* self, call_ptr c) {
  self->request(c->a.integrations, actor_timeout, atom::audiences_v,
                c->who->account.id)
      .then(
          [c](audience_list& items) {
            json::writer w;
            w.begin_object().key("items").begin_array();
            for (auto& a : items)
              write_audience(w, a);
            w.end_array().end_object();
            c->json(200, std::move(w).str());
          },
          [c](caf::error& e) { fail_from(*c, e); });
}

void create_audience(caf::event_based_actor* self, call_ptr c) {
  auto body = json_body(*c);
  if (!body) return;
  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  f.reject_unknown({"name"});
  auto name = f.text("name", 100, true);
  if (!errors.empty())
    return c->problem(422, "the audience needs a name", errors);
  self->request(c->a.integrations, actor_timeout, atom::create_v,
                c->who->account.id, *name)
      .then(
          [c](mailchimp::audience& a) {
            json::writer w;
            write_audience(w, a);
            c->json(201, std::move(w).str());
          },
          [c](caf::error& e) { fail_from(*c, e); });
}

void choose_audience(caf::event_based_actor* self, call_ptr c) {
  auto body = json_body(*c);
  if (!body) return;
  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  f.reject_unknown({"audience_id"});
  auto id = f.text("audience_id", 64, true);
  if (!errors.empty()) return c->problem(422, "choose an audience", errors);
  self->request(c->a.integrations, actor_timeout, atom::choose_v,
                c->who->account.id, *id)
      .then(
          [c](mailchimp::audience& a) {
            json::writer w;
            w.begin_object().key("audience");
            write_audience(w, a);
            w.end_object();
            c->json(200, std::move(w).str());
          },
          [c](caf::error& e) { fail_from(*c, e); });
}

void mailchimp_disconnect(caf::event_based_actor* self, call_ptr c) {
  auto account = c->who->account.id;
  self->request(c->a.integrations, actor_timeout, atom::disconnect_v, account)
      .then(
          [=](bool) {
            // With the token gone, the account's Mailchimp jobs cannot go on.
            self->request(c->a.jobs, actor_timeout, atom::disconnect_v, account)
                .then(
                    [c](bool) {
                      http::response r;
                      r.status = 204;
                      c->reply(std::move(r));
                    },
                    [c](caf::error& e) { fail_from(*c, e); });
          },
          [c](caf::error& e) { fail_from(*c, e); });
}

} // namespace ls::api
