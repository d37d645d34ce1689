// The Beast HTTP/1.1 server: the only translation unit that instantiates Beast.
//
// Design:
// - `core` is the state shared by the server, its io threads and its sessions.
//   Sessions hold a shared_ptr to it: a session can outlive the server (a
//   handler may keep a responder after stop()), and a socket must not outlive
//   its io_context.
// - One `session` per connection, on its own strand. It reads one request,
//   calls the handler, and reads the next request only after the response is
//   written, so pipelined requests are answered in order.
// - The responder posts the reply onto the session's strand. Posting goes
//   through core::post_mu and core::closed: once stop() has joined the io
//   threads, replies and chunks are dropped instead of being queued on an
//   io_context that no longer runs.
#include "http/server.hpp"

#include "http/codec/problem.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/socket.h>
#include <thread>
#include <unordered_map>

namespace ls::http {

namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace bh = boost::beast::http;
namespace bws = boost::beast::websocket;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

/// session::waiting_since_ of a connection that has a request in hand (not to
/// be shed), and of one we are already closing (lingering: shed it first).
constexpr int64_t not_waiting = std::numeric_limits<int64_t>::max();
constexpr int64_t closing_anyway = std::numeric_limits<int64_t>::min();

int64_t ticks(steady::time_point t) {
  return t.time_since_epoch().count();
}

/// How long a connection we are closing waits for the client to close its side,
/// discarding what it still sends (so that the client reads our error response
/// instead of a reset).
constexpr auto linger_time = std::chrono::seconds(1);
constexpr size_t read_chunk = 16 * 1024;
/// The read that waits for a request: small, so that thousands of idle or
/// silent connections cost little memory; the head is then read in larger
/// pieces.
constexpr size_t idle_read_chunk = 1024;

class session;
class ws_session;

struct core : std::enable_shared_from_this<core> {
  core(server_options o, request_handler h)
      : opts(std::move(o)), handler(std::move(h)) {}

  server_options opts;
  request_handler handler;

  // Declared before every io object so that it is destroyed after them.
  net::io_context ioc;

  std::mutex acceptor_mu; ///< guards acceptor and accept_retry
  tcp::acceptor acceptor{ioc};
  net::steady_timer accept_retry{ioc};

  std::atomic<size_t> connections{0};
  /// opts.max_connections capped by the fd limit (set by start()).
  std::atomic<size_t> limit{0};
  std::atomic<size_t> shed{0}; ///< connections closed to make room

  std::mutex flight_mu;
  std::condition_variable flight_cv;
  size_t in_flight = 0; ///< handler called, response not yet written

  std::atomic<bool> draining{false}; ///< stop() began: no more keep-alive
  std::atomic<bool> halted{false};   ///< stop() is closing every connection

  std::mutex post_mu;
  bool closed = false; ///< io threads joined: drop replies and chunks

  std::mutex sessions_mu;
  std::unordered_map<session*, std::weak_ptr<session>> sessions;

  std::unordered_map<ws_session*, std::weak_ptr<ws_session>> sockets;

  std::vector<std::shared_ptr<ws_session>> live_sockets() {
    std::vector<std::shared_ptr<ws_session>> out;
    std::lock_guard lk(sessions_mu);
    out.reserve(sockets.size());
    for (auto& [p, w] : sockets)
      if (auto s = w.lock()) out.push_back(std::move(s));
    return out;
  }

  std::vector<std::shared_ptr<session>> live_sessions() {
    std::vector<std::shared_ptr<session>> out;
    std::lock_guard lk(sessions_mu);
    out.reserve(sessions.size());
    for (auto& [p, w] : sessions)
      if (auto s = w.lock()) out.push_back(std::move(s));
    return out;
  }

  void request_started() {
    std::lock_guard lk(flight_mu);
    ++in_flight;
  }

