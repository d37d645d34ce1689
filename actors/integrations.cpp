#include "actors/integrations.hpp"

#include "actors/errors.hpp"
#include "http/client/client.hpp"
#include "http/codec/time.hpp"

#include <caf/all.hpp>
#include <random>
#include <spdlog/spdlog.h>

namespace ls {

namespace {

mc_reply to_reply(http::client_response r) {
  mc_reply out;
  out.status = r.status;
  out.body = std::move(r.body);
  out.error = std::move(r.error);
  return out;
}

double uniform_draw() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>{0.0, 1.0}(rng);
}

} // namespace

transport http_transport(std::shared_ptr<http::client> client) {
  return [client = std::move(client)](const mc_call& call,
                                      std::function<void(mc_reply)> done) {
    http::client_request req;
    req.method = call.method;
    req.url = call.url;
    req.headers = call.headers;
    req.body = call.body;
    req.timeout = std::chrono::milliseconds(call.timeout_ms);
    client->send(std::move(req),
                 [done = std::move(done)](http::client_response r) {
                   done(to_reply(std::move(r)));
                 });
  };
}

namespace {

void start_next(fetcher_actor::stateful_pointer<fetcher_state> self) {
  auto& st = self->state;
  while (st.in_flight < st.limit && !st.queue.empty()) {
    auto id = st.queue.front();
    st.queue.pop_front();
    auto it = st.exchanges.find(id);
    if (it == st.exchanges.end()) continue;
    ++st.in_flight;
    ++it->second.attempts;
    fetcher_actor hdl{self};
    st.send(it->second.call, [hdl, id](mc_reply r) {
      caf::anon_send(hdl, atom::done_v, id, std::move(r));
    });
  }
}

caf::error mailchimp_error(ls_error code, std::string detail) {
  return caf::make_error(code, std::move(detail));
}

/// What a call that must answer 200 carries, read by `parse`; otherwise the
/// upstream error to hand on (Mailchimp's own detail, or why its answer could
/// not be read).
template <class Parse>
auto parse_ok(const mc_reply& r, Parse parse)
    -> caf::expected<typename decltype(parse(
        r.body, std::declval<std::string&>()))::value_type> {
  if (r.status != 200)
    return mailchimp_error(ls_error::upstream_failed,
                           mailchimp::problem_detail(r.status, r.body));
  std::string error;
  auto parsed = parse(r.body, error);
  if (!parsed) return mailchimp_error(ls_error::upstream_failed, error);
  return std::move(*parsed);
}

// -- ACCOUNT
// -----------------------------------------------------------------------------------

struct account_state {
  static inline const char* name = "account";
  store::mailchimp_connection conn;
  std::string token;
  std::string api; ///< API base for this account's data center
  fetcher_actor fetcher;
  integrations_actor registry;
  store_actor store;
  std::chrono::milliseconds timeout{120000};
};

using account_ptr = account_actor::stateful_pointer<account_state>;

/// One API call with the account's token. 401 marks the connection for
/// reconnecting.
template <class OnOk, class OnErr>
void api_call(account_ptr self, std::string method, std::string path,
              std::string body, OnOk on_ok, OnErr on_err) {
  auto& st = self->state;
  mc_call call;
  call.method = std::move(method);
  call.url = st.api + path;
  call.headers = {{"authorization", "Bearer " + st.token}};
  if (!body.empty())
    call.headers.emplace_back("content-type", "application/json");
  call.body = std::move(body);
  call.timeout_ms = st.timeout.count();
  self->request(st.fetcher, st.timeout + std::chrono::seconds(5), atom::call_v,
                std::move(call))
      .then(
          [=](mc_reply& r) mutable {
            if (!r.error.empty())
              return on_err(mailchimp_error(ls_error::upstream_failed,
                                            "Mailchimp could not be reached (" +
                                                r.error + ")"));
            if (r.status == 401) {
              self->send(self->state.registry, atom::rejected_v,
                         self->state.conn.account_id);
              return on_err(mailchimp_error(
                  ls_error::not_connected,
                  "Mailchimp no longer accepts this connection (was the app "
                  "removed in Mailchimp?): connect Mailchimp again"));
            }
            on_ok(r);
          },
          [=](caf::error& e) mutable {
            on_err(mailchimp_error(ls_error::upstream_failed,
                                   "Mailchimp did not answer: " +
                                       caf::to_string(e)));
          });
}

account_actor::behavior_type
account_impl(account_ptr self, store::mailchimp_connection conn,
             std::string token, std::string api, fetcher_actor fetcher,
             integrations_actor registry, store_actor store,
             std::chrono::milliseconds timeout) {
  auto& st = self->state;
  st.conn = std::move(conn);
  st.token = std::move(token);
  st.api = std::move(api);
  st.fetcher = std::move(fetcher);
  st.registry = std::move(registry);
  st.store = std::move(store);
  st.timeout = timeout;
  return {
      [=](atom::audiences) -> caf::result<audience_list> {
        auto rp = self->make_response_promise<audience_list>();
        auto acc = std::make_shared<audience_list>();
        auto fetch = std::make_shared<std::function<void(size_t)>>();
        *fetch = [=](size_t offset) {
          api_call(
              self, "GET",
              "/lists?count=1000&offset=" + std::to_string(offset) +
                  "&fields=lists.id,lists.name,lists.double_optin,"
                  "lists.stats.member_count,total_items",
              {},
              [=](mc_reply& r) mutable {
                auto page = parse_ok(r, mailchimp::parse_lists);
                if (!page) return void(rp.deliver(page.error()));
                acc->insert(acc->end(), page->items.begin(), page->items.end());
                // Every page, until Mailchimp's total is reached (or a page
                // comes back empty).
                if (!page->items.empty() && acc->size() < page->total_items &&
                    acc->size() < 100000)
                  return (*fetch)(acc->size());
                *fetch = nullptr; // break the self-reference
                rp.deliver(std::move(*acc));
              },
              [=](caf::error e) mutable {
                *fetch = nullptr;
                rp.deliver(std::move(e));
              });
        };
        (*fetch)(0);
        return rp;
      },
      [=](atom::create, std::string& name) -> caf::result<mailchimp::audience> {
        auto rp = self->make_response_promise<mailchimp::audience>();
        auto fail = [=](caf::error e) mutable { rp.deliver(std::move(e)); };
        api_call(
            self, "GET", "/?fields=account_name,contact", {},
            [=](mc_reply& r) mutable {
              auto contact = parse_ok(r, mailchimp::parse_account_contact);
              if (!contact) return void(rp.deliver(contact.error()));
              if (contact->address1.empty() || contact->city.empty() ||
                  contact->country.empty())
                return void(rp.deliver(
                    mailchimp_error(ls_error::upstream_failed,
                                    "your Mailchimp account has no postal "
                                    "address, which Mailchimp "
                                    "requires for a new audience: add it in "
                                    "Mailchimp (Account → "
                                    "Settings) or create the audience there")));
              auto& c = self->state.conn;
              auto body = mailchimp::create_list_body(
                  name, *contact,
                  c.account_name.empty() ? name : c.account_name,
                  c.login_email);
              api_call(
                  self, "POST", "/lists", body,
                  [=](mc_reply& created) mutable {
                    if (created.status != 200)
                      return void(rp.deliver(mailchimp_error(
                          ls_error::upstream_failed,
                          "Mailchimp did not create the audience: " +
                              mailchimp::problem_detail(created.status,
                                                        created.body))));
                    std::string err;
                    auto a = mailchimp::parse_list(created.body, err);
                    if (!a)
                      return void(rp.deliver(
                          mailchimp_error(ls_error::upstream_failed, err)));
                    rp.deliver(std::move(*a));
                  },
                  fail);
            },
            fail);
        return rp;
      },
      [=](atom::choose, std::string& id) -> caf::result<mailchimp::audience> {
        bool id_ok = !id.empty() && id.size() <= 64;
        for (char c : id)
          id_ok = id_ok && std::isalnum(static_cast<unsigned char>(c));
        if (!id_ok) // before the promise: once one exists, it owns the reply
          return caf::make_error(ls_error::invalid_argument,
                                 std::string{"audience_id is not a Mailchimp "
                                             "audience id"});
        auto rp = self->make_response_promise<mailchimp::audience>();
        api_call(
            self, "GET",
            "/lists/" + id + "?fields=id,name,double_optin,stats.member_count",
            {},
            [=](mc_reply& r) mutable {
              if (r.status == 404)
                return void(rp.deliver(mailchimp_error(
                    ls_error::not_found, "this audience does not exist in your "
                                         "Mailchimp account")));
              auto a = parse_ok(r, mailchimp::parse_list);
              if (!a) return void(rp.deliver(a.error()));
              auto account_id = self->state.conn.account_id;
              auto chosen = *a;
              auto now = timefmt::now_us();
              auto op = store::make_op([=](store::database& db, lmdb::txn& t) {
                return db.modify_mailchimp_connection(
                    t, account_id, [&](store::mailchimp_connection& c) {
                      c.audience_id = chosen.id;
                      c.audience_name = chosen.name;
                      c.updated_at = now;
                    });
              });
              self->request(self->state.store, std::chrono::seconds(30),
                            atom::write_v, op)
                  .then(
                      [=](store::outcome& o) mutable {
                        if (!o)
                          return void(rp.deliver(caf::make_error(
                              ls_error::storage_failure, o.message)));
                        self->state.conn.audience_id = chosen.id;
                        self->state.conn.audience_name = chosen.name;
                        rp.deliver(chosen);
                      },
                      [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
            },
            [=](caf::error e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](atom::status) {
        auto& c = self->state.conn;
        mailchimp_status s;
        s.state = c.status;
        s.account_name = c.account_name;
        s.login_email = c.login_email;
        s.dc = c.dc;
        s.audience_id = c.audience_id;
        s.audience_name = c.audience_name;
        return s;
      },
  };
}

mailchimp_status status_of(const store::mailchimp_connection& c) {
  mailchimp_status s;
  s.state = c.status;
  s.account_name = c.account_name;
  s.login_email = c.login_email;
  s.dc = c.dc;
  s.audience_id = c.audience_id;
  s.audience_name = c.audience_name;
  return s;
}

using registry_ptr = integrations_actor::stateful_pointer<integrations_state>;

fetcher_actor fetcher_for(registry_ptr self, const std::string& user_id) {
  auto& st = self->state;
  auto it = st.fetchers.find(user_id);
  if (it != st.fetchers.end()) return it->second;
  auto f = self->spawn<caf::linked>(fetcher_impl, http_transport(st.cfg.client),
                                    st.cfg.max_connections, st.cfg.retries);
  st.fetchers.emplace(user_id, f);
  return f;
}

/// The account's stored connection and its opened token; an error saying what
/// the creator must do when there is none, it needs a reconnect, or the token
/// cannot be opened.
caf::expected<std::pair<store::mailchimp_connection, std::string>>
usable_connection(registry_ptr self, const std::string& account_id) {
  auto& st = self->state;
  auto conn = st.cfg.db->mailchimp_connection_of(account_id);
  if (!conn)
    return caf::make_error(ls_error::not_connected,
                           std::string{"Mailchimp is not connected"});
  if (conn->status != "connected")
    return caf::make_error(
        ls_error::not_connected,
        std::string{"Mailchimp needs to be connected again"});
  auto token = crypto::open(st.cfg.key, conn->sealed_token);
  if (!token) {
    spdlog::error("integrations: the sealed Mailchimp token of {} cannot be "
                  "opened with the configured secret key",
                  account_id);
    return caf::make_error(ls_error::not_connected,
                           std::string{"the saved Mailchimp access cannot be "
                                       "read (was the secret key replaced?): "
                                       "connect Mailchimp again"});
  }
  return std::make_pair(std::move(*conn), std::move(*token));
}

/// The account's actor, started from storage when needed; an error when not
/// usable.
caf::expected<account_actor> account_for(registry_ptr self,
                                         const std::string& account_id) {
  auto& st = self->state;
  if (auto it = st.accounts.find(account_id); it != st.accounts.end())
    return it->second;
  auto usable = usable_connection(self, account_id);
  if (!usable) return std::move(usable.error());
  auto& [conn, token] = *usable;
  std::string api = st.cfg.endpoints.api_for(conn.dc);
  auto fetcher = fetcher_for(self, conn.user_id);
  auto a = self->spawn<caf::linked>(account_impl, conn, std::move(token), api,
                                    fetcher, integrations_actor{self},
                                    st.cfg.store, st.cfg.request_timeout);
  st.accounts.emplace(account_id, a);
  return a;
}

void stop_account(registry_ptr self, const std::string& account_id) {
  auto& st = self->state;
  if (auto it = st.accounts.find(account_id); it != st.accounts.end()) {
    self->unlink_from(it->second);
    self->send_exit(it->second, caf::exit_reason::user_shutdown);
    st.accounts.erase(it);
  }
}

} // namespace

bool retryable(const mc_reply& r) {
  if (!r.error.empty())
    return r.error == "timeout" || r.error == "connection reset" ||
           r.error == "eof" || r.error == "connection refused";
  // Under load Mailchimp answers 429 or 403 with no body; 5xx are its own
  // trouble.
  return r.status == 429 || r.status >= 500 ||
         (r.status == 403 && r.body.empty());
}

std::chrono::milliseconds backoff(const retry_policy& p, unsigned attempt,
                                  double unit_random) {
  auto ceiling = p.base.count() * (int64_t{1} << std::min(attempt - 1, 20u));
  ceiling = std::min<int64_t>(ceiling, p.cap.count());
  return std::chrono::milliseconds(
      static_cast<int64_t>(unit_random * static_cast<double>(ceiling)));
}

fetcher_actor::behavior_type
fetcher_impl(fetcher_actor::stateful_pointer<fetcher_state> self,
             transport send, size_t limit, retry_policy retries) {
  self->state.send = std::move(send);
  self->state.limit = std::max<size_t>(1, limit);
  self->state.retries = retries;
  return {
      [=](atom::call, mc_call& call) -> caf::result<mc_reply> {
        auto rp = self->make_response_promise<mc_reply>();
        auto& st = self->state;
        auto id = st.next_id++;
        st.exchanges.emplace(id,
                             fetcher_state::exchange{std::move(call), rp, 0});
        st.queue.push_back(id);
        start_next(self);
        return rp;
      },
      [=](atom::done, uint64_t id, mc_reply& reply) {
        auto& st = self->state;
        --st.in_flight;
        auto it = st.exchanges.find(id);
        if (it != st.exchanges.end()) {
          if (retryable(reply) &&
              it->second.attempts < st.retries.max_attempts) {
            // The slot is free while waiting: other exchanges go on meanwhile.
            ++st.retried;
            auto u = st.retries.unit_random ? st.retries.unit_random()
                                            : uniform_draw();
            self->delayed_send(self,
                               backoff(st.retries, it->second.attempts, u),
                               atom::retry_v, id);
          } else {
            it->second.promise.deliver(std::move(reply));
            st.exchanges.erase(it);
          }
        }
        start_next(self);
      },
      [=](atom::retry, uint64_t id) {
        auto& st = self->state;
        if (st.exchanges.count(id)) {
          st.queue.push_front(id); // it was first in line before
          start_next(self);
        }
      },
  };
}

integrations_actor::behavior_type
integrations_impl(integrations_actor::stateful_pointer<integrations_state> self,
                  integrations_config cfg) {
  self->state.cfg = std::move(cfg);
  // OAuth codes are single-use: an exchange is never repeated.
  self->state.oauth_fetcher = self->spawn<caf::linked>(
      fetcher_impl, http_transport(self->state.cfg.client), size_t{32},
      retry_policy{1, {}, {}, {}});
  return {
      [=](atom::connected, store::mailchimp_connection& conn) {
        stop_account(self, conn.account_id); // a reconnect starts afresh
        return true;
      },
      [=](atom::audiences, std::string& account) -> caf::result<audience_list> {
        auto a = account_for(self, account);
        if (!a) return a.error();
        return self->delegate(*a, atom::audiences_v);
      },
      [=](atom::create, std::string& account,
          std::string& name) -> caf::result<mailchimp::audience> {
        auto a = account_for(self, account);
        if (!a) return a.error();
        return self->delegate(*a, atom::create_v, std::move(name));
      },
      [=](atom::choose, std::string& account,
          std::string& id) -> caf::result<mailchimp::audience> {
        auto a = account_for(self, account);
        if (!a) return a.error();
        return self->delegate(*a, atom::choose_v, std::move(id));
      },
      [=](atom::status, std::string& account) -> caf::result<mailchimp_status> {
        if (auto it = self->state.accounts.find(account);
            it != self->state.accounts.end())
          return self->delegate(it->second, atom::status_v);
        auto conn = self->state.cfg.db->mailchimp_connection_of(account);
        return conn ? status_of(*conn) : mailchimp_status{};
      },
      [=](atom::disconnect, std::string& account) -> caf::result<bool> {
        stop_account(self, account);
        auto rp = self->make_response_promise<bool>();
        auto op = store::make_op([account](store::database& db, lmdb::txn& t) {
          auto r = db.delete_mailchimp_connection(t, account);
          // Disconnecting what is not connected is not an error: the end state
          // is the same.
          return r.code == store::outcome::not_found ? store::outcome{} : r;
        });
        self->request(self->state.cfg.store, std::chrono::seconds(30),
                      atom::write_v, op)
            .then(
                [=](store::outcome& o) mutable {
                  if (!o)
                    return void(rp.deliver(
                        caf::make_error(ls_error::storage_failure, o.message)));
                  rp.deliver(true);
                },
                [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](atom::rejected, std::string& account) {
        stop_account(self, account);
        auto now = timefmt::now_us();
        auto op =
            store::make_op([account, now](store::database& db, lmdb::txn& t) {
              return db.modify_mailchimp_connection(
                  t, account, [&](store::mailchimp_connection& c) {
                    c.status = "needs_reconnect";
                    c.updated_at = now;
                  });
            });
        self->request(self->state.cfg.store, std::chrono::seconds(30),
                      atom::write_v, op)
            .then([](store::outcome&) {},
                  [account](caf::error& e) {
                    spdlog::error(
                        "integrations: cannot mark {} needs_reconnect: {}",
                        account, caf::to_string(e));
                  });
      },
      [=](atom::credentials,
          std::string& account) -> caf::result<job_credentials> {
        auto usable = usable_connection(self, account);
        if (!usable) return std::move(usable.error());
        auto& [conn, token] = *usable;
        job_credentials c;
        c.token = std::move(token);
        c.api = self->state.cfg.endpoints.api_for(conn.dc);
        c.audience_id = conn.audience_id;
        c.audience_name = conn.audience_name;
        c.fetcher = fetcher_for(self, conn.user_id);
        return c;
      },
      [=](atom::call, std::string& user) -> fetcher_actor {
        if (user.empty()) return self->state.oauth_fetcher;
        return fetcher_for(self, user);
      },
  };
}

} // namespace ls
