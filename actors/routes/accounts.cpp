// Sign-up, sign-in with a session cookie and CSRF token, and API tokens.
#include "actors/routes/handlers.hpp"
#include "actors/routes/util.hpp"
#include "http/codec/time.hpp"
#include "http/codec/validation.hpp"

#include <algorithm>
#include <caf/all.hpp>

namespace ls::api {

namespace {

constexpr auto session_lifetime_us = int64_t{14} * 24 * 3600 * 1000000;

bool valid_handle(std::string_view h) {
  if (h.size() < 2 || h.size() > 30) return false;
  for (char ch : h)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
          ch == '-'))
      return false;
  return true;
}

/// Handles a profile may not take: our own paths and names (a page at
/// /p/admin or /p/api would pass for ours), and handles without a letter or
/// digit ("--"). README lists them.
bool reserved_handle(std::string_view h) {
  static constexpr std::string_view reserved[] = {
      "admin",       "administrator",
      "api",         "app",
      "assets",      "auth",
      "billing",     "dashboard",
      "docs",        "events",
      "healthz",     "help",
      "linkstacked", "login",
      "logout",      "mailchimp",
      "me",          "metrics",
      "oauth",       "p",
      "public",      "root",
      "security",    "session",
      "settings",    "signin",
      "signup",      "sim",
      "static",      "status",
      "support",     "system",
      "webhooks",    "www"};
  if (std::none_of(h.begin(), h.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
      }))
    return true;
  return std::find(std::begin(reserved), std::end(reserved), h) !=
         std::end(reserved);
}

void start_session(caf::event_based_actor* self, const call_ptr& c,
                   store::account acc);

std::string session_cookie(const app& a, std::string_view token,
                           int64_t max_age_s) {
  std::string c =
      "ls_session=" + std::string{token} +
      "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age_s);
  if (a.cookie_secure) c += "; Secure";
  return c;
}

} // namespace

void signup(caf::event_based_actor* self, call_ptr c) {
  auto body = json_body(*c);
  if (!body) return;
  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  f.reject_unknown({"email", "password", "handle"});
  auto email_in = f.text("email", 254, true);
  std::string email;
  if (email_in) {
    auto r = validation::email(*email_in);
    if (r.ok())
      email = r.value;
    else
      f.error("email", r.error);
  }
  auto* pw = f.raw("password");
  if (!pw)
    f.error("password", "is required");
  else if (pw->kind != value::string)
    f.error("password", "must be a string");
  else if (pw->s.size() < 8)
    f.error("password", "must be at least 8 characters");
  else if (pw->s.size() > 1024)
    f.error("password", "must be at most 1024 characters");
  auto handle = f.text("handle", 30, true);
  if (handle && !valid_handle(*handle))
    f.error("handle", "must be 2 to 30 of a-z, 0-9, _ and -");
  else if (handle && reserved_handle(*handle))
    f.error("handle", "is reserved; choose another");
  if (!errors.empty())
    return c->problem(422, "the account could not be created", errors);
  if (auto wait =
          c->a.signup_per_ip.take("ip:" + address_key(c->req.remote_ip)))
    return too_many(*c, wait, "too many sign-ups; please try again later");
  auto acc = std::make_shared<store::account>();
  acc->id = crypto::random_id("acc_");
  acc->email = email;
  acc->handle = *handle;
  acc->created_at = timefmt::now_us();
  offload(
      self, c, c->a.hasher,
      [acc, password = pw->s] {
        acc->password_hash = crypto::hash_password(password);
      },
      [self, c, acc] {
        auto token = "lst_" + crypto::random_token(32);
        auto token_hash = crypto::sha256(token);
        auto op = store::make_op(
            [acc, token_hash](store::database& db, lmdb::txn& t) {
              return db.insert_account(t, *acc, token_hash);
            });
        write(self, c, op, [c, acc, token](store::outcome& o) {
          if (!o) return c->fail(o);
          json::writer w;
          w.begin_object().key("account");
          write_account(w, *acc);
          w.key("api_token").value(token).end_object();
          c->json(201, std::move(w).str());
        });
      },
      [] {});
}

