// The outbound HTTP/1.1 client on Beast and OpenSSL: the only translation unit
// of ls_client that instantiates Beast, Asio's SSL stream and Boost.URL.
//
// Design:
// - `core` (the body of client::impl) owns the io_context and its one thread.
//   Everything below runs on that thread. send() appends to `queued` and
//   posts start_next(), under `mu`: nothing is queued once stop() began, and
//   shutdown() can fail what is still queued.
// - One `exchange` per send(): parse the URL, take an idle connection or open
//   one (resolve or connect_address, connect, TLS handshake), write, read.
//   A deadline timer bounds the whole exchange (retries included); on expiry
//   the exchange finishes with "timeout" and its socket is closed, which
//   aborts whatever operation was pending. `finished` guards the single call
//   of `done`; completion handlers of aborted operations see it and return.
// - Idle connections live in `core::idle`, keyed by (scheme, host, port,
//   connect_address), newest at the back. Each has an idle timer; a cheap
//   non-blocking MSG_PEEK when a connection is taken drops those the server
//   has visibly closed. The race that remains (the server closes just as we
//   send) is handled by one retry: when a reused connection fails with
//   EOF/reset while writing the request or before any response byte was read,
//   the request is sent again on a fresh connection (never another idle one),
//   once. This is done for idempotent methods and for POST: the usual
//   practice of HTTP clients, since a server that closes an idle kept-alive
//   connection as our request arrives has normally not processed it. The
//   residual risk (a server that processed a POST, then died before sending
//   one byte) is accepted. Other methods (PATCH, custom) are not retried.
// - TLS: one ssl::context with the system's CAs (+ extra_ca_file), TLS >= 1.2,
//   verify_peer always. Each connection sets SNI (not for IP literals) and the
//   expected host name or IP in the X509_VERIFY_PARAM (OpenSSL's own RFC 6125
//   checks, like ssl::host_name_verification but with a precise reason such
//   as "hostname mismatch" in SSL_get_verify_result).
// - stop() posts `shutdown` (or runs it inline when called on the io thread,
//   e.g. from a `done` callback), which fails every queued request and
//   exchange with "stopped", closes idle connections and releases the work
//   guard: `done` has run for all of them when stop() returns. run()
//   then returns once the aborted operations have drained, and stop() joins
//   (except on the io thread, which cannot join itself: the thread then owns
//   the last reference to the core and detaches itself).
// - No logging at all: headers carry tokens.
// - Boost.URL is used header-only: <boost/url/src.hpp> compiles its sources
//   into this translation unit (the only one that may include it), so
//   ls_client needs no libboost_url.
#include "http/client/client.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/src.hpp>
#include <cerrno>
#include <deque>
#include <mutex>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <optional>
#include <sys/socket.h>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace ls::http {

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bh = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using done_fn = std::function<void(client_response)>;

/// Runs a `done` callback; a throwing callback must not take the io thread
/// down (and there is no logging here to report it).
void deliver(done_fn& done, client_response r) {
  if (!done) return;
  try {
    done(std::move(r));
  } catch (...) {
  }
}

constexpr uint32_t header_limit = 64 * 1024;

// --- URL ---------------------------------------------------------------------

struct target {
  bool tls = false;
  std::string host; ///< lowercased name or IP literal (no brackets)
  bool host_is_ip = false;
  uint16_t port = 0;
  std::string host_header; ///< host[:port], IPv6 in brackets
  std::string resource;    ///< path?query, never empty
};

bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_'))
      return false;
  return true;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

std::optional<target> parse_target(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url); // the fragment is ignored
  if (!parsed) return std::nullopt;
  const boost::urls::url_view& u = *parsed;
  target t;
  if (u.scheme_id() == boost::urls::scheme::https)
    t.tls = true;
  else if (u.scheme_id() != boost::urls::scheme::http)
    return std::nullopt;
  // No credentials in URLs: they would be dropped silently otherwise.
  if (!u.has_authority() || u.has_userinfo()) return std::nullopt;
  switch (u.host_type()) {
  case boost::urls::host_type::name:
    t.host = lower(u.host_name());
    if (!valid_host_name(t.host)) return std::nullopt;
    t.host_header = t.host;
    break;
  case boost::urls::host_type::ipv4:
    t.host = u.host_address();
    t.host_is_ip = true;
    t.host_header = t.host;
    break;
  case boost::urls::host_type::ipv6:
    t.host = lower(u.host_address());
    t.host_is_ip = true;
    t.host_header = "[" + t.host + "]";
    break;
  default:
    return std::nullopt;
  }
  uint16_t default_port = t.tls ? 443 : 80;
  t.port = default_port;
  if (u.has_port() && !u.port().empty()) {
    unsigned long n = 0;
    for (char c : u.port()) {
      n = n * 10 + static_cast<unsigned long>(c - '0'); // digits (RFC 3986)
      if (n > 65535) return std::nullopt;
    }
    if (n == 0) return std::nullopt;
    t.port = static_cast<uint16_t>(n);
  }
  if (t.port != default_port) t.host_header += ":" + std::to_string(t.port);
  t.resource = u.encoded_target();
  if (t.resource.empty() || t.resource.front() != '/')
    t.resource.insert(0, "/");
  return t;
}