  void request_ended() {
    std::lock_guard lk(flight_mu);
    if (in_flight > 0 && --in_flight == 0) flight_cv.notify_all();
  }
};

// -- small helpers ------------------------------------------------------------

/// RFC 9110 IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (locale
/// independent).
std::string http_date() {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed",
                                         "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr",
                                           "May", "Jun", "Jul", "Aug",
                                           "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t cached_at = -1;
  thread_local char buf[32];
  std::time_t now = std::time(nullptr);
  if (now != cached_at) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                  days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
                  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_at = now;
  }
  return buf;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (beast::iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

bool safe_header(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name)
    if (c == '\r' || c == '\n' || c == ':' || c == ' ') return false;
  for (char c : value)
    if (c == '\r' || c == '\n') return false;
  return true;
}

void cancel_quietly(const std::shared_ptr<body_stream>& body) {
  if (!body) return;
  try {
    body->cancel();
  } catch (...) {
  }
}

/// Copies the status and headers of `r` into `res`, minus the framing headers
/// the server owns. Returns false when the handler asked to close.
template <class Message>
bool copy_head(const response& r, Message& res,
               const std::string& server_name) {
  bool keep = true;
  bool has_date = false;
  bool has_server = false;
  unsigned status = r.status;
  if (status < 100 || status > 999) status = 500;
  res.result(status);
  for (auto& [name, value] : r.headers) {
    if (!safe_header(name, value)) continue;
    if (beast::iequals(name, "content-length") ||
        beast::iequals(name, "transfer-encoding"))
      continue;
    if (beast::iequals(name, "connection")) {
      if (has_token(value, "close")) keep = false;
      continue;
    }
    if (beast::iequals(name, "date"))
      has_date = true;
    else if (beast::iequals(name, "server"))
      has_server = true;
    res.insert(name, value);
  }
  if (!has_date) res.set(bh::field::date, http_date());
  if (!has_server && !server_name.empty())
    res.set(bh::field::server, server_name);
  return keep;
}

bool status_without_body(unsigned status) {
  return status < 200 || status == 204 || status == 304;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// A Content-Length value (a list, as repeated lines may have been folded
/// into one) whose every element is the decimal `length`.
bool is_length(std::string_view list,
               const boost::optional<std::uint64_t>& length) {
  if (!length) return false;
  for (;;) {
    auto comma = list.find(',');
    auto item = trim_ows(list.substr(0, comma));
    std::uint64_t v = 0;
    auto end = item.data() + item.size();
    auto [ptr, ec] = std::from_chars(item.data(), end, v);
    if (item.empty() || ec != std::errc{} || ptr != end || v != *length)
      return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

/// uri-host [ ":" port ] (RFC 3986 characters; empty is allowed by RFC 9112
/// §3.2 for a target without authority). The application builds redirect
/// URLs from Host, so spaces, slashes or '@' must not get through.
bool is_host(std::string_view v) {
  static constexpr std::string_view other = "-._~%!$&'()*+,;=:[]";
  for (char c : v)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || other.find(c) != std::string_view::npos))
      return false;
  return true;
}

/// Why the length or the Host of a request cannot be trusted, or nullptr.
/// Every refusal is a 400 that closes the connection: when the length of a
/// body is in doubt, the bytes after the head cannot be told apart from a next
/// request (RFC 9112 §6.3), so keeping the connection would let a body be
/// served as a request (request smuggling).
///
/// Beast 1.81 refuses some of these by itself (an invalid or conflicting
/// Content-Length, Transfer-Encoding together with Content-Length, another
/// Transfer-Encoding line after a chunked one), but reads a request whose
/// Transfer-Encoding does not end in a lone "chunked" (gzip, xchunked,
/// "chunked, chunked", empty) as one without a body, takes "gzip, chunked" as
/// chunked without the gzip, and checks nothing about Host. Everything is
/// checked here, so that the rule does not rest on what a Beast version does.
const char* framing_error(const bh::request_parser<bh::string_body>& p) {
  auto& req = p.get();
  size_t te_lines = 0;
  size_t cl_lines = 0;
  size_t host_lines = 0;
  bool lengths_agree = true;
  bool hosts_valid = true;
  std::string_view te;
  for (auto& f : req) {
    switch (f.name()) {
    case bh::field::transfer_encoding:
      ++te_lines;
      te = f.value();
      break;
    case bh::field::content_length:
      ++cl_lines;
      lengths_agree = lengths_agree && is_length(f.value(), p.content_length());
      break;
    case bh::field::host:
      ++host_lines;
      hosts_valid = hosts_valid && is_host(f.value());
      break;
    default:
      break;
    }
  }
  if (te_lines > 0) {
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means its
    // framing is faulty (an HTTP/1.0 hop in between would not have decoded it).
    if (req.version() < 11)
      return "Transfer-Encoding is not allowed in an HTTP/1.0 request.";
    // RFC 9112 §6.1: a server may reject a request with both, which may be an
    // attempt at request smuggling; we do rather than guess which one a proxy
    // in front of us went by.
    if (cl_lines > 0)
      return "A request cannot have both Transfer-Encoding and "
             "Content-Length.";
    // We decode no coding but chunked, and one "chunked" only: anything else
    // leaves the length of the body unknown (RFC 9112 §6.3). An unknown coding
    // before a final chunked could be answered 501 (RFC 9112 §6.1); 400 and
    // closing treats every Transfer-Encoding we do not take the same way.
    if (te_lines > 1 || !beast::iequals(trim_ows(te), "chunked") ||
        !p.chunked())
      return "Transfer-Encoding must be exactly \"chunked\".";
  }
  if (!lengths_agree) return "Content-Length must be one decimal length.";
  // RFC 9112 §3.2: HTTP/1.1 needs exactly one Host; two are refused whatever
  // the version, and HTTP/1.0 may go without.
  if (host_lines > 1) return "A request cannot have more than one Host header.";
  if (host_lines == 0 && req.version() >= 11)
    return "An HTTP/1.1 request needs a Host header.";
  if (!hosts_valid) return "The Host header is not a host and port.";
  return nullptr;
}

// -- session ------------------------------------------------------------------

class session : public std::enable_shared_from_this<session> {
public:
  session(std::shared_ptr<core> c, tcp::socket sock)
      : core_(std::move(c)), ex_(sock.get_executor()), stream_(std::move(sock)),
        accepted_(steady::now()) {
    beast::error_code ec;
    auto& s = stream_.socket();
    s.set_option(tcp::no_delay(true), ec);
    auto ep = s.remote_endpoint(ec);
    if (!ec) {
      auto addr = ep.address();
      if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        addr = net::ip::make_address_v4(net::ip::v4_mapped, addr.to_v6());
      remote_ip_ = addr.to_string();
    }
    core_->connections.fetch_add(1);
  }

  ~session() {
    waiting_since_ = not_waiting; // nothing left to shed
    if (!closed_) core_->connections.fetch_sub(1);
    if (body_) cancel_quietly(body_);
    if (outstanding_) core_->request_ended();
    std::lock_guard lk(core_->sessions_mu);
    core_->sessions.erase(this);
  }

  session(const session&) = delete;
  session& operator=(const session&) = delete;

  void run() {
    {
      std::lock_guard lk(core_->sessions_mu);
      core_->sessions.emplace(this, weak_from_this());
    }
    net::post(ex_, [self = shared_from_this()] { self->read_request(); });
  }

  // -- callable from any thread --

  void post_reply(response r) {
    post([self = shared_from_this(), r = std::move(r)]() mutable {
      self->on_reply(std::move(r));
    });
  }

  /// Closes the connection without answering (responder::abort()).
  void post_abort() {
    post([self = shared_from_this()] { self->on_abort(); });
  }

  void post_stream(response head, std::shared_ptr<body_stream> body) {
    auto b = body;
    bool posted = post([self = shared_from_this(), head = std::move(head),
                        body = std::move(body)]() mutable {
      self->on_stream(std::move(head), std::move(body));
    });
    if (!posted) cancel_quietly(b);
  }

  void post_deliver(uint64_t gen, std::string chunk, bool last) {
    post([self = shared_from_this(), gen, chunk = std::move(chunk),
          last]() mutable { self->on_deliver(gen, std::move(chunk), last); });
  }

  void post_upgrade(std::shared_ptr<ws_handler> h) {
    post([self = shared_from_this(), h = std::move(h)]() mutable {
      self->on_upgrade(std::move(h));
    });
  }

  /// stop(): close the connection if it waits for a new request.
  void post_drain() {
    net::post(ex_, [self = shared_from_this()] {
      if (self->phase_ == phase::idle || self->phase_ == phase::lingering)
        self->close();
    });
  }

  void post_close() {
    net::post(ex_, [self = shared_from_this()] { self->close(); });
  }

  /// Only when no io thread runs (end of stop()).
  void close_now() { close(); }

  // -- shedding (max_connections reached): the acceptor, under
  //    core::sessions_mu, picks the connection that has waited longest for a
  //    complete request; these two are atomics because it reads them from
  //    outside the strand.

  int64_t waiting_since() const {
    return waiting_since_.load(std::memory_order_relaxed);
  }
  bool shedding() const { return shedding_.load(std::memory_order_relaxed); }

  /// Closes the connection if it is still waiting for a request (it may have
  /// completed one since it was picked: then it is left alone).
  void post_shed() {
    shedding_ = true;
    net::post(ex_, [self = shared_from_this()] {
      if (self->waiting_since() != not_waiting && !self->closed_) {
        self->core_->shed.fetch_add(1);
        self->close();
      }
      self->shedding_ = false;
    });
  }

private:
  enum class phase {
    idle,      // waiting for the first byte of a request
    head,      // reading the request head
    body,      // reading the request body
    handling,  // the handler has the request
    writing,   // writing a response (or a stream)
    lingering, // closing: our side is shut down, draining the client
    closed
  };

  /// Posts onto the strand unless the server is fully stopped.
  template <class F>
  bool post(F&& f) {
    std::lock_guard lk(core_->post_mu);
    if (core_->closed) return false;
    net::post(ex_, std::forward<F>(f));
    return true;
  }

  const server_options& opts() const { return core_->opts; }

  // -- reading --

  void read_request() {
    if (closed_) return;
    if (core_->draining.load()) {
      linger_close();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(
        opts().header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(static_cast<std::uint64_t>(opts().body_limit));
    if (buffer_.size() > 0) { // pipelined bytes already here
      waiting_since_ = ticks(steady::now());
      read_head(steady::now() + opts().header_timeout);
      return;
    }
    phase_ = phase::idle;
    // Sheddable from now until the request is complete; a new connection
    // counts from accept (a slowloris head does not make it any younger).
    waiting_since_ = ticks(first_ ? accepted_ : steady::now());
    auto deadline = first_ ? accepted_ + opts().header_timeout
                           : steady::now() + opts().idle_timeout;
    stream_.expires_at(deadline);
    // Nothing buffered: give back what the last request needed (up to the
    // header limit) while the connection waits, however long.
    buffer_.shrink_to_fit();
    stream_.async_read_some(
        buffer_.prepare(idle_read_chunk),
        [self = shared_from_this()](beast::error_code ec, size_t n) {
          self->on_first_bytes(ec, n);
        });
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (closed_) return;
    if (ec) { // idle timeout, client closed, reset: just close
      close();
      return;
    }
    buffer_.commit(n);
    // The whole head must arrive within header_timeout (an absolute deadline,
    // not reset by each read): a new connection counts from accept, a
    // kept-alive one from the first byte.
    read_head(first_ ? accepted_ + opts().header_timeout
                     : steady::now() + opts().header_timeout);
  }

  void read_head(steady::time_point deadline) {
    phase_ = phase::head;
    stream_.expires_at(deadline);
    bh::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          self->on_head(ec);
        });
  }

  void on_head(beast::error_code ec) {
    if (closed_) return;
    if (ec) {
      on_read_error(ec);
      return;
    }
    // Before a 100 Continue and before any of the body is read.
    if (auto why = framing_error(*parser_)) {
      reject_framing(why);
      return;
    }
    if (parser_->is_done()) {
      on_request();
      return;
    }
    auto& req = parser_->get();
    if (req.version() >= 11 &&
        beast::iequals(req[bh::field::expect], "100-continue")) {
      static constexpr std::string_view continue_line =
          "HTTP/1.1 100 Continue\r\n\r\n";
      phase_ = phase::body;
      stream_.expires_after(opts().write_timeout);
      net::async_write(
          stream_, net::buffer(continue_line.data(), continue_line.size()),
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (self->closed_) return;
            if (ec) {
              self->close();
              return;
            }
            self->read_body();
          });
      return;
    }
    read_body();
  }

  void read_body() {
    phase_ = phase::body;
    stream_.expires_after(opts().body_timeout);
    bh::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     if (self->closed_) return;
                     if (ec)
                       self->on_read_error(ec);
                     else
                       self->on_request();
                   });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bh::error::header_limit) {
      send_error(431, "The request head exceeds " +
                          std::to_string(opts().header_limit) + " bytes.");
      return;
    }
    if (ec == bh::error::body_limit) {
      send_error(413, "The request body exceeds " +
                          std::to_string(opts().body_limit) + " bytes.");
      return;
    }
    if (ec.category() ==
            bh::make_error_code(bh::error::bad_method).category() &&
        ec != bh::error::end_of_stream && ec != bh::error::partial_message &&
        ec != bh::error::short_read) {
      send_error(400, "Malformed HTTP request: " + ec.message() + ".");
      return;
    }
    // Timeout, client gone, reset: nothing to answer.
    close();
  }

  // -- handling --

  void on_request();

  void on_reply(response r) {
    if (!outstanding_) return;
    if (closed_) {
      end_request();
      return;
    }
    write_response(std::move(r));
  }

  void on_abort() {
    if (!outstanding_) return;
    end_request();
    close();
  }

  void on_upgrade(std::shared_ptr<ws_handler> h);

  /// 400, then the connection is closed (linger_close discards whatever
  /// follows the head unread).
  void reject_framing(const char* why) {
    version_ = parser_->get().version() == 10 ? 10 : 11;
    send_error(400, why);
  }

  void send_error(unsigned status, std::string detail) {
    keep_alive_ = false;
    head_request_ = false;
    if (version_ != 10) version_ = 11;
    write_response(problem(status, detail));
  }

  void write_response(response r) {
    phase_ = phase::writing;
    responding_ = true;
    waiting_since_ = not_waiting; // e.g. a 431 on its way: let it go out
    try {
      auto& res = res_.emplace();
      res.version(version_ == 10 ? 10 : 11);
      if (!copy_head(r, res, opts().server_name)) keep_alive_ = false;
      if (core_->draining.load()) keep_alive_ = false;
      res.keep_alive(keep_alive_);
      if (!status_without_body(res.result_int())) {
        res.content_length(r.body.size());
        if (!head_request_) res.body() = std::move(r.body);
      }
    } catch (...) {
      res_.reset();
      close();
      return;
    }
    stream_.expires_after(opts().write_timeout);
    bh::async_write(stream_, *res_,
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->on_written(ec);
                    });
  }

  void on_written(beast::error_code ec) {
    responding_ = false;
    res_.reset();
    end_request();
    if (closed_) return;
    if (ec) {
      close();
      return;
    }
    if (!keep_alive_) {
      linger_close();
      return;
    }
    read_request();
  }

  void end_request() {
    if (!outstanding_) return;
    outstanding_ = false;
    core_->request_ended();
  }

  // -- streaming --

  void on_stream(response head, std::shared_ptr<body_stream> body) {
    if (!outstanding_) {
      cancel_quietly(body);
      return;
    }
    if (closed_) {
      cancel_quietly(body);
      end_request();
      return;
    }
    phase_ = phase::writing;
    responding_ = true;
    streaming_ = true;
    ++stream_gen_;
    body_ = std::move(body);
    keepalive_ = shared_from_this();
    try {
      auto& res = stream_head_.emplace();
      res.version(version_ == 10 ? 10 : 11);
      if (!copy_head(head, res, opts().server_name)) keep_alive_ = false;
      if (core_->draining.load()) keep_alive_ = false;
      stream_no_body_ = head_request_ || status_without_body(res.result_int());
      if (version_ == 10)
        keep_alive_ = false; // the body ends when the connection closes
      else if (!status_without_body(res.result_int()))
        res.chunked(true);
      res.keep_alive(keep_alive_);
      stream_sr_.emplace(res);
    } catch (...) {
      close();
      return;
    }
    stream_.expires_after(opts().write_timeout);
    bh::async_write_header(
        stream_, *stream_sr_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (self->closed_) return;
          if (ec) {
            self->close();
            return;
          }
          if (self->stream_no_body_) {
            self->finish_stream(true);
            return;
          }
          self->start_monitor();
          self->do_pull();
        });
  }

  /// While streaming we do not read the socket; watch it so that a client that
  /// goes away is noticed (and the producer cancelled) even when no chunk is
  /// being written.
  void start_monitor() {
    monitoring_ = true;
    stream_.socket().async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this(), gen = stream_gen_](beast::error_code ec) {
          self->on_monitor(ec, gen);
        });
  }

  void on_monitor(beast::error_code ec, uint64_t gen) {
    if (gen != stream_gen_ || ec == net::error::operation_aborted) return;
    monitoring_ = false;
    if (closed_ || !streaming_) return;
    if (ec) {
      close();
      return;
    }
    beast::error_code ec2;
    auto n = stream_.socket().available(ec2);
    if (ec2) {
      close();
      return;
    }
    if (n == 0) {
      // Readiness can be stale (edge-triggered epoll reports the request's own
      // bytes late), so nothing to read does not mean the end: only a peek
      // that finds the end of the stream does.
      char byte;
      auto r = ::recv(stream_.socket().native_handle(), &byte, 1,
                      MSG_PEEK | MSG_DONTWAIT);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return start_monitor();
      if (r <= 0) { // the client closed, or the connection broke
        close();
        return;
      }
    }
    // The client sent more (a pipelined request): it is read after the stream.
  }

  void do_pull() {
    awaiting_ = true;
    std::weak_ptr<session> weak = weak_from_this();
    body_stream::deliver_fn deliver =
        [weak, gen = stream_gen_](std::string chunk, bool last) {
          if (auto s = weak.lock())
            s->post_deliver(gen, std::move(chunk), last);
        };
    auto body = body_;
    try {
      body->pull(std::move(deliver));
    } catch (...) {
      close();
    }
  }

  void on_deliver(uint64_t gen, std::string chunk, bool last) {
    if (closed_ || !streaming_ || gen != stream_gen_ || !awaiting_) return;
    awaiting_ = false;
    if (last && body_ && body_->failed()) {
      close();
      return;
    }
    if (chunk.empty() && !last) {
      do_pull();
      return;
    }
    chunk_ = std::move(chunk);
    auto done = [self = shared_from_this(), last](beast::error_code ec,
                                                  size_t) {
      self->on_chunk_written(ec, last);
    };
    stream_.expires_after(opts().write_timeout);
    if (version_ == 10) {
      if (chunk_.empty()) {
        on_chunk_written({}, last);
        return;
      }
      net::async_write(stream_, net::buffer(chunk_), std::move(done));
    } else if (!last) {
      net::async_write(stream_, bh::make_chunk(net::buffer(chunk_)),
                       std::move(done));
    } else if (chunk_.empty()) {
      net::async_write(stream_, bh::make_chunk_last(), std::move(done));
    } else {
      net::async_write(stream_,
                       beast::buffers_cat(bh::make_chunk(net::buffer(chunk_)),
                                          bh::make_chunk_last()),
                       std::move(done));
    }
  }

  void on_chunk_written(beast::error_code ec, bool last) {
    chunk_.clear();
    if (closed_) return;
    if (ec) {
      close();
      return;
    }
    if (last) {
      finish_stream(false);
      return;
    }
    do_pull();
  }

  void finish_stream(bool cancel_body) {
    streaming_ = false;
    responding_ = false;
    awaiting_ = false;
    if (monitoring_) {
      monitoring_ = false;
      beast::error_code ec;
      stream_.socket().cancel(ec);
    }
    auto body = std::move(body_);
    if (cancel_body) cancel_quietly(body);
    stream_sr_.reset();
    stream_head_.reset();
    end_request();
    auto keep = std::move(keepalive_); // the caller's handler also holds us
    if (!keep_alive_) {
      linger_close();
      return;
    }
    read_request();
  }

  // -- closing --

  /// Shuts down our side and discards what the client still sends, until it
  /// closes or linger_time passes.
  void linger_close() {
    if (closed_) return;
    phase_ = phase::lingering;
    waiting_since_ = closing_anyway;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      close();
      return;
    }
    buffer_.consume(buffer_.size());
    stream_.expires_after(linger_time);
    do_linger();
  }

  void do_linger() {
    stream_.async_read_some(
        buffer_.prepare(read_chunk),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (self->closed_) return;
          if (ec) {
            self->close();
            return;
          }
          self->do_linger();
        });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    phase_ = phase::closed;
    waiting_since_ = not_waiting;
    stream_.close();
    core_->connections.fetch_sub(1);
    if (streaming_) {
      streaming_ = false;
      awaiting_ = false;
      auto body = std::move(body_);
      cancel_quietly(body);
    }
    if (responding_) {
      responding_ = false;
      end_request();
    }
    auto keep = std::move(keepalive_); // callers hold a shared_ptr to us
  }

  // First member, so destroyed last: the socket needs its io_context.
  std::shared_ptr<core> core_;
  net::any_io_executor ex_; // the strand
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  steady::time_point accepted_;
  std::string remote_ip_;
  std::optional<bh::request_parser<bh::string_body>> parser_;
  std::optional<bh::response<bh::string_body>> res_;
  /// The handshake of a WebSocket request, kept until the handler decides.
  std::optional<bh::request<bh::string_body>> upgrade_;

  phase phase_ = phase::idle;
  std::atomic<int64_t> waiting_since_{not_waiting};
  std::atomic<bool> shedding_{false}; ///< post_shed() is on its way
  bool first_ = true;
  bool closed_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  unsigned version_ = 11;
  bool outstanding_ = false; ///< the handler has a request not yet answered
  bool responding_ = false;  ///< a response is being written

  // Streaming state.
  bool streaming_ = false;
  bool awaiting_ = false; ///< pull() called, deliver not yet received
  bool monitoring_ = false;
  bool stream_no_body_ = false;
  uint64_t stream_gen_ = 0;
  std::shared_ptr<body_stream> body_;
  /// Keeps us alive while the producer works (deliver holds a weak_ptr).
  std::shared_ptr<session> keepalive_;
  std::optional<bh::response<bh::empty_body>> stream_head_;
  std::optional<bh::response_serializer<bh::empty_body>> stream_sr_;
  std::string chunk_;
};

