// The Mailchimp simulator: dispatch, the per-user connection limit, latency and
// faults on a timer thread of its own, the control surface (/_sim/…) and the
// sandbox defaults.
//
// Every request is computed at once, under one mutex, when it arrives; its
// answer is then handed to the responder after the configured latency (plus a
// fault's delay) by the timer thread, so the server's io threads never wait. A
// request counts as "in flight" for its Mailchimp user from its arrival until
// its answer is handed over (or, for a hung one, until it is released by
// /_sim/reset or stop()).
#include "http/sim/simulator.hpp"

#include "http/codec/form.hpp"
#include "http/router.hpp"
#include "http/sim/internal.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <sodium.h>
#include <stdexcept>
#include <thread>

namespace ls::mcsim {

using namespace detail;
using ms = std::chrono::milliseconds;

namespace {

/// Runs callbacks at given times on one thread of its own.
class timer_thread {
public:
  timer_thread() : thread_([this] { run(); }) {}
  ~timer_thread() { shutdown(); }
  timer_thread(const timer_thread&) = delete;
  timer_thread& operator=(const timer_thread&) = delete;

  /// false once shut down (the callback is then dropped).
  bool schedule(clock::time_point at, std::function<void()> fn) {
    std::lock_guard lk(mu_);
    if (stopping_) return false;
    queue_.emplace(at, std::move(fn));
    cv_.notify_one();
    return true;
  }

  /// Stops and joins; callbacks not yet run are dropped (outside the lock).
  void shutdown() {
    std::multimap<clock::time_point, std::function<void()>> dropped;
    {
      std::lock_guard lk(mu_);
      if (stopping_ && !thread_.joinable()) return;
      stopping_ = true;
      dropped.swap(queue_);
      cv_.notify_all();
    }
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id())
      thread_.join();
  }

private:
  void run() {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      if (queue_.empty()) {
        cv_.wait(lk);
        continue;
      }
      auto first = queue_.begin();
      if (first->first > clock::now()) {
        cv_.wait_until(lk, first->first);
        continue;
      }
      auto fn = std::move(first->second);
      queue_.erase(first);
      lk.unlock();
      try {
        fn();
      } catch (...) {
      }
      fn = nullptr; // release what it holds outside the lock too
      lk.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<clock::time_point, std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_; // last: starts once the rest is built
};

struct fault {
  int64_t id = 0;
  std::string method;      ///< empty: any
  std::string path_prefix; ///< empty: any
  unsigned status =
      0; ///< 0: none (answer normally after the delay, or drop/hang)
  std::string body;
  std::string content_type;
  ms delay{0};
  bool drop = false;
  bool hang = false;
  int64_t remaining = 1;