// --- request validation ------------------------------------------------------

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
      continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) ==
        std::string_view::npos)
      return false;
  }
  return true;
}

bool valid_field_value(std::string_view s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

/// Idempotent methods (RFC 9110) and POST may be retried once on a fresh
/// connection when a reused one turns out to be closed (see the design notes).
bool retry_allowed(std::string_view m) {
  for (std::string_view ok :
       {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "POST"})
    if (m == ok) return true;
  return false;
}

/// Header fields the client owns: they define the message framing.
bool managed_field(std::string_view lowercase_name) {
  return lowercase_name == "host" || lowercase_name == "content-length" ||
         lowercase_name == "transfer-encoding" ||
         lowercase_name == "connection";
}

// --- errors ------------------------------------------------------------------

enum class stage { resolve, connect, handshake, write, read };

bool closed_by_peer(const error_code& ec) {
  return ec == bh::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted ||
         ec == ssl::error::stream_truncated;
}

std::string describe(const error_code& ec, stage st, SSL* ssl_handle) {
  if (st == stage::resolve) return "resolve: " + ec.message();
  if (ec == net::error::connection_refused) return "connection refused";
  if (ec == net::error::timed_out) return "timeout";
  if (ec == bh::error::body_limit || ec == bh::error::header_limit ||
      ec == bh::error::buffer_overflow)
    return "response too large";
  if (ec.category() == net::error::get_ssl_category()) {
    const char* reason =
        ::ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    std::string s = "tls: " + (reason ? std::string(reason) : ec.message());
    if (ssl_handle) {
      long v = ::SSL_get_verify_result(ssl_handle);
      if (v != X509_V_OK)
        s += std::string(": ") + ::X509_verify_cert_error_string(v);
    }
    return s;
  }
  std::string s;
  if (ec == net::error::connection_reset || ec == net::error::broken_pipe ||
      ec == net::error::connection_aborted)
    s = "connection reset";
  else if (ec == bh::error::end_of_stream || ec == net::error::eof ||
           ec == ssl::error::stream_truncated ||
           ec == bh::error::partial_message)
    s = "eof";
  else if (ec.category() ==
           bh::make_error_code(bh::error::bad_version).category())
    s = "bad response: " + ec.message();
  else
    s = ec.message();
  if (st == stage::handshake) return "tls: " + s;
  if (st == stage::connect) return "connect: " + s;
  return s;
}

// --- connections -------------------------------------------------------------

struct connection {
  connection(net::io_context& ioc, ssl::context* tls_ctx, std::string k)
      : plain(ioc), idle_timer(ioc), key(std::move(k)) {
    if (tls_ctx) tls.emplace(ioc, *tls_ctx);
  }

  tcp::socket plain; ///< unused when `tls` is set
  std::optional<ssl::stream<tcp::socket>> tls;
  net::steady_timer idle_timer;
  uint64_t idle_gen = 0; ///< bumped when parked or taken: stale timers ignore
  std::string key;

  tcp::socket& socket() { return tls ? tls->next_layer() : plain; }
  SSL* ssl_handle() { return tls ? tls->native_handle() : nullptr; }

  template <class F>
  void with_stream(F&& f) {
    if (tls)
      f(*tls);
    else
      f(plain);
  }

  void close() {
    error_code ignored;
    socket().close(ignored);
  }

  /// False when the server visibly closed the idle connection (EOF or error
  /// pending) or, for plain http, sent unsolicited bytes. TLS records (a
  /// session ticket, close_notify) can't be told apart here: the retry covers
  /// them.
  bool looks_alive() {
    if (!socket().is_open()) return false;
    char b;
    ssize_t n =
        ::recv(socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    return tls.has_value();
  }
};

class exchange;

// --- core --------------------------------------------------------------------

struct core : std::enable_shared_from_this<core> {
  explicit core(client_options o) : opts(std::move(o)) {
    tls_ctx.set_options(ssl::context::default_workarounds |
                        ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_compression);
    ::SSL_CTX_set_min_proto_version(tls_ctx.native_handle(), TLS1_2_VERSION);
    tls_ctx.set_default_verify_paths();
    if (!opts.extra_ca_file.empty())
      tls_ctx.load_verify_file(opts.extra_ca_file); // throws when unreadable
    tls_ctx.set_verify_mode(ssl::verify_peer);
  }

  ~core() {
    // The io thread may hold the last reference (stop() was called from a
    // `done` callback): it can't join itself.
    if (thread.joinable()) {
      if (thread.get_id() == std::this_thread::get_id())
        thread.detach();
      else
        thread.join();
    }
  }

  void run() {
    thread = std::thread([self = shared_from_this()] { self->ioc.run(); });
    io_id = thread.get_id();
  }

  void send(client_request req, done_fn done);
  void stop();
  void shutdown(); ///< io thread

  // Idle pool, io thread only.
  std::shared_ptr<connection> take(const std::string& key);
  void park(std::shared_ptr<connection> c);

  client_options opts;
  // Declared before every io object so that it is destroyed after them.
  net::io_context ioc;
  ssl::context tls_ctx{ssl::context::tls_client};
  net::executor_work_guard<net::io_context::executor_type> work{
      ioc.get_executor()};
  std::thread thread;
  std::thread::id io_id;

  void start_next(); ///< io thread: starts the oldest queued request

  struct queued_request {
    client_request req;
    done_fn done;
  };
  std::mutex mu;         ///< guards `stopping` and `queued`
  bool stopping = false; ///< stop() began: send() fails inline
  /// Sent, not yet started: one start_next() is posted for each. A queue
  /// rather than the request inside the posted handler so that shutdown()
  /// can fail them at once, also when stop() runs on the io thread.
  std::deque<queued_request> queued;
  std::mutex join_mu; ///< never taken on the io thread

  // io thread only.
  bool stopped = false;
  std::unordered_set<std::shared_ptr<exchange>> active;
  std::unordered_map<std::string, std::deque<std::shared_ptr<connection>>> idle;
};

// --- exchange ----------------------------------------------------------------

class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(core& o, client_request r, done_fn d)
      : owner_(o), req_(std::move(r)), done_(std::move(d)), deadline_(o.ioc),
        resolver_(o.ioc) {}

  void start() {
    if (owner_.stopped) return finish_error("stopped");
    auto t = parse_target(req_.url);
    if (!t) return finish_error("bad url");
    target_ = std::move(*t);
    if (!is_token(req_.method)) return finish_error("bad method");
    if (!req_.connect_address.empty()) {
      error_code ec;
      address_ = net::ip::make_address(req_.connect_address, ec);
      if (ec) return finish_error("bad connect_address");
    }
    if (!build_message()) return finish_error("bad header");
    key_ = (target_.tls ? "https\n" : "http\n") + target_.host + "\n" +
           std::to_string(target_.port) + "\n" + req_.connect_address;

    owner_.active.insert(shared_from_this());
    deadline_.expires_after(req_.timeout);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->finish_error("timeout");
    });

    if (auto c = owner_.take(key_)) {
      conn_ = std::move(c);
      reused_ = true;
      write();
    } else {
      open();
    }
  }

  void finish_error(std::string reason) {
    client_response r;
    r.error = std::move(reason);
    finish(std::move(r), false);
  }

