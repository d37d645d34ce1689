// ls_loadgen: an HTTP/1.1 keep-alive load generator on plain Boost.Asio, one io
// thread, for 127.0.0.1 only.
//
// Open loop (--rate R > 0, wrk2-style): request n is due at t0 + n/R. A due
// request goes out on an idle connection at once; when every connection is busy
// it waits, and its latency still counts from the time it was due, so a server
// that stalls is charged for the requests it held up (no coordinated omission).
// Closed loop (--rate 0): every connection sends its next request as soon as
// the previous answer arrived, for --duration seconds: the maximum throughput.
//
// --header "Name: value" (repeatable) adds a request header, e.g. an
// Authorization for the authenticated routes.
//
// --walk (closed loop, GET): every connection pages through a list again and
// again: GET PATH, then PATH with cursor=<next_cursor of the answer> until
// next_cursor is null; a walk's time runs from sending its first page to
// receiving its last. Items are counted by the occurrences of --walk-item
// (default "id":"job_) in each page. Only complete walks are counted; a walk
// with an answer other than --expect is abandoned (walk_errors) and starts
// again from the first page.
//
// POST bodies are {"email":"<prefix><n>@example.com","name":"Bench User"}, n
// unique per run, so every subscribe creates a new subscriber. With
// --random-emails, n is scrambled by a bijection: still unique, but in random
// order, as real emails arrive (random keys dirty more pages of the server's
// email index per commit).
//
// The last line of output is machine-readable, e.g.
//   result: sent=… answered=… expected=… other=… errors=… unanswered=…
//     unsent=… rate=… p50_ms=… p90_ms=… p99_ms=… p999_ms=… max_ms=…
// (on one line), followed in --walk mode by
//   walks=… walk_errors=… walk_pages=… walk_items=… walk_p50_ms=… walk_p90_ms=…
//     walk_max_ms=…
// (walk_pages and walk_items: of the last complete walk).
#include <algorithm>
#include <boost/asio.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
using boost::system::error_code;

struct options {
  uint16_t port = 0;
  std::string method = "POST";
  std::string path = "/api/v1/public/bench/subscribe";
  double rate = 0; ///< requests per second; 0 = closed loop
  double duration = 10;
  unsigned connections = 64;
  double drain = 10; ///< seconds to wait for answers after the last send
  int expect = 202;
  std::string prefix;         ///< of the emails; default u<time>-
  bool random_emails = false; ///< n scrambled (still unique): random index keys
  bool timeline = false;
  std::vector<std::string> headers; ///< extra "Name: value" lines
  bool walk = false;
  std::string walk_item = "\"id\":\"job_";
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr
      << "ls_loadgen: " << why
      << "\nusage: ls_loadgen --port P [--path PATH] [--method POST|GET] "
         "[--rate R (0 = closed loop)] [--duration S] [--connections C] "
         "[--drain S] [--expect STATUS] [--email-prefix X] [--random-emails] "
         "[--timeline] [--header 'Name: value']... [--walk [--walk-item S]]\n";
  std::exit(2);
}

double number(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !(v >= 0)) usage("bad number: " + s);
  return v;
}

options parse(int argc, char** argv) {
  options o;
  o.prefix = "u" + std::to_string(std::time(nullptr)) + "-";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage("missing value after " + a);
      return argv[++i];
    };
    if (a == "--port")
      o.port = static_cast<uint16_t>(number(next()));
    else if (a == "--path")
      o.path = next();
    else if (a == "--method")
      o.method = next();
    else if (a == "--rate")
      o.rate = number(next());
    else if (a == "--duration")
      o.duration = number(next());
    else if (a == "--connections")
      o.connections = static_cast<unsigned>(number(next()));
    else if (a == "--drain")
      o.drain = number(next());
    else if (a == "--expect")
      o.expect = static_cast<int>(number(next()));
    else if (a == "--email-prefix")
      o.prefix = next();
    else if (a == "--random-emails")
      o.random_emails = true;
    else if (a == "--timeline")
      o.timeline = true;
    else if (a == "--header") {
      auto h = next();
      if (h.find(':') == std::string::npos ||
          h.find_first_of("\r\n") != std::string::npos)
        usage("--header must be one \"Name: value\" line");
      o.headers.push_back(std::move(h));
    } else if (a == "--walk")
      o.walk = true;
    else if (a == "--walk-item")
      o.walk_item = next();
    else
      usage("unknown argument " + a);
  }
  if (o.port == 0) usage("--port is required");
  if (o.connections == 0 || o.connections > 10000)
    usage("--connections must be 1 to 10000");
  if (o.duration <= 0 || o.duration > 3600)
    usage("--duration must be more than 0 and at most 3600 seconds");
  if (o.method != "POST" && o.method != "GET")
    usage("--method must be POST or GET");
  if (o.rate * o.duration > 50e6) usage("at most 50 million requests per run");
  if (o.walk && (o.method != "GET" || o.rate != 0))
    usage("--walk needs --method GET and --rate 0 (closed loop)");
  if (o.walk && o.walk_item.empty()) usage("--walk-item must not be empty");
  return o;
}

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i])
      return false;
  return true;
}