  bool matches(const http::request& req) const {
    if (!method.empty() && !iequals(method, req.method)) return false;
    return path_prefix.empty() || req.path.starts_with(path_prefix);
  }
};

struct user_stats {
  uint64_t requests = 0;
  uint64_t in_flight = 0;
  uint64_t max_in_flight = 0;
  std::map<unsigned, uint64_t> by_status;
};

enum class action { reply, drop, hang };

std::string bearer_token(const http::request& req, bool& present) {
  present = false;
  auto* auth = req.header("authorization");
  if (!auth) return {};
  std::string_view a = trim(*auth);
  auto sp = a.find(' ');
  if (sp == std::string_view::npos) return {};
  auto scheme = a.substr(0, sp);
  auto rest = trim(a.substr(sp + 1));
  if (iequals(scheme, "bearer") || iequals(scheme, "oauth")) {
    present = !rest.empty();
    return std::string(rest);
  }
  if (iequals(scheme, "basic")) {
    std::string decoded(rest.size(), '\0');
    size_t len = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()),
                          decoded.size(), rest.data(), rest.size(), nullptr,
                          &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
      return {};
    decoded.resize(len);
    auto colon = decoded.find(':');
    auto password =
        colon == std::string::npos ? std::string() : decoded.substr(colon + 1);
    present = !password.empty();
    return password;
  }
  return {};
}

http::response control_problem(unsigned status, std::string_view detail) {
  std::string_view title = status == 400   ? "Bad Request"
                           : status == 401 ? "Unauthorized"
                           : status == 403 ? "Forbidden"
                           : status == 404 ? "Not Found"
                           : status == 415 ? "Unsupported Media Type"
                           : status == 405 ? "Method Not Allowed"
                           : status == 409 ? "Conflict"
                                           : "Error";
  return mc_problem(status, title, detail);
}

http::response control_json(unsigned status, std::string body) {
  return json_response(status, std::move(body));
}

http::response no_content() {
  http::response r;
  r.status = 204;
  return r;
}

enum control_route {
  c_reset,
  c_apps_get,
  c_apps_post,
  c_users_get,
  c_users_post,
  c_user_revoke,
  c_user_tokens,
  c_tokens_post,
  c_lists_get,
  c_lists_post,
  c_list_delete,
  c_members_get,
  c_members_post,
  c_faults_get,
  c_faults_post,
  c_faults_delete,
  c_config_get,
  c_config_post,
  c_stats_get,
  c_stats_delete,
};

const http::router& control_routes() {
  static const http::router r = [] {
    http::router r;
    r.add("POST", "/_sim/reset", c_reset);
    r.add("GET", "/_sim/apps", c_apps_get);
    r.add("POST", "/_sim/apps", c_apps_post);
    r.add("GET", "/_sim/users", c_users_get);
    r.add("POST", "/_sim/users", c_users_post);
    r.add("POST", "/_sim/users/{login}/revoke-tokens", c_user_revoke);
    r.add("GET", "/_sim/users/{login}/tokens", c_user_tokens);
    r.add("POST", "/_sim/tokens", c_tokens_post);
    r.add("GET", "/_sim/lists", c_lists_get);
    r.add("POST", "/_sim/lists", c_lists_post);
    r.add("DELETE", "/_sim/lists/{id}", c_list_delete);
    r.add("GET", "/_sim/lists/{id}/members", c_members_get);
    r.add("POST", "/_sim/lists/{id}/members", c_members_post);
    r.add("GET", "/_sim/faults", c_faults_get);
    r.add("POST", "/_sim/faults", c_faults_post);
    r.add("DELETE", "/_sim/faults", c_faults_delete);
    r.add("GET", "/_sim/config", c_config_get);
    r.add("POST", "/_sim/config", c_config_post);
    r.add("GET", "/_sim/stats", c_stats_get);
    r.add("DELETE", "/_sim/stats", c_stats_delete);
    return r;
  }();
  return r;
}

using token_digest = std::array<unsigned char, crypto_generichash_BYTES>;

/// Tokens are compared by their digests, so the comparison takes the same
/// time whatever the length and content of what was sent.
token_digest digest_of(std::string_view token) {
  token_digest d{};
  crypto_generichash(d.data(), d.size(),
                     reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return d;
}

/// At least 16 printable characters without spaces, as config's secrets.
bool acceptable_control_token(std::string_view t) {
  return t.size() >= 16 && std::all_of(t.begin(), t.end(), [](char c) {
           return c > 0x20 && c < 0x7f;
         });
}

/// The token of `Authorization: Bearer <token>`, or "".
std::string_view control_bearer(const http::request& req) {
  auto* auth = req.header("authorization");
  if (!auth) return {};
  std::string_view a = trim(*auth);
  auto sp = a.find(' ');
  if (sp == std::string_view::npos || !iequals(a.substr(0, sp), "bearer"))
    return {};
  return trim(a.substr(sp + 1));
}

/// application/json, parameters (charset) allowed.
bool json_content_type(const http::request& req) {
  auto* ct = req.header("content-type");
  if (!ct) return false;
  std::string_view v = *ct;
  return iequals(trim(v.substr(0, v.find(';'))), "application/json");
}

bool valid_list_id(std::string_view id) {
  return id.size() == 10 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

} // namespace

// -- impl
// --------------------------------------------------------------------------------

struct simulator::impl {
  explicit impl(options o) : opts(std::move(o)) {
    if (sodium_init() < 0)
      throw std::runtime_error("libsodium failed to start");
    if (opts.control_token.empty())
      opts.control_token = random_hex(64);
    else if (!acceptable_control_token(opts.control_token))
      throw std::invalid_argument(
          "the simulator's control token must be at least 16 printable "
          "characters without spaces");
    control_digest = digest_of(opts.control_token);
    latency = opts.latency;
    max_connections = opts.max_connections;
    st.token_key = opts.token_key;
    st.code_lifetime = opts.code_lifetime;
    if (opts.seed_defaults) seed();
  }

  ~impl() { stop(); }

  options opts;
  token_digest control_digest{};
  std::mutex mu;
  state st;
  ms latency{0};
  unsigned max_connections = 10;
  std::deque<fault> faults;
  int64_t next_fault_id = 0;
  std::map<std::string, user_stats> stats;
  struct hung_request {
    std::string login;
    bool counted = false;
    http::responder_ptr responder;
  };
  std::vector<hung_request> hung;
  /// Apps registered by the embedding program (simulator::add_app): they
  /// survive a reset.
  std::map<std::string, app> host_apps;
  bool stopped = false;
  timer_thread timer; // last member: joined first on destruction

  // -- seeding --

  void add_user(std::string login, std::string dc, std::string account_name,
                std::string email, int64_t user_id) {
    user u;
    u.login = std::move(login);
    u.dc = dc.empty() ? "us19" : std::move(dc);
    u.user_id = user_id ? user_id : random_number(10000000, 99999999);
    u.account_id = md5_hex("account/" + u.login).substr(0, 25);
    u.account_name = account_name.empty() ? u.login : std::move(account_name);
    u.email = !email.empty() ? std::move(email)
              : u.login.find('@') != std::string::npos
                  ? u.login
                  : u.login + "@users.sim.example";
    u.member_since = now_iso();
    st.users.push_back(std::move(u));
  }

  /// The sandbox defaults (CONTRACT "The Mailchimp simulator"). Ids are derived
  /// from names, so they stay the same across restarts.
  void seed() {
    st.apps["sandbox-client"] =
        app{"sandbox-client", "sandbox-secret", opts.sandbox_redirect_uris};
    add_user("sandbox-user", "us19", "Sandbox Creator",
             "creator@sandbox.example", 48151623);
    for (auto name : {"Newsletter", "Customers"}) {
      auto id = md5_hex(std::string("sandbox-user/") + name).substr(0, 10);
      auto& a = create_audience(st, "sandbox-user", name, id);
      a.web_id = 100000 + static_cast<int64_t>(st.lists.size());
      a.double_optin = std::string_view(name) == "Customers";
      add_merge_field(a, "BIRTHDAY", "Birthday", "birthday");
      add_merge_field(a, "COMPANY", "Company", "text");
    }
    auto& news = st.lists.at(st.list_order.front());
    static constexpr std::pair<const char*, const char*> seeded[] = {
        {"early.reader@gmail.com", "subscribed"},
        {"unsubscribed.fan@gmail.com", "unsubscribed"},
        {"bounced.fan@yahoo.com", "cleaned"},
        {"complained@outlook.com", "complained"},
        {"forgotten.fan@gmail.com", "forgotten"},
    };
    for (auto [email, status] : seeded) {
      json_doc doc;
      doc.parse(std::string(R"({"email_address":")") + email +
                R"(","status":")" + status + "\"}");
      seed_member(st, news, doc.root);
    }
  }

  /// Back to empty (or to the defaults); hung requests are returned for
  /// release.
  std::vector<hung_request> reset(bool defaults) {
    st.apps.clear();
    st.users.clear();
    st.tokens.clear();
    st.codes.clear();
    st.list_order.clear();
    st.lists.clear();
    faults.clear();
    latency = opts.latency;
    max_connections = opts.max_connections;
    std::vector<hung_request> released;
    released.swap(hung);
    for (auto& h : released)
      uncount(h.login, h.counted);
    stats.clear();
    if (defaults) seed();
    for (auto& [id, a] : host_apps)
      st.apps[id] = a;
    return released;
  }

  void uncount(const std::string& login, bool counted) {
    if (!counted) return;
    auto it = stats.find(login);
    if (it != stats.end() && it->second.in_flight > 0) --it->second.in_flight;
  }

  // -- requests --

  void handle(http::request&& req, http::responder_ptr resp) {
    if (req.path == "/_sim" || req.path.starts_with("/_sim/")) {
      http::response r;
      std::vector<hung_request> released;
      {
        std::lock_guard lk(mu);
        if (stopped)
          r = control_problem(503, "The simulator is stopped.");
        else if (auto refusal = refuse_control(req))
          r = std::move(*refusal);
        else
          r = control(req, released);
      }
      for (auto& h : released)
        h.responder->abort();
      resp->reply(std::move(r));
      return;
    }

    bool api = req.path == "/3.0" || req.path.starts_with("/3.0/");
    bool oauth = req.path.starts_with("/oauth2/");
    std::string login;
    bool counted = false;
    action act = action::reply;
    http::response res;
    ms delay{0};
    {
      std::lock_guard lk(mu);
      if (stopped) {
        res =
            mc_problem(503, "Service Unavailable", "The simulator is stopped.");
      } else {
        delay = latency;
        bool token_present = false;
        std::string token;
        const user* u = nullptr;
        if (api) {
          token = bearer_token(req, token_present);
          if (token_present)
            if (auto* owner = st.token_owner(token)) {
              u = st.find_user(*owner);
              if (u) login = u->login;
            }
        }
        bool limited = false;
        if (u) {
          auto& s = stats[login];
          ++s.requests;
          if (s.in_flight >= max_connections) {
            limited = true;
            res = mc_problem(429, "Too Many Requests",
                             "You have exceeded the limit of 10 simultaneous "
                             "connections.");
          } else {
            counted = true;
            s.max_in_flight = std::max(s.max_in_flight, ++s.in_flight);
          }
        }
        std::optional<fault> f;
        if (!limited) f = take_fault(req);
        if (limited) {
        } else if (f && f->hang) {
          act = action::hang;
        } else if (f && f->drop) {
          act = action::drop;
          delay += f->delay;
        } else if (f && f->status) {
          delay += f->delay;
          res.status = f->status;
          res.body = f->body;
          auto ct = f->content_type;
          if (ct.empty() && !f->body.empty()) {
            auto first = trim(f->body).substr(0, 1);
            ct = first == "{" || first == "["
                     ? "application/json; charset=utf-8"
                 : first == "<" ? "text/html; charset=utf-8"
                                : "text/plain; charset=utf-8";
          }
          if (!ct.empty()) res.set("content-type", ct);
        } else {
          if (f) delay += f->delay;
          if (api) {
            if (!token_present)
              res = mc_problem(401, "API Key Missing",
                               "Your request did not include an API key.");
            else if (!u)
              res = mc_problem(401, "API Key Invalid",
                               "Your API key may be invalid, or you've "
                               "attempted to access the wrong datacenter.");
            else
              res = api_request(st, *u, req);
          } else if (oauth) {
            res = oauth_request(st, req);
          } else {
            res = not_found();
          }
        }
        if (act == action::hang) {
          hung.push_back({login, counted, std::move(resp)});
          return;
        }
      }
    }
    finish(std::move(login), counted, act, std::move(res), std::move(resp),
           delay);
  }

  std::optional<fault> take_fault(const http::request& req) {
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (!it->matches(req)) continue;
      fault f = *it;
      if (--it->remaining <= 0) faults.erase(it);
      return f;
    }
    return std::nullopt;
  }

  void finish(std::string login, bool counted, action act, http::response res,
              http::responder_ptr resp, ms delay) {
    auto deliver = [this, login = std::move(login), counted, act,
                    res = std::move(res), resp = std::move(resp)]() mutable {
      {
        std::lock_guard lk(mu);
        uncount(login, counted);
        if (!login.empty() && act == action::reply) {
          auto it = stats.find(login);
          if (it != stats.end()) ++it->second.by_status[res.status];
        }
      }
      if (act == action::drop)
        resp->abort();
      else
        resp->reply(std::move(res));
    };
    if (delay.count() <= 0) {
      deliver();
      return;
    }
    // Dropped (and its responder released) when the timer is already shut down.
    timer.schedule(clock::now() + delay, std::move(deliver));
  }

  void stop() {
    std::vector<hung_request> released;
    {
      std::lock_guard lk(mu);
      stopped = true;
      released.swap(hung);
    }
    timer.shutdown();
    for (auto& h : released)
      h.responder->abort();
  }

  // -- the control surface --

  /// Why a /_sim/ request is not heard, if it is not. A web page can send
  /// simple cross-site requests (text/plain POSTs, no preflight) but can
  /// neither read the token nor set Authorization or a JSON content type
  /// without a CORS preflight, which this surface never grants.
  std::optional<http::response> refuse_control(const http::request& req) {
    // Only the simulator's own origin (its approve page, which has no script)
    // could be a browser allowed here; a rebound DNS name is not it.
    auto own = lower(st.base_url);
    for (auto& [name, value] : req.headers)
      if (name == "origin" && (own.empty() || lower(trim(value)) != own))
        return control_problem(403, "The control surface does not answer "
                                    "requests from other origins.");
    auto given = control_bearer(req);
    if (given.empty() ||
        sodium_memcmp(digest_of(given).data(), control_digest.data(),
                      control_digest.size()) != 0) {
      auto r = control_problem(
          401, given.empty() ? "The control surface needs the simulator's "
                               "control token (Authorization: Bearer <token>)."
                             : "The control token is wrong.");
      r.set("www-authenticate", "Bearer realm=\"mailchimp-sim\"");
      return r;
    }
    if (!req.body.empty() && !json_content_type(req))
      return control_problem(
          415, "A control request with a body must be application/json.");
    return std::nullopt;
  }

  http::response control(const http::request& req,
                         std::vector<hung_request>& released) {
    auto m = control_routes().match(req.method, req.path);
    if (m.result == http::route_match::not_found)
      return control_problem(404, "No such control endpoint.");
    if (m.result == http::route_match::method_not_allowed) {
      auto r = control_problem(405, "Method not allowed here.");
      r.set("allow", m.allow);
      return r;
    }
    json_doc doc;
    bool has_body = !trim(req.body).empty();
    if (has_body && !doc.parse(req.body))
      return control_problem(400, "The body is not valid JSON.");
    if (has_body && !doc.root.is_object())
      return control_problem(400, "The body must be a JSON object.");
    auto body = doc.root;
    auto str = [&](std::string_view key) -> std::string {
      if (!has_body) return {};
      auto s = get_string(body, key);
      return s ? std::string(*s) : std::string();
    };
    auto decoded = [](std::string_view raw) {
      return form::percent_decode(raw, false).value_or(std::string());
    };

    switch (m.route) {
    case c_reset: {
      bool defaults =
          has_body && get_bool(body, "seed_defaults").value_or(false);
      released = reset(defaults);
      return control_json(200, defaults ? R"({"reset":"defaults"})"
                                        : R"({"reset":"empty"})");
    }
    case c_apps_get: {
      json::writer w;
      w.begin_object().key("apps").begin_array();
      for (auto& [id, a] : st.apps) {
        w.begin_object().key("client_id").value(id).key("redirect_uris");
        w.begin_array();
        for (auto& u : a.redirect_uris)
          w.value(u);
        w.end_array().end_object();
      }
      w.end_array().end_object();
      return control_json(200, std::move(w).str());
    }
    case c_apps_post: {
      auto id = str("client_id");
      auto secret = str("client_secret");
      if (id.empty() || secret.empty())
        return control_problem(
            400, "client_id and client_secret are required strings.");
      std::vector<std::string> uris;
      if (auto v = has_body ? get_field(body, "redirect_uris") : std::nullopt;
          v && v->is_array()) {
        for (auto e : v->get_array()) {
          if (!e.is_string())
            return control_problem(400,
                                   "redirect_uris must hold strings only.");
          std::string_view uri = e.get_string().value_unsafe();
          if (auto problem = redirect_uri_problem(uri); !problem.empty())
            return control_problem(
                400, "redirect_uris[" + std::to_string(uris.size()) +
                         "] must be an absolute http or https URL, " + problem +
                         ".");
          uris.emplace_back(uri);
        }
      } else {
        return control_problem(400, "redirect_uris must be an array.");
      }
      add_app(id, secret, uris);
      json::writer w;
      w.begin_object().key("client_id").value(id).end_object();
      return control_json(201, std::move(w).str());
    }
    case c_users_get: {
      json::writer w;
      w.begin_object().key("users").begin_array();
      for (auto& u : st.users)
        w.begin_object()
            .key("login")
            .value(u.login)
            .key("dc")
            .value(u.dc)
            .key("user_id")
            .value(u.user_id)
            .key("account_name")
            .value(u.account_name)
            .key("email")
            .value(u.email)
            .end_object();
      w.end_array().end_object();
      return control_json(200, std::move(w).str());
    }
    case c_users_post: {
      auto login = str("login");
      if (login.empty())
        return control_problem(400, "login is a required string.");
      if (st.find_user(login))
        return control_problem(409, "A user with this login exists.");
      auto dc = str("dc");
      if (!dc.empty() && !std::all_of(dc.begin(), dc.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
          }))
        return control_problem(400, "dc must look like \"us19\".");
      int64_t user_id = 0;
      if (has_body) {
        if (auto id = get_int(body, "user_id"); id && *id > 0) user_id = *id;
      }
      add_user(login, dc, str("account_name"), str("email"), user_id);
      auto& u = st.users.back();
      json::writer w;
      w.begin_object()
          .key("login")
          .value(u.login)
          .key("dc")
          .value(u.dc)
          .key("user_id")
          .value(u.user_id)
          .end_object();
      return control_json(201, std::move(w).str());
    }
    case c_user_revoke: {
      auto login = decoded(m.param("login"));
      auto* u = st.find_user(login);
      if (!u) return control_problem(404, "No user has this login.");
      ++u->token_epoch;
      uint64_t n = 0;
      for (auto it = st.tokens.begin(); it != st.tokens.end();) {
        if (it->second == login) {
          it = st.tokens.erase(it);
          ++n;
        } else {
          ++it;
        }
      }
      json::writer w;
      w.begin_object().key("revoked").value(n).end_object();
      return control_json(200, std::move(w).str());
    }
    case c_user_tokens: {
      // The live tokens issued to a user: tests use them to prove where tokens
      // never land.
      auto login = decoded(m.param("login"));
      if (!st.find_user(login))
        return control_problem(404, "No user has this login.");
      json::writer w;
      w.begin_object().key("tokens").begin_array();
      for (auto& [token, owner] : st.tokens)
        if (owner == login) w.value(token);
      w.end_array().end_object();
      return control_json(200, std::move(w).str());
    }
    case c_tokens_post: {
      auto login = str("user");
      if (login.empty() && !st.users.empty()) login = st.users.front().login;
      if (!st.find_user(login))
        return control_problem(404, "No user has this login.");
      json::writer w;
      w.begin_object()
          .key("access_token")
          .value(st.issue_token(login))
          .key("user")
          .value(login)
          .end_object();
      return control_json(201, std::move(w).str());
    }
    case c_lists_get: {
      json::writer w;
      w.begin_object().key("lists").begin_array();
      for (auto& id : st.list_order) {
        auto& a = st.lists.at(id);
        size_t n = 0;
        for (auto& [h, mem] : a.members)
          if (mem.status != "forgotten") ++n;
        w.begin_object()
            .key("id")
            .value(a.id)
            .key("name")
            .value(a.name)
            .key("user")
            .value(a.owner)
            .key("double_optin")
            .value(a.double_optin)
            .key("members")
            .value(static_cast<uint64_t>(n))
            .end_object();
      }
      w.end_array().end_object();
      return control_json(200, std::move(w).str());
    }
    case c_lists_post:
      return create_list(body, has_body);
    case c_list_delete: {
      auto id = decoded(m.param("id"));
      if (!st.lists.erase(id))
        return control_problem(404, "No audience has this id.");
      st.list_order.erase(
          std::remove(st.list_order.begin(), st.list_order.end(), id),
          st.list_order.end());
      return no_content();
    }
    case c_members_get: {
      auto* a = st.find_list(decoded(m.param("id")));
      if (!a) return control_problem(404, "No audience has this id.");
      json::writer w;
      w.begin_object().key("list_id").value(a->id).key("members");
      w.begin_array();
      for (auto& h : a->order)
        write_sim_member(w, *a, a->members.at(h));
      w.end_array()
          .key("total_items")
          .value(static_cast<uint64_t>(a->order.size()))
          .end_object();
      return control_json(200, std::move(w).str());
    }
    case c_members_post: {
      auto* a = st.find_list(decoded(m.param("id")));
      if (!a) return control_problem(404, "No audience has this id.");
      if (!has_body) return control_problem(400, "A JSON body is required.");
      auto err = seed_member(st, *a, body);
      if (!err.empty()) return control_problem(400, err);
      auto& mem = a->members.at(subscriber_hash(str("email_address")));
      json::writer w;
      write_sim_member(w, *a, mem);
      return control_json(201, std::move(w).str());
    }
    case c_faults_get: {
      json::writer w;
      w.begin_object().key("faults").begin_array();
      for (auto& f : faults)
        write_fault(w, f);
      w.end_array().end_object();
      return control_json(200, std::move(w).str());
    }
    case c_faults_post:
      return add_fault(body, has_body);
    case c_faults_delete:
      faults.clear();
      return no_content();
    case c_config_get:
      return config_json();
    case c_config_post: {
      if (has_body) {
        auto lat = get_field(body, "latency_ms");
        auto maxc = get_field(body, "max_connections");
        auto l = get_int(body, "latency_ms");
        auto c = get_int(body, "max_connections");
        if ((lat && (!l || *l < 0 || *l > 600000)) ||
            (maxc && (!c || *c < 0 || *c > 1000000)))
          return control_problem(400,
                                 "latency_ms (0..600000) and max_connections "
                                 "(0..1000000) must be integers.");
        if (l) latency = ms(*l);
        if (c) max_connections = static_cast<unsigned>(*c);
      }
      return config_json();
    }
    case c_stats_get: {
      json::writer w;
      w.begin_object().key("users").begin_object();
      for (auto& [login, s] : stats) {
        w.key(login)
            .begin_object()
            .key("requests")
            .value(s.requests)
            .key("in_flight")
            .value(s.in_flight)
            .key("max_in_flight")
            .value(s.max_in_flight)
            .key("by_status")
            .begin_object();
        for (auto& [status, n] : s.by_status)
          w.key(std::to_string(status)).value(n);
        w.end_object().end_object();
      }
      w.end_object().end_object();
      return control_json(200, std::move(w).str());
    }
    case c_stats_delete:
      for (auto& [login, s] : stats) {
        s.requests = 0;
        s.by_status.clear();
        s.max_in_flight = s.in_flight;
      }
      return no_content();
    default:
      return control_problem(404, "No such control endpoint.");
    }
  }