private:
  bool build_message() {
    auto v = bh::string_to_verb(req_.method);
    if (v == bh::verb::unknown)
      msg_.method_string(req_.method);
    else
      msg_.method(v);
    msg_.target(target_.resource);
    msg_.version(11);
    msg_.set(bh::field::host, target_.host_header);
    bool user_agent = false;
    for (auto& [name, value] : req_.headers) {
      if (!is_token(name) || !valid_field_value(value)) return false;
      auto lname = lower(name);
      if (managed_field(lname)) continue;
      if (lname == "user-agent") user_agent = true;
      msg_.insert(name, value);
    }
    if (!user_agent && !owner_.opts.user_agent.empty())
      msg_.set(bh::field::user_agent, owner_.opts.user_agent);
    msg_.set(bh::field::connection, "keep-alive");
    if (!req_.body.empty() || v == bh::verb::post || v == bh::verb::put ||
        v == bh::verb::patch)
      msg_.content_length(req_.body.size());
    msg_.body() = std::move(req_.body);
    return true;
  }

  void open() {
    reused_ = false;
    buffer_.clear();
    conn_ = std::make_shared<connection>(
        owner_.ioc, target_.tls ? &owner_.tls_ctx : nullptr, key_);
    if (target_.tls && !setup_tls()) return finish_error("tls: setup failed");
    auto self = shared_from_this();
    if (address_) {
      stage_ = stage::connect;
      conn_->socket().async_connect(
          tcp::endpoint(*address_, target_.port),
          [self](error_code ec) { self->on_connect(ec); });
      return;
    }
    stage_ = stage::resolve;
    resolver_.async_resolve(
        target_.host, std::to_string(target_.port),
        tcp::resolver::numeric_service,
        [self](error_code ec, tcp::resolver::results_type results) {
          if (self->finished_) return;
          if (ec) return self->fail(ec);
          self->stage_ = stage::connect;
          net::async_connect(self->conn_->socket(), results,
                             [self](error_code ec, const tcp::endpoint&) {
                               self->on_connect(ec);
                             });
        });
  }

  bool setup_tls() {
    SSL* ssl = conn_->ssl_handle();
    X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl);
    ::X509_VERIFY_PARAM_set_hostflags(param,
                                      X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (target_.host_is_ip)
      return ::X509_VERIFY_PARAM_set1_ip_asc(param, target_.host.c_str()) == 1;
    // SNI carries names only (RFC 6066), never IP literals.
    return ::SSL_set_tlsext_host_name(ssl, target_.host.c_str()) == 1 &&
           ::X509_VERIFY_PARAM_set1_host(param, target_.host.c_str(), 0) == 1;
  }

  void on_connect(error_code ec) {
    if (finished_) return;
    if (ec) return fail(ec);
    error_code ignored;
    conn_->socket().set_option(tcp::no_delay(true), ignored);
    if (!conn_->tls) return write();
    stage_ = stage::handshake;
    conn_->tls->async_handshake(ssl::stream_base::client,
                                [self = shared_from_this()](error_code ec) {
                                  if (self->finished_) return;
                                  if (ec) return self->fail(ec);
                                  self->write();
                                });
  }

  void write() {
    stage_ = stage::write;
    conn_->with_stream([&](auto& stream) {
      bh::async_write(stream, msg_,
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (self->finished_) return;
                        if (ec) return self->fail(ec);
                        self->read();
                      });
    });
  }

  void read() {
    stage_ = stage::read;
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(owner_.opts.max_response_bytes);
    if (msg_.method() == bh::verb::head) parser_->skip(true);
    // Room for big answers (a batch answer is hundreds of KB): without it the
    // buffer grows from 512 bytes and each read returns a few hundred.
    buffer_.reserve(64 * 1024);
    conn_->with_stream([&](auto& stream) {
      bh::async_read(stream, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) {
                       self->on_read(ec);
                     });
    });
  }

  void on_read(error_code ec) {
    if (finished_) return;
    if (ec) return fail(ec);
    auto& res = parser_->get();
    unsigned status = res.result_int();
    if (status >= 100 && status < 200 && status != 101)
      return read(); // interim response (100 Continue, 103 Early Hints)

    client_response r;
    r.status = status;
    for (auto& f : res)
      r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
    r.body = std::move(res.body());
    reusable_ = res.keep_alive() && !parser_->need_eof() &&
                buffer_.size() == 0 && status != 101;
    finish(std::move(r), true);
  }

  void fail(error_code ec) {
    if (finished_) return;
    bool nothing_read =
        stage_ == stage::write ||
        (stage_ == stage::read && !parser_->got_some() && buffer_.size() == 0);
    if (reused_ && !retried_ && nothing_read && closed_by_peer(ec) &&
        retry_allowed(msg_.method_string())) {
      retried_ = true;
      conn_->close();
      retired_ = std::move(conn_); // kept until the exchange ends, to be safe
      return open();
    }
    finish_error(describe(ec, stage_, conn_ ? conn_->ssl_handle() : nullptr));
  }

  void finish(client_response r, bool success) {
    if (finished_) return;
    finished_ = true;
    auto self = shared_from_this(); // `active` may hold the last reference
    deadline_.cancel();
    resolver_.cancel();
    owner_.active.erase(self);
    if (success && reusable_)
      owner_.park(std::move(conn_)); // no operation is pending on it
    else if (conn_)
      conn_->close(); // aborts the pending operation, if any; keep the object
    auto done = std::move(done_);
    done_ = nullptr;
    deliver(done, std::move(r));
  }

  core& owner_;
  client_request req_;
  done_fn done_;
  target target_;
  std::optional<net::ip::address> address_;
  std::string key_;
  bh::request<bh::string_body> msg_;
  net::steady_timer deadline_;
  tcp::resolver resolver_;
  std::shared_ptr<connection> conn_;
  std::shared_ptr<connection> retired_; ///< the stale one a retry replaced
  beast::flat_buffer buffer_;
  std::optional<bh::response_parser<bh::string_body>> parser_;
  stage stage_ = stage::resolve;
  bool reused_ = false;
  bool retried_ = false;
  bool reusable_ = false;
  bool finished_ = false;
};