// -- responder ----------------------------------------------------------------

class responder_impl final : public responder {
public:
  explicit responder_impl(std::shared_ptr<session> s) : s_(std::move(s)) {}

  ~responder_impl() override {
    if (done_.exchange(true)) return;
    try {
      s_->post_reply(
          problem(500, "The request handler completed without a response."));
    } catch (...) {
    }
  }

  void reply(response r) override {
    if (done_.exchange(true)) return;
    s_->post_reply(std::move(r));
  }

  void stream(response head, std::shared_ptr<body_stream> body) override {
    if (done_.exchange(true)) return;
    if (!body) {
      head.body.clear();
      s_->post_reply(std::move(head));
      return;
    }
    s_->post_stream(std::move(head), std::move(body));
  }

  void abort() override {
    if (done_.exchange(true)) return;
    s_->post_abort();
  }

  void accept_websocket(std::shared_ptr<ws_handler> h) override {
    if (done_.exchange(true)) return;
    s_->post_upgrade(std::move(h));
  }

private:
  std::shared_ptr<session> s_;
  std::atomic<bool> done_{false};
};

// -- websocket session
// ---------------------------------------------------------

/// One accepted WebSocket. Owns the connection after the HTTP session hands it
/// over; lives on the same strand.
class ws_session final : public ws_channel,
                         public std::enable_shared_from_this<ws_session> {
public:
  ws_session(std::shared_ptr<core> c, beast::tcp_stream stream,
             std::shared_ptr<ws_handler> h)
      : core_(std::move(c)), ex_(stream.get_executor()), ws_(std::move(stream)),
        handler_(std::move(h)) {}

  ~ws_session() override {
    std::lock_guard lk(core_->sessions_mu);
    core_->sockets.erase(this);
  }

  /// Runs the handshake answer; the connection count is already ours.
  void start(bh::request<bh::string_body> req) {
    {
      std::lock_guard lk(core_->sessions_mu);
      core_->sockets.emplace(this, weak_from_this());
    }
    auto& opts = core_->opts;
    beast::get_lowest_layer(ws_).expires_never(); // the websocket times itself
    bws::stream_base::timeout t;
    t.handshake_timeout = opts.header_timeout;
    t.idle_timeout = opts.ws_ping_interval * 2;
    t.keep_alive_pings = true; // a ping after half the idle time
    ws_.set_option(t);
    ws_.set_option(bws::stream_base::decorator(
        [name = opts.server_name](bws::response_type& res) {
          if (!name.empty()) res.set(bh::field::server, name);
        }));
    ws_.read_message_max(opts.ws_max_message);
    req_ = std::move(req);
    ws_.async_accept(*req_, [self = shared_from_this()](beast::error_code ec) {
      self->on_accept(ec);
    });
  }

  // -- ws_channel: any thread --

  void send(std::string text) override {
    post([self = shared_from_this(), text = std::move(text)]() mutable {
      self->enqueue(std::move(text));
    });
  }

  void close(uint16_t code, std::string reason) override {
    post([self = shared_from_this(), code, reason = std::move(reason)] {
      self->begin_close(code, reason);
    });
  }

  /// stop(): the server is going away.
  void post_going_away() {
    net::post(ex_, [self = shared_from_this()] {
      self->begin_close(bws::close_code::going_away, "the server is stopping");
    });
  }
  void post_hard_close() {
    net::post(ex_, [self = shared_from_this()] { self->finish(); });
  }
  /// Only when no io thread runs (end of stop()).
  void close_now() { finish(); }

private:
  template <class F>
  void post(F&& f) {
    std::lock_guard lk(core_->post_mu);
    if (core_->closed) return;
    net::post(ex_, std::forward<F>(f));
  }

  void on_accept(beast::error_code ec) {
    req_.reset();
    if (ec || finished_) return finish();
    open_ = true;
    try {
      handler_->on_open(shared_from_this());
    } catch (...) {
      return finish();
    }
    do_read();
  }

  void do_read() {
    ws_.async_read(rbuf_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->on_read(ec);
                   });
  }

  void on_read(beast::error_code ec) {
    if (finished_) return;
    if (ec) return finish(); // closed, timed out (no pong), too large, reset
    auto data = rbuf_.cdata();
    std::string_view text(static_cast<const char*>(data.data()), data.size());
    try {
      handler_->on_message(text);
    } catch (...) {
    }
    rbuf_.consume(rbuf_.size());
    do_read();
  }

  void enqueue(std::string text) {
    if (finished_ || closing_) return;
    queued_ += text.size();
    if (queued_ > core_->opts.ws_max_queued) {
      // It does not read what we send: nothing more goes to it. A close frame
      // would queue behind the stuck writes, so the connection just ends.
      return finish();
    }
    queue_.push_back(std::move(text));
    if (!writing_) do_write();
  }

  void do_write() {
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->on_written(ec);
                    });
  }

  void on_written(beast::error_code ec) {
    writing_ = false;
    if (finished_) return;
    if (ec) return finish();
    queued_ -= queue_.front().size();
    queue_.pop_front();
    if (!queue_.empty()) return do_write();
    if (close_pending_) start_close();
  }

  void begin_close(uint16_t code, std::string_view reason) {
    if (finished_ || closing_ || close_pending_) return;
    if (!open_) return finish();
    close_code_ = code;
    close_reason_ = std::string(reason.substr(0, 120)); // fits a control frame
    close_pending_ = true;
    if (!writing_) start_close();
  }

  void start_close() {
    closing_ = true;
    ws_.async_close(bws::close_reason(static_cast<bws::close_code>(close_code_),
                                      close_reason_),
                    [self = shared_from_this()](beast::error_code) {
                      // The read loop ends with `closed` once the peer answers
                      // (or the handshake timeout passes).
                      if (self->finished_) return;
                    });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    core_->connections.fetch_sub(1);
    queue_.clear();
    auto h = std::move(handler_);
    if (open_ && h) {
      try {
        h->on_close();
      } catch (...) {
      }
    }
  }

  std::shared_ptr<core> core_; // first: the socket needs its io_context
  net::any_io_executor ex_;
  bws::stream<beast::tcp_stream> ws_;
  std::shared_ptr<ws_handler> handler_;
  std::optional<bh::request<bh::string_body>> req_;
  beast::flat_buffer rbuf_;
  std::deque<std::string> queue_;
  size_t queued_ = 0;
  bool open_ = false;
  bool writing_ = false;
  bool close_pending_ = false;
  bool closing_ = false;
  bool finished_ = false;
  uint16_t close_code_ = bws::close_code::normal;
  std::string close_reason_;
};