  http::response config_json() {
    json::writer w;
    w.begin_object()
        .key("latency_ms")
        .value(static_cast<int64_t>(latency.count()))
        .key("max_connections")
        .value(max_connections)
        .end_object();
    return control_json(200, std::move(w).str());
  }

  void add_app(const std::string& id, const std::string& secret,
               const std::vector<std::string>& uris) {
    st.apps[id] = app{id, secret, uris};
  }

  http::response create_list(simdjson::dom::element body, bool has_body) {
    if (!has_body) return control_problem(400, "A JSON body is required.");
    auto name = get_string(body, "name");
    if (!name || trim(*name).empty())
      return control_problem(400, "name is a required string.");
    std::string owner;
    if (auto u = get_string(body, "user"))
      owner = std::string(*u);
    else if (!st.users.empty())
      owner = st.users.front().login;
    if (!st.find_user(owner))
      return control_problem(404, "No user has this login.");
    std::string id;
    if (auto v = get_string(body, "id")) {
      id = std::string(*v);
      if (!valid_list_id(id))
        return control_problem(400, "id must be 10 lowercase hex characters.");
      if (st.lists.count(id))
        return control_problem(409, "An audience has this id.");
    }
    // Check the merge fields before creating anything.
    struct field_spec {
      std::string tag, name, type;
      bool required = false;
      std::vector<std::string> choices;
    };
    std::vector<field_spec> specs;
    if (auto mf = get_field(body, "merge_fields")) {
      if (!mf->is_array())
        return control_problem(400, "merge_fields must be an array.");
      static constexpr std::string_view types[] = {
          "text",     "number", "address",  "phone", "date",
          "birthday", "url",    "dropdown", "radio", "zip"};
      for (auto f : mf->get_array()) {
        field_spec s;
        auto tag = get_string(f, "tag");
        if (!tag || tag->empty() || tag->size() > 10)
          return control_problem(400, "Each merge field needs a tag (1 to 10 "
                                      "characters).");
        s.tag = std::string(*tag);
        for (auto& c : s.tag)
          if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        s.name = std::string(get_string(f, "name").value_or(s.tag));
        s.type = std::string(get_string(f, "type").value_or("text"));
        if (std::find(std::begin(types), std::end(types), s.type) ==
            std::end(types))
          return control_problem(400, "Unknown merge field type.");
        s.required = get_bool(f, "required").value_or(false);
        if (auto ch = get_field(f, "choices"); ch && ch->is_array())
          for (auto c : ch->get_array())
            if (c.is_string())
              s.choices.emplace_back(c.get_string().value_unsafe());
        specs.push_back(std::move(s));
      }
    }
    auto& a = create_audience(st, owner, std::string(trim(*name)), id);
    if (auto b = get_bool(body, "double_optin")) a.double_optin = *b;
    for (auto& s : specs) {
      auto& f = add_merge_field(a, s.tag, s.name, s.type, s.required);
      f.choices = std::move(s.choices);
    }
    json::writer w;
    w.begin_object()
        .key("id")
        .value(a.id)
        .key("web_id")
        .value(a.web_id)
        .key("name")
        .value(a.name)
        .key("user")
        .value(a.owner)
        .end_object();
    return control_json(201, std::move(w).str());
  }

