// Sign-up, sign-in with a session cookie and CSRF token, and API tokens.
#include "actors/api_routes.hpp"
#include "actors/api_util.hpp"
#include "http/codec/time.hpp"
#include "http/codec/validation.hpp"

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
  if (!errors.empty())
    return c->problem(422, "the account could not be created", errors);
  auto acc = std::make_shared<store::account>();
  acc->id = crypto::random_id("acc_");
  acc->email = email;
  acc->handle = *handle;
  acc->password_hash =
      crypto::hash_password(pw->s); // slow: this bridge is detached
  acc->created_at = timefmt::now_us();
  auto token = "lst_" + crypto::random_token(32);
  auto token_hash = crypto::sha256(token);
  auto op =
      store::make_op([acc, token_hash](store::database& db, lmdb::txn& t) {
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
  auto wait = std::max(a.login_per_ip.locked_for(ip_key),
                       a.login_per_email.locked_for(email));
  if (wait > 0) {
    auto r = http::problem(429, "too many failed sign-ins; try again later");
    r.set("retry-after", std::to_string(wait));
    return c->reply(std::move(r));
  }
  auto acc = a.db->account_by_email(email);
  // Verify against a dummy hash when the account is absent, so timing does not
  // tell.
  static const std::string dummy = crypto::hash_password("not a real password");
  bool ok = crypto::verify_password(acc ? acc->password_hash : dummy, pw->s) &&
            acc.has_value();
  if (!ok) {
    a.login_per_ip.failed(ip_key);
    a.login_per_email.failed(email);
    return c->problem(401, "wrong email or password");
  }
  a.login_per_email.succeeded(email);
  auto token = crypto::random_token(32);
  auto sess = std::make_shared<store::session>();
  sess->account_id = acc->id;
  sess->csrf_token = crypto::random_token(24);
  sess->created_at = timefmt::now_us();
  sess->expires_at = sess->created_at + session_lifetime_us;
  auto hash = crypto::sha256(token);
  auto op = store::make_op([sess, hash](store::database& db, lmdb::txn& t) {
    return db.put_session(t, hash, *sess);
  });
  auto account = std::make_shared<store::account>(std::move(*acc));
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
        [c, done](store::outcome& o) {
          if (!o) return c->fail(o);
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
        [c, token](store::outcome& o) {
          if (!o) return c->fail(o);
          json::writer w;
          w.begin_object().key("api_token").value(token).end_object();
          c->json(200, std::move(w).str());
        });
}

} // namespace ls::api