void session::on_upgrade(std::shared_ptr<ws_handler> h) {
  if (!outstanding_) return;
  if (closed_) return end_request();
  if (!upgrade_ || !h) {
    upgrade_.reset();
    write_response(problem(426, "This endpoint takes a WebSocket connection.")
                       .set("upgrade", "websocket"));
    return;
  }
  // The connection (and its count) moves to the websocket session; this HTTP
  // session ends without closing it.
  end_request();
  closed_ = true;
  waiting_since_ = not_waiting;
  phase_ = phase::closed;
  auto req = std::move(*upgrade_);
  upgrade_.reset();
  try {
    auto ws =
        std::make_shared<ws_session>(core_, std::move(stream_), std::move(h));
    ws->start(std::move(req));
  } catch (...) {
    core_->connections.fetch_sub(1);
  }
}

void session::on_request() {
  if (closed_) return;
  waiting_since_ = not_waiting; // a request in hand is never shed
  if (core_->halted.load()) {
    close();
    return;
  }
  // Beast adds a chunked body's trailer fields to the head: a Host there
  // would be a second one.
  if (parser_->chunked()) {
    if (auto why = framing_error(*parser_)) {
      reject_framing(why);
      return;
    }
  }
  auto& breq = parser_->get();
  request r;
  try {
    r.method = std::string(breq.method_string());
    r.target = std::string(breq.target());
    auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    r.headers.reserve(16);
    for (auto& f : breq)
      r.headers.emplace_back(lowercase(f.name_string()),
                             std::string(f.value()));
    r.body = std::move(breq.body());
    r.remote_ip = remote_ip_;
    r.websocket_upgrade = bws::is_upgrade(breq);
    keep_alive_ = breq.keep_alive();
    version_ = breq.version() == 10 ? 10 : 11;
    head_request_ = breq.method() == bh::verb::head;
    upgrade_.reset();
    if (r.websocket_upgrade) upgrade_ = parser_->release();
  } catch (...) {
    close();
    return;
  }
  first_ = false;
  parser_.reset();

  phase_ = phase::handling;
  stream_.expires_never();
  outstanding_ = true;
  core_->request_started();
  try {
    auto resp = std::make_shared<responder_impl>(shared_from_this());
    core_->handler(std::move(r), std::move(resp));
  } catch (...) {
    // A throwing handler: if it dropped the responder, the client gets a 500.
  }
}