// --- core, continued ---------------------------------------------------------

void core::send(client_request req, done_fn done) {
  {
    std::lock_guard lk(mu);
    if (!stopping) {
      queued.push_back({std::move(req), std::move(done)});
      net::post(ioc, [this] { start_next(); });
      return;
    }
  }
  // After stop() there may be no io thread to run `done` on: it runs here.
  if (done) {
    client_response r;
    r.error = "stopped";
    done(std::move(r));
  }
}

void core::start_next() {
  std::optional<queued_request> q;
  {
    std::lock_guard lk(mu);
    if (queued.empty()) return; // shutdown() failed it already
    q.emplace(std::move(queued.front()));
    queued.pop_front();
  }
  std::make_shared<exchange>(*this, std::move(q->req), std::move(q->done))
      ->start();
}

void core::stop() {
  bool first;
  {
    std::lock_guard lk(mu);
    first = !stopping;
    stopping = true;
  }
  if (std::this_thread::get_id() == io_id) {
    if (first) shutdown();
    return; // the thread ends once drained; ~core detaches it
  }
  if (first) net::post(ioc, [this] { shutdown(); });
  std::lock_guard lk(join_mu);
  if (thread.joinable()) thread.join();
}

void core::shutdown() {
  if (stopped) return;
  stopped = true;
  std::deque<queued_request> waiting;
  {
    std::lock_guard lk(mu);
    waiting.swap(queued);
  }
  for (auto& q : waiting) {
    client_response r;
    r.error = "stopped";
    deliver(q.done, std::move(r));
  }
  auto in_flight = std::move(active);
  active.clear();
  for (auto& e : in_flight)
    e->finish_error("stopped");
  for (auto& [key, list] : idle)
    for (auto& c : list) {
      c->idle_timer.cancel();
      c->close();
    }
  idle.clear();
  work.reset();
}