void sign_in(caf::event_based_actor* self, call_ptr c) {
  auto body = json_body(*c);
  if (!body) return;
  std::vector<http::field_error> errors;
  fields_reader f{*body, errors};
  f.reject_unknown({"email", "password"});
  auto email_in = f.text("email", 254, true);
  auto* pw = f.raw("password");
  if (!pw || pw->kind != value::string) f.error("password", "is required");
  if (!errors.empty())
    return c->problem(422, "email and password are required", errors);
  auto email_r = validation::email(*email_in);
  auto email = email_r.ok() ? email_r.value : *email_in;
  auto& a = c->a;
  auto ip_key = address_key(c->req.remote_ip);
  // Each attempt counts before its password is checked, so guesses sent
  // together cannot pass the limits.
  if (auto wait = a.login_per_ip.begin(ip_key))
    return too_many(*c, wait, "too many failed sign-ins; try again later");
  if (auto wait = a.login_per_email.begin(email)) {
    a.login_per_ip.finish(ip_key, failure_throttle::result::given_back);
    return too_many(*c, wait, "too many failed sign-ins; try again later");
  }
  auto acc = a.db->account_by_email(email);
  auto matched = std::make_shared<bool>(false);
  // An absent account costs a hash too, so timing does not tell.
  offload(
      self, c, a.hasher,
      [matched, encoded = acc ? acc->password_hash : std::string{},
       password = pw->s] {
        if (encoded.empty())
          crypto::hash_password(password);
        else
          *matched = crypto::verify_password(encoded, password);
      },
      [self, c, acc, matched, ip_key, email] {
        using result = failure_throttle::result;
        if (!*matched || !acc) {
          c->a.login_per_ip.finish(ip_key, result::failed);
          c->a.login_per_email.finish(email, result::failed);
          return c->problem(401, "wrong email or password");
        }
        // A success clears the email's failures but not the address's: one
        // account of one's own must not reset guesses at others.
        c->a.login_per_ip.finish(ip_key, result::given_back);
        c->a.login_per_email.finish(email, result::succeeded);
        start_session(self, c, *acc);
      },
      [c, ip_key, email] {
        c->a.login_per_ip.finish(ip_key, failure_throttle::result::given_back);
        c->a.login_per_email.finish(email,
                                    failure_throttle::result::given_back);
      });
}

namespace {

void start_session(caf::event_based_actor* self, const call_ptr& c,
                   store::account acc) {
  auto token = crypto::random_token(32);
  auto sess = std::make_shared<store::session>();
  sess->account_id = acc.id;
  sess->csrf_token = crypto::random_token(24);
  sess->created_at = timefmt::now_us();
  sess->expires_at = sess->created_at + session_lifetime_us;
  auto hash = crypto::sha256(token);
  auto op = store::make_op([sess, hash](store::database& db, lmdb::txn& t) {
    return db.put_session(t, hash, *sess);
  });
  auto account = std::make_shared<store::account>(std::move(acc));
  write(self, c, op, [c, account, sess, token](store::outcome& o) {
    if (!o) return c->fail(o);
    json::writer w;
    w.begin_object().key("account");
    write_account(w, *account);
    w.key("csrf_token").value(sess->csrf_token).end_object();
    http::response r;
    r.set("content-type", "application/json");
    r.set("cache-control", "no-store");
    r.set("set-cookie",
          session_cookie(c->a, token, session_lifetime_us / 1000000));
    r.body = std::move(w).str();
    c->reply(std::move(r));
  });
}

} // namespace

void sign_out(caf::event_based_actor* self, call_ptr c) {
  auto token = cookie(c->req, "ls_session");
  auto done = [c] {
    http::response r;
    r.status = 204;
    r.set("set-cookie", session_cookie(c->a, "", 0));
    c->reply(std::move(r));
  };
  if (token.empty()) return done();
  auto hash = crypto::sha256(token);
  auto s = c->a.db->session_by_hash(hash);
  if (!s) return done();
  auto* csrf = c->req.header("x-csrf-token");
  if (!csrf || !crypto::equal_constant_time(*csrf, s->csrf_token))
    return c->problem(403, "missing or wrong X-CSRF-Token header");
  write(self, c, store::make_op([hash](store::database& db, lmdb::txn& t) {
          return db.delete_session(t, hash);
        }),
        [c, done, hash, account = s->account_id](store::outcome& o) {
          if (!o) return c->fail(o);
          publish(*c,
                  credentials_revoked(account, credential_of_session(hash)));
          done();
        });
}

void get_me(caf::event_based_actor*, call_ptr c) {
  json::writer w;
  w.begin_object().key("account");
  write_account(w, c->who->account);
  if (c->who->via_session) w.key("csrf_token").value(c->who->csrf_token);
  w.end_object();
  c->json(200, std::move(w).str());
}

void rotate_api_token(caf::event_based_actor* self, call_ptr c) {
  auto token = "lst_" + crypto::random_token(32);
  auto hash = crypto::sha256(token);
  auto id = c->who->account.id;
  write(self, c, store::make_op([id, hash](store::database& db, lmdb::txn& t) {
          return db.set_api_token(t, id, hash);
        }),
        [c, token, id](store::outcome& o) {
          if (!o) return c->fail(o);
          publish(*c, credentials_revoked(id, api_token_credential));
          json::writer w;
          w.begin_object().key("api_token").value(token).end_object();
          c->json(200, std::move(w).str());
        });
}

} // namespace ls::api