// -- accepting ----------------------------------------------------------------

void do_accept(core* c); // call with acceptor_mu held

/// At the connection limit, closing a connection that merely waits (idle
/// keep-alive, or a request still trickling in: slowloris) makes room for a
/// new one; otherwise a few thousand such connections, renewed before their
/// timeouts, would lock every fresh client out. The one that has waited
/// longest goes first. False when no connection is waiting. O(connections),
/// only at the limit.
bool shed_one(core* c) {
  if (!c->opts.shed_waiting) return false;
  std::shared_ptr<session> victim;
  std::lock_guard lk(c->sessions_mu);
  // A session in the map is alive (~session erases it under this mutex), so
  // reading its atomics is safe. One whose destructor has begun cannot be
  // locked: it is on its way out already (typically a connection that just
  // finished lingering); then the next best is taken.
  std::vector<session*> dying;
  while (!victim && dying.size() < 8) {
    session* best = nullptr;
    int64_t best_since = not_waiting;
    for (auto& [s, weak] : c->sessions) {
      auto since = s->waiting_since();
      if (since < best_since && !s->shedding() &&
          std::find(dying.begin(), dying.end(), s) == dying.end()) {
        best_since = since;
        best = s;
      }
    }
    if (!best) return false;
    victim = c->sessions[best].lock();
    if (!victim) dying.push_back(best);
  }
  if (!victim) return false;
  victim->post_shed(); // only posts: fine under sessions_mu
  return true;
}