  static void write_fault(json::writer& w, const fault& f) {
    w.begin_object()
        .key("id")
        .value(f.id)
        .key("method")
        .string_or_null(f.method)
        .key("path_prefix")
        .string_or_null(f.path_prefix);
    w.key("status");
    if (f.status)
      w.value(f.status);
    else
      w.null();
    w.key("delay_ms")
        .value(static_cast<int64_t>(f.delay.count()))
        .key("drop")
        .value(f.drop)
        .key("hang")
        .value(f.hang)
        .key("count")
        .value(f.remaining)
        .end_object();
  }

  http::response add_fault(simdjson::dom::element body, bool has_body) {
    if (!has_body) return control_problem(400, "A JSON body is required.");
    fault f;
    f.method = std::string(get_string(body, "method").value_or(""));
    f.path_prefix = std::string(get_string(body, "path_prefix").value_or(""));
    auto bad = [&](std::string_view key) {
      return get_field(body, key).has_value();
    };
    if (bad("status")) {
      auto s = get_int(body, "status");
      if (!s || *s < 100 || *s > 599)
        return control_problem(400, "status must be an integer 100..599.");
      f.status = static_cast<unsigned>(*s);
    }
    if (bad("body")) {
      auto b = get_string(body, "body");
      if (!b) return control_problem(400, "body must be a string.");
      f.body = std::string(*b);
    }
    f.content_type = std::string(get_string(body, "content_type").value_or(""));
    if (bad("delay_ms")) {
      auto d = get_int(body, "delay_ms");
      if (!d || *d < 0 || *d > 3600000)
        return control_problem(400, "delay_ms must be an integer 0..3600000.");
      f.delay = ms(*d);
    }
    f.drop = get_bool(body, "drop").value_or(false);
    f.hang = get_bool(body, "hang").value_or(false);
    if (bad("count")) {
      auto c = get_int(body, "count");
      if (!c || *c < 1)
        return control_problem(400, "count must be a positive integer.");
      f.remaining = *c;
    }
    if (!f.status && !f.drop && !f.hang && f.delay.count() == 0)
      return control_problem(400,
                             "A fault needs status, delay_ms, drop or hang.");
    if ((f.drop || f.hang) && f.status)
      return control_problem(400, "status cannot go with drop or hang.");
    if (f.drop && f.hang)
      return control_problem(400, "Choose one of drop and hang.");
    f.id = ++next_fault_id;
    faults.push_back(f);
    json::writer w;
    write_fault(w, f);
    return control_json(201, std::move(w).str());
  }
};

// -- simulator
// ---------------------------------------------------------------------------

simulator::simulator(options opts)
    : impl_(std::make_shared<impl>(std::move(opts))) {}

simulator::~simulator() {
  impl_->stop();
}

http::request_handler simulator::handler() {
  auto self = impl_;
  return [self](http::request&& req, http::responder_ptr resp) {
    try {
      self->handle(std::move(req), std::move(resp));
    } catch (...) {
      // The responder, if dropped, answers 500.
    }
  };
}

const std::string& simulator::control_token() const {
  return impl_->opts.control_token;
}

void simulator::set_base_url(std::string url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  std::lock_guard lk(impl_->mu);
  impl_->st.base_url = std::move(url);
}

void simulator::add_app(const std::string& client_id,
                        const std::string& client_secret,
                        const std::vector<std::string>& redirect_uris) {
  std::lock_guard lk(impl_->mu);
  impl_->add_app(client_id, client_secret, redirect_uris);
  impl_->host_apps[client_id] = app{client_id, client_secret, redirect_uris};
}

void simulator::stop() {
  impl_->stop();
}

} // namespace ls::mcsim