std::shared_ptr<connection> core::take(const std::string& key) {
  auto it = idle.find(key);
  if (it == idle.end()) return nullptr;
  std::shared_ptr<connection> found;
  auto& list = it->second;
  while (!list.empty() && !found) {
    auto c = std::move(list.back());
    list.pop_back();
    ++c->idle_gen;
    c->idle_timer.cancel();
    if (c->looks_alive())
      found = std::move(c);
    else
      c->close();
  }
  if (list.empty()) idle.erase(it);
  return found;
}

void core::park(std::shared_ptr<connection> c) {
  if (stopped || opts.max_idle_per_host == 0) {
    c->close();
    return;
  }
  auto& list = idle[c->key];
  while (list.size() >= opts.max_idle_per_host) {
    list.front()->idle_timer.cancel();
    list.front()->close();
    list.pop_front();
  }
  uint64_t gen = ++c->idle_gen;
  c->idle_timer.expires_after(opts.idle_timeout);
  c->idle_timer.async_wait(
      [this, weak = std::weak_ptr<connection>(c), gen](error_code ec) {
        auto c = weak.lock();
        if (ec || !c || c->idle_gen != gen) return;
        auto it = idle.find(c->key);
        if (it != idle.end()) {
          auto& list = it->second;
          list.erase(std::remove(list.begin(), list.end(), c), list.end());
          if (list.empty()) idle.erase(it);
        }
        c->close();
      });
  list.push_back(std::move(c));
}

} // namespace

// --- client ------------------------------------------------------------------

struct client::impl : core {
  using core::core;
};

client::client(client_options opts)
    : impl_(std::make_shared<impl>(std::move(opts))) {
  impl_->run();
}

client::~client() {
  stop();
}

void client::send(client_request req,
                  std::function<void(client_response)> done) {
  impl_->send(std::move(req), std::move(done));
}

void client::stop() {
  if (impl_) impl_->stop();
}

} // namespace ls::http