void on_accept(core* c, beast::error_code ec, tcp::socket sock) {
  if (ec == net::error::operation_aborted) return;
  if (!ec) {
    if (c->halted.load() ||
        (c->connections.load() >= c->limit.load() && !shed_one(c))) {
      beast::error_code ignored;
      sock.close(ignored);
    } else {
      try {
        std::make_shared<session>(c->shared_from_this(), std::move(sock))
            ->run();
      } catch (...) {
      }
    }
  }
  if (ec == net::error::no_descriptors ||
      ec == boost::system::errc::too_many_files_open_in_system)
    shed_one(c); // free a descriptor for the next try
  std::lock_guard lk(c->acceptor_mu);
  if (!c->acceptor.is_open()) return;
  if (ec) { // e.g. too many open files: retry a little later, don't spin
    c->accept_retry.expires_after(std::chrono::milliseconds(50));
    c->accept_retry.async_wait([c](beast::error_code ec) {
      if (ec) return;
      std::lock_guard lk(c->acceptor_mu);
      if (c->acceptor.is_open()) do_accept(c);
    });
    return;
  }
  do_accept(c);
}

void do_accept(core* c) {
  c->acceptor.async_accept(net::make_strand(c->ioc),
                           [c](beast::error_code ec, tcp::socket sock) {
                             on_accept(c, ec, std::move(sock));
                           });
}