bool icontains(std::string_view s, std::string_view what) {
  if (what.size() > s.size()) return false;
  for (size_t i = 0; i + what.size() <= s.size(); ++i)
    if (iequals_prefix(s.substr(i), what)) return true;
  return false;
}

/// A parsed response head.
struct response_head {
  int status = 0;
  size_t head_size = 0;
  bool chunked = false;
  bool close = false;
  size_t content_length = 0;
};

/// Parses the head at the start of `buf`: false while incomplete.
bool parse_head(std::string_view buf, response_head& h) {
  auto end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  h = {};
  h.head_size = end + 4;
  auto head = buf.substr(0, end);
  // "HTTP/1.1 201 Created"
  if (head.size() >= 12) {
    auto code = head.substr(9, 3);
    std::from_chars(code.data(), code.data() + 3, h.status);
  }
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos < head.size()) {
    pos += 2;
    auto eol = head.find("\r\n", pos);
    auto line =
        head.substr(pos, eol == std::string_view::npos ? std::string_view::npos
                                                       : eol - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      if (iequals_prefix(line, "content-length:"))
        std::from_chars(value.data(), value.data() + value.size(),
                        h.content_length);
      else if (iequals_prefix(line, "transfer-encoding:"))
        h.chunked = icontains(value, "chunked");
      else if (iequals_prefix(line, "connection:"))
        h.close = icontains(value, "close");
    }
    pos = eol;
  }
  if (h.status == 0) h.close = true;
  return true;
}

/// The size of a chunked body starting at `buf[0]`, or npos while incomplete.
size_t chunked_size(std::string_view buf) {
  size_t pos = 0;
  for (;;) {
    auto eol = buf.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::string_view::npos;
    size_t n = 0;
    std::from_chars(buf.data() + pos, buf.data() + eol, n, 16);
    pos = eol + 2;
    if (n == 0) { // trailers, then an empty line
      for (;;) {
        auto e = buf.find("\r\n", pos);
        if (e == std::string_view::npos) return std::string_view::npos;
        bool empty = e == pos;
        pos = e + 2;
        if (empty) return pos;
      }
    }
    pos += n + 2;
    if (pos > buf.size()) return std::string_view::npos;
  }
}

/// The body of a chunked message (`buf`: everything after the head).
std::string dechunk(std::string_view buf) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    auto eol = buf.find("\r\n", pos);
    if (eol == std::string_view::npos) return out;
    size_t n = 0;
    std::from_chars(buf.data() + pos, buf.data() + eol, n, 16);
    pos = eol + 2;
    if (n == 0 || pos + n > buf.size()) return out;
    out.append(buf.substr(pos, n));
    pos += n + 2;
  }
}