std::vector<tcp::endpoint> resolve_listen(net::io_context& ioc,
                                          const std::string& listen) {
  auto fail = [&](const std::string& why) -> std::runtime_error {
    return std::runtime_error("cannot listen on " + listen + ": " + why);
  };
  std::string host, port;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() ||
        listen[close + 1] != ':')
      throw fail("expected \"[address]:port\"");
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw fail("expected \"host:port\"");
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      throw fail("an IPv6 address needs brackets, e.g. \"[::1]:3000\"");
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char ch) { return ch >= '0' && ch <= '9'; }) ||
      std::stoul(port) > 65535)
    throw fail("invalid port \"" + port + "\"");
  auto port_num = static_cast<uint16_t>(std::stoul(port));
  if (host.empty() || host == "*") host = "0.0.0.0";

  beast::error_code ec;
  auto addr = net::ip::make_address(host, ec);
  if (!ec) return {tcp::endpoint(addr, port_num)};

  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(
      host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) throw fail("cannot resolve \"" + host + "\": " + ec.message());
  std::vector<tcp::endpoint> v4, v6;
  for (auto& entry : results) {
    auto ep = entry.endpoint();
    auto& bucket = ep.address().is_v4() ? v4 : v6;
    if (std::find(bucket.begin(), bucket.end(), ep) == bucket.end())
      bucket.push_back(ep);
  }
  v4.insert(v4.end(), v6.begin(), v6.end()); // prefer IPv4
  if (v4.empty()) throw fail("\"" + host + "\" resolves to no address");
  return v4;
}

} // namespace