/// The value of the JSON string member "next_cursor" in `body`: nullopt for
/// null or absent, "" never (an empty string is returned as nullopt too).
std::optional<std::string> next_cursor(std::string_view body) {
  constexpr std::string_view key = "\"next_cursor\"";
  auto at = body.rfind(key);
  if (at == std::string_view::npos) return std::nullopt;
  auto pos = at + key.size();
  while (pos < body.size() && (body[pos] == ' ' || body[pos] == ':'))
    ++pos;
  if (pos >= body.size() || body[pos] != '"') return std::nullopt;
  auto end = body.find('"', pos + 1);
  if (end == std::string_view::npos || end == pos + 1) return std::nullopt;
  return std::string{body.substr(pos + 1, end - pos - 1)};
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

size_t count_of(std::string_view s, std::string_view what) {
  size_t n = 0;
  for (auto at = s.find(what); at != std::string_view::npos;
       at = s.find(what, at + what.size()))
    ++n;
  return n;
}

/// splitmix64's finaliser: a bijection, so distinct n give distinct emails in
/// random order.
uint64_t scramble(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

double ms(int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

class generator {
public:
  explicit generator(options o)
      : opt_(std::move(o)), tick_(io_), deadline_(io_) {
    closed_loop_ = opt_.rate == 0;
    if (!closed_loop_) {
      total_ = static_cast<uint64_t>(std::llround(opt_.rate * opt_.duration));
      latencies_.reserve(total_);
    } else {
      latencies_.reserve(1 << 20);
    }
    head_ = " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(opt_.port) +
            "\r\nUser-Agent: ls_loadgen\r\n";
    if (opt_.method == "POST") head_ += "Content-Type: application/json\r\n";
    for (auto& h : opt_.headers)
      head_ += h + "\r\n";
    for (unsigned i = 0; i < opt_.connections; ++i)
      conns_.push_back(std::make_unique<conn>(io_));
  }

  int run() {
    for (auto& c : conns_)
      connect(*c);
    io_.run();
    return report();
  }

private:
  struct conn {
    explicit conn(asio::io_context& io) : sock(io), retry(io) {}
    tcp::socket sock;
    asio::steady_timer retry;
    std::string wbuf, rbuf;
    bool up = false, busy = false;
    steady::time_point intended;
    // --walk: the next page's cursor ("" = the first page), the walk so far.
    std::string cursor;
    steady::time_point walk_start;
    uint64_t walk_pages = 0, walk_items = 0;
  };

  // -- schedule ---------------------------------------------------------------

  steady::time_point intended(uint64_t n) const {
    return t0_ + std::chrono::nanoseconds(static_cast<int64_t>(
                     static_cast<double>(n) * 1e9 / opt_.rate));
  }
  /// How many requests are due by `now` (open loop).
  uint64_t due(steady::time_point now) const {
    if (now < t0_) return 0;
    auto ns = std::chrono::duration<double, std::nano>(now - t0_).count();
    return std::min<uint64_t>(total_,
                              static_cast<uint64_t>(ns * opt_.rate / 1e9) + 1);
  }

  void start() {
    started_ = true;
    t0_ = steady::now() + std::chrono::milliseconds(20);
    auto send_end = t0_ + std::chrono::nanoseconds(
                              static_cast<int64_t>(opt_.duration * 1e9));
    end_ = send_end;
    deadline_.expires_at(
        send_end +
        std::chrono::nanoseconds(static_cast<int64_t>(opt_.drain * 1e9)));
    deadline_.async_wait([this](error_code ec) {
      if (!ec) finish(true);
    });
    tick_.expires_at(t0_);
    tick_.async_wait([this](error_code ec) {
      if (ec) return;
      if (closed_loop_) {
        for (auto& c : conns_)
          if (c->up && !c->busy) ready(*c);
      } else {
        tick();
      }
    });
  }

  void tick() {
    auto now = steady::now();
    auto d = due(now);
    while (dispatched_ < d && !idle_.empty()) {
      auto* c = idle_.back();
      idle_.pop_back();
      send(*c, intended(dispatched_));
      ++dispatched_;
    }
    max_backlog_ = std::max(max_backlog_, d - dispatched_);
    if (d < total_) {
      tick_.expires_at(intended(d));
      tick_.async_wait([this](error_code ec) {
        if (!ec) tick();
      });
    }
  }

  /// A connection has nothing in flight: give it the next request or park it.
  void ready(conn& c) {
    if (stopped_) return;
    if (!started_) {
      if (!closed_loop_) idle_.push_back(&c);
      if (++connected_ == conns_.size()) start();
      return;
    }
    auto now = steady::now();
    if (closed_loop_) {
      if (now < end_) {
        send(c, now);
        ++dispatched_;
      } else {
        maybe_finish();
      }
      return;
    }
    if (dispatched_ < due(now)) {
      max_backlog_ = std::max(max_backlog_, due(now) - dispatched_);
      send(c, intended(dispatched_));
      ++dispatched_;
    } else {
      idle_.push_back(&c);
      maybe_finish();
    }
  }

  void maybe_finish() {
    bool all_sent =
        closed_loop_ ? steady::now() >= end_ : dispatched_ == total_;
    if (all_sent && in_flight_ == 0) finish(false);
  }

  void finish(bool forced) {
    if (stopped_) return;
    stopped_ = true;
    forced_ = forced;
    finished_ = steady::now();
    tick_.cancel();
    deadline_.cancel();
    for (auto& c : conns_) {
      error_code ignored;
      c->retry.cancel();
      c->sock.close(ignored);
    }
    io_.stop();
  }

  // -- connections ------------------------------------------------------------

  void connect(conn& c) {
    tcp::endpoint ep{asio::ip::address_v4::loopback(), opt_.port};
    c.sock.async_connect(ep, [this, &c](error_code ec) {
      if (stopped_) return;
      if (ec) {
        ++connect_errors_;
        if (!started_) {
          std::cerr << "ls_loadgen: cannot connect to 127.0.0.1:" << opt_.port
                    << ": " << ec.message() << "\n";
          finish(true);
          failed_ = true;
          return;
        }
        reconnect_later(c);
        return maybe_finish();
      }
      c.sock.set_option(tcp::no_delay(true));
      c.up = true;
      c.rbuf.clear();
      ready(c);
    });
  }

  void reconnect_later(conn& c) {
    error_code ignored;
    c.sock.close(ignored);
    c.up = false;
    c.retry.expires_after(std::chrono::milliseconds(50));
    c.retry.async_wait([this, &c](error_code ec) {
      if (!ec && !stopped_) connect(c);
    });
  }

  void fail(conn& c, error_code ec) {
    if (stopped_) return;
    if (c.busy) {
      c.busy = false;
      --in_flight_;
      ++errors_;
      if (errors_ <= 3)
        std::cerr << "ls_loadgen: request failed: " << ec.message() << "\n";
    }
    reconnect_later(c);
    maybe_finish();
  }

  void send(conn& c, steady::time_point when) {
    c.intended = when;
    c.busy = true;
    ++in_flight_;
    c.wbuf = opt_.method + " " + opt_.path;
    if (opt_.walk) {
      if (c.cursor.empty()) {
        c.walk_start = when;
        c.walk_pages = c.walk_items = 0;
      } else {
        c.wbuf += opt_.path.find('?') == std::string::npos ? "?" : "&";
        c.wbuf += "cursor=" + url_encode(c.cursor);
      }
    }
    c.wbuf += head_;
    if (opt_.method == "POST") {
      auto n = next_email_++;
      if (opt_.random_emails) n = scramble(n);
      auto body = "{\"email\":\"" + opt_.prefix + std::to_string(n) +
                  "@example.com\",\"name\":\"Bench User\"}";
      c.wbuf += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
      c.wbuf += body;
    } else {
      c.wbuf += "\r\n";
    }
    asio::async_write(c.sock, asio::buffer(c.wbuf),
                      [this, &c](error_code ec, size_t) {
                        if (ec) return fail(c, ec);
                        read(c);
                      });
  }

  void read(conn& c) {
    if (parse(c)) return;
    auto old = c.rbuf.size();
    c.rbuf.resize(old + 16384);
    c.sock.async_read_some(asio::buffer(c.rbuf.data() + old, 16384),
                           [this, &c, old](error_code ec, size_t n) {
                             c.rbuf.resize(old + n);
                             if (ec) return fail(c, ec);
                             read(c);
                           });
  }

  /// Handles a complete response at the start of rbuf; false while incomplete.
  bool parse(conn& c) {
    response_head h;
    std::string_view buf = c.rbuf;
    if (!parse_head(buf, h)) return false;
    size_t size = h.head_size;
    if (h.chunked) {
      auto body = chunked_size(buf.substr(h.head_size));
      if (body == std::string_view::npos) return false;
      size += body;
    } else {
      size += h.content_length;
      if (buf.size() < size) return false;
    }
    auto now = steady::now();
    if (opt_.walk)
      walked(c, h, buf.substr(h.head_size, size - h.head_size), now);
    c.rbuf.erase(0, size);
    auto latency = (now - c.intended).count();
    latencies_.push_back(latency);
    ++statuses_[h.status];
    if (opt_.timeline) {
      auto sec = static_cast<size_t>(std::max<int64_t>(
          0,
          std::chrono::duration_cast<std::chrono::seconds>(now - t0_).count()));
      if (timeline_.size() <= sec) timeline_.resize(sec + 1);
      ++timeline_[sec].count;
      timeline_[sec].max = std::max(timeline_[sec].max, latency);
    }
    last_answer_ = now;
    c.busy = false;
    --in_flight_;
    if (h.close) {
      ++server_closed_;
      reconnect_later(c);
      maybe_finish();
      return true;
    }
    ready(c);
    return true;
  }

  /// --walk: one page of a walk has arrived.
  void walked(conn& c, const response_head& h, std::string_view raw,
              steady::time_point now) {
    if (h.status != opt_.expect) {
      ++walk_errors_;
      if (walk_errors_ <= 3)
        std::cerr << "ls_loadgen: walk abandoned: status " << h.status << "\n";
      c.cursor.clear();
      return;
    }
    std::string dechunked;
    std::string_view body = raw;
    if (h.chunked) body = dechunked = dechunk(raw);
    ++c.walk_pages;
    c.walk_items += count_of(body, opt_.walk_item);
    if (auto next = next_cursor(body)) {
      c.cursor = std::move(*next);
      return;
    }
    c.cursor.clear();
    walk_times_.push_back((now - c.walk_start).count());
    last_walk_pages_ = c.walk_pages;
    last_walk_items_ = c.walk_items;
  }

  // -- report -----------------------------------------------------------------

  int report() {
    if (failed_) return 1;
    std::sort(latencies_.begin(), latencies_.end());
    auto pct = [&](double q) -> int64_t {
      if (latencies_.empty()) return 0;
      auto i = static_cast<size_t>(
          std::ceil(q * static_cast<double>(latencies_.size())));
      return latencies_[std::min(latencies_.size() - 1, i == 0 ? 0 : i - 1)];
    };
    uint64_t answered = latencies_.size();
    uint64_t expected =
        statuses_.count(opt_.expect) ? statuses_[opt_.expect] : 0;
    uint64_t unsent = closed_loop_ ? 0 : total_ - dispatched_;
    auto span = std::chrono::duration<double>(
                    (answered ? last_answer_ : finished_) - t0_)
                    .count();
    double rate = span > 0 ? static_cast<double>(expected) / span : 0;
    std::printf("mode:        %s, %u connections, 1 io thread, %s %s\n",
                closed_loop_ ? "closed loop (max throughput)"
                             : "open loop (fixed rate)",
                opt_.connections, opt_.method.c_str(), opt_.path.c_str());
    if (!closed_loop_)
      std::printf("target:      %.0f requests/s for %.1f s = %llu requests\n",
                  opt_.rate, opt_.duration,
                  static_cast<unsigned long long>(total_));
    std::printf("sent:        %llu (unsent at the deadline: %llu; max backlog "
                "waiting for a free connection: %llu)\n",
                static_cast<unsigned long long>(dispatched_),
                static_cast<unsigned long long>(unsent),
                static_cast<unsigned long long>(max_backlog_));
    std::printf("answered:    %llu in %.3f s; statuses:",
                static_cast<unsigned long long>(answered), span);
    for (auto& [status, n] : statuses_)
      std::printf(" %d=%llu", status, static_cast<unsigned long long>(n));
    std::printf("\n");
    std::printf("errors:      %llu failed requests, %llu connect errors, %llu "
                "server-closed connections, %llu unanswered at the end%s\n",
                static_cast<unsigned long long>(errors_),
                static_cast<unsigned long long>(connect_errors_),
                static_cast<unsigned long long>(server_closed_),
                static_cast<unsigned long long>(in_flight_),
                forced_ ? " (drain deadline hit)" : "");
    std::printf("throughput:  %.0f %d/s\n", rate, opt_.expect);
    std::printf("latency ms (%s): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  "
                "max %.3f\n",
                closed_loop_ ? "from send" : "from the intended send time",
                ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(pct(0.999)),
                ms(latencies_.empty() ? 0 : latencies_.back()));
    std::sort(walk_times_.begin(), walk_times_.end());
    auto walk_pct = [&](double q) -> int64_t {
      if (walk_times_.empty()) return 0;
      auto i = static_cast<size_t>(
          std::ceil(q * static_cast<double>(walk_times_.size())));
      return walk_times_[std::min(walk_times_.size() - 1, i == 0 ? 0 : i - 1)];
    };
    if (opt_.walk)
      std::printf(
          "walks:       %zu complete (%llu abandoned); the last: %llu "
          "pages, %llu items; walk time ms: p50 %.1f  p90 %.1f  max "
          "%.1f\n",
          walk_times_.size(), static_cast<unsigned long long>(walk_errors_),
          static_cast<unsigned long long>(last_walk_pages_),
          static_cast<unsigned long long>(last_walk_items_), ms(walk_pct(0.5)),
          ms(walk_pct(0.9)), ms(walk_times_.empty() ? 0 : walk_times_.back()));
    if (opt_.timeline) {
      std::printf("timeline (second: answers, max latency ms):\n");
      for (size_t i = 0; i < timeline_.size(); ++i)
        std::printf("  %3zu: %7llu  %8.3f\n", i,
                    static_cast<unsigned long long>(timeline_[i].count),
                    ms(timeline_[i].max));
    }
    std::printf(
        "result: sent=%llu answered=%llu expected=%llu other=%llu errors=%llu "
        "unanswered=%llu unsent=%llu rate=%.0f p50_ms=%.3f p90_ms=%.3f "
        "p99_ms=%.3f p999_ms=%.3f max_ms=%.3f",
        static_cast<unsigned long long>(dispatched_),
        static_cast<unsigned long long>(answered),
        static_cast<unsigned long long>(expected),
        static_cast<unsigned long long>(answered - expected),
        static_cast<unsigned long long>(errors_),
        static_cast<unsigned long long>(in_flight_),
        static_cast<unsigned long long>(unsent), rate, ms(pct(0.50)),
        ms(pct(0.90)), ms(pct(0.99)), ms(pct(0.999)),
        ms(latencies_.empty() ? 0 : latencies_.back()));
    if (opt_.walk)
      std::printf(
          " walks=%zu walk_errors=%llu walk_pages=%llu walk_items=%llu "
          "walk_p50_ms=%.1f walk_p90_ms=%.1f walk_max_ms=%.1f",
          walk_times_.size(), static_cast<unsigned long long>(walk_errors_),
          static_cast<unsigned long long>(last_walk_pages_),
          static_cast<unsigned long long>(last_walk_items_), ms(walk_pct(0.5)),
          ms(walk_pct(0.9)), ms(walk_times_.empty() ? 0 : walk_times_.back()));
    std::printf("\n");
    std::fflush(stdout);
    return 0;
  }

  struct second {
    uint64_t count = 0;
    int64_t max = 0;
  };

  options opt_;
  asio::io_context io_{1};
  asio::steady_timer tick_, deadline_;
  std::vector<std::unique_ptr<conn>> conns_;
  std::vector<conn*> idle_;
  std::string head_;
  bool closed_loop_ = false, started_ = false, stopped_ = false,
       forced_ = false, failed_ = false;
  size_t connected_ = 0;
  steady::time_point t0_, end_, finished_, last_answer_;
  uint64_t total_ = 0, dispatched_ = 0, in_flight_ = 0, next_email_ = 0;
  uint64_t errors_ = 0, connect_errors_ = 0, server_closed_ = 0,
           max_backlog_ = 0;
  std::vector<int64_t> latencies_;
  std::map<int, uint64_t> statuses_;
  std::vector<second> timeline_;
  std::vector<int64_t> walk_times_;
  uint64_t walk_errors_ = 0, last_walk_pages_ = 0, last_walk_items_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  try {
    generator g{std::move(opt)};
    return g.run();
  } catch (const std::exception& e) {
    std::cerr << "ls_loadgen: " << e.what() << "\n";
    return 1;
  }
}