// -- server -------------------------------------------------------------------

struct server::impl {
  std::shared_ptr<core> c;
  std::mutex life_mu;
  bool started = false;
  bool stopped = false;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  std::atomic<uint16_t> port{0};
};

server::server(server_options opts, request_handler handler)
    : impl_(std::make_unique<impl>()) {
  impl_->c = std::make_shared<core>(std::move(opts), std::move(handler));
}

server::~server() {
  try {
    stop();
  } catch (...) {
  }
}

void server::start() {
  std::lock_guard lk(impl_->life_mu);
  if (impl_->stopped)
    throw std::runtime_error("ls::http::server: start() after stop()");
  if (impl_->started) return;
  auto& c = *impl_->c;
  const auto& listen = c.opts.listen;
  auto endpoints = resolve_listen(c.ioc, listen);

  {
    std::lock_guard alk(c.acceptor_mu);
    beast::error_code ec;
    for (auto& ep : endpoints) {
      ec = {};
      c.acceptor.open(ep.protocol(), ec);
      if (!ec) c.acceptor.set_option(net::socket_base::reuse_address(true), ec);
      if (!ec) c.acceptor.bind(ep, ec);
      if (!ec) c.acceptor.listen(net::socket_base::max_listen_connections, ec);
      if (!ec) break;
      beast::error_code ignored;
      c.acceptor.close(ignored);
    }
    if (ec)
      throw std::runtime_error("cannot listen on " + listen + ": " +
                               ec.message());
    impl_->port = c.acceptor.local_endpoint(ec).port();
    // Each connection is a file descriptor: stay below the process's limit,
    // keeping a reserve for LMDB, logs and outgoing calls, so that the limit
    // (and shedding) applies before accept() starts failing with EMFILE.
    size_t limit = c.opts.max_connections;
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      auto fds = static_cast<size_t>(rl.rlim_cur);
      auto reserve = std::max<size_t>(64, fds / 10);
      limit = std::min(limit, fds > reserve ? fds - reserve : size_t{1});
    }
    c.limit = limit;
    do_accept(&c);
  }

  impl_->work.emplace(c.ioc.get_executor());
  unsigned n = std::max(1u, c.opts.threads);
  for (unsigned i = 0; i < n; ++i) {
    impl_->threads.emplace_back([cp = impl_->c] {
      for (;;) {
        try {
          cp->ioc.run();
          break;
        } catch (...) {
          // A handler threw: keep serving.
        }
      }
    });
  }
  impl_->started = true;
}

uint16_t server::port() const {
  return impl_->port.load();
}

void server::stop_accepting() {
  auto& c = *impl_->c;
  std::lock_guard lk(c.acceptor_mu);
  beast::error_code ec;
  if (c.acceptor.is_open()) c.acceptor.close(ec);
  c.accept_retry.cancel();
}

void server::stop(std::chrono::milliseconds grace) {
  std::lock_guard lk(impl_->life_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  stop_accepting();
  auto c = impl_->c;
  if (!impl_->started) {
    std::lock_guard plk(c->post_mu);
    c->closed = true;
    return;
  }

  // 1. No more keep-alive; idle connections close now.
  c->draining = true;
  for (auto& s : c->live_sessions())
    s->post_drain();
  for (auto& w : c->live_sockets())
    w->post_going_away();

  // 2. Wait (bounded) for the requests in flight.
  {
    std::unique_lock flk(c->flight_mu);
    c->flight_cv.wait_for(flk, grace, [&] { return c->in_flight == 0; });
  }

  // 2b. WebSocket peers get a moment to answer the close frame.
  auto sockets_deadline = steady::now() + std::min<std::chrono::milliseconds>(
                                              grace, std::chrono::seconds(1));
  while (!c->live_sockets().empty() && steady::now() < sockets_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));

  // 3. Close every connection, stop the io threads.
  c->halted = true;
  for (auto& s : c->live_sessions())
    s->post_close();
  for (auto& w : c->live_sockets())
    w->post_hard_close();
  impl_->work.reset();
  c->ioc.stop();
  bool on_io_thread = false;
  for (auto& t : impl_->threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      on_io_thread = true; // not supported, but don't deadlock
      t.detach();
    } else if (t.joinable()) {
      t.join();
    }
  }
  impl_->threads.clear();
  {
    std::lock_guard plk(c->post_mu);
    c->closed = true; // from now on replies and chunks are dropped
  }
  if (on_io_thread) return;

  // 4. Run what is left (closes, aborted completions) on this thread, so that
  //    no handler holding a session stays queued in the io_context.
  for (auto& s : c->live_sessions())
    s->close_now();
  for (auto& w : c->live_sockets())
    w->close_now();
  c->ioc.restart();
  for (;;) {
    try {
      c->ioc.poll();
      break;
    } catch (...) {
    }
  }
  c->handler = nullptr; // release what the handler captured
}

size_t server::connection_count() const {
  return impl_->c->connections.load();
}

size_t server::connection_limit() const {
  return impl_->c->limit.load();
}

size_t server::shed_count() const {
  return impl_->c->shed.load();
}

size_t server::waiting_count() const {
  auto* c = impl_->c.get();
  std::lock_guard lk(c->sessions_mu);
  size_t n = 0;
  for (auto& [s, weak] : c->sessions) {
    auto since = s->waiting_since();
    n += since != not_waiting && since != closing_anyway;
  }
  return n;
}

} // namespace ls::http
