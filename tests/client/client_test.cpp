// The outbound client over plain http, against the POSIX test server.
#include "client/sync.hpp"
#include "client/test_server.hpp"
#include "http/client/client.hpp"

#include <atomic>
#include <condition_variable>
#include <future>
#include <gtest/gtest.h>
#include <memory>
#include <mutex>
#include <stdexcept>

using namespace ls::http;
using namespace ls::http::test;

namespace {

using steady = std::chrono::steady_clock;

/// Holds every handler call until `n` requests are being handled at once:
/// proves that the client sent them in parallel, on parallel connections.
class barrier {
public:
  explicit barrier(int n) : n_(n) {}
  bool arrive() {
    std::unique_lock lk(mu_);
    ++count_;
    cv_.notify_all();
    return cv_.wait_for(lk, 5s, [&] { return count_ >= n_; });
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_;
  int count_ = 0;
};

} // namespace

TEST(client, get_round_trip) {
  test_server srv([](const received& r) {
    return reply::ok("hello " + r.target,
                     "Content-Type: text/plain\r\nX-Mixed-Case: Yes\r\n");
  });
  client c;
  auto req = make_request(srv.url("/a/b%20c?x=1&y=2#frag"));
  req.headers = {
      {"Authorization", "Bearer t0ken"}, {"X-Dup", "1"}, {"X-Dup", "2"}};
  auto res = fetch(c, req);
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "hello /a/b%20c?x=1&y=2");
  ASSERT_NE(res.header("x-mixed-case"), nullptr);
  EXPECT_EQ(*res.header("x-mixed-case"), "Yes");
  EXPECT_EQ(*res.header("content-type"), "text/plain");
  EXPECT_EQ(res.header("X-Mixed-Case"), nullptr); // names are lowercased

  auto got = srv.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "GET");
  EXPECT_EQ(got[0].header("host"), "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(got[0].header("user-agent"), "linkstacked/1");
  EXPECT_EQ(got[0].header("connection"), "keep-alive");
  EXPECT_EQ(got[0].header("authorization"), "Bearer t0ken");
  EXPECT_EQ(got[0].count("x-dup"), 2u);
  EXPECT_EQ(got[0].count("content-length"), 0u); // GET without a body
}

TEST(client, post_round_trip) {
  test_server srv([](const received& r) {
    return reply::ok(r.method + ":" + r.body, "", 201);
  });
  client_options o;
  o.user_agent = "custom/2";
  client c(o);
  auto res = fetch(c, make_request(srv.url("/p"), "POST", R"({"a":1})"));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.status, 201u);
  EXPECT_EQ(res.body, R"(POST:{"a":1})");
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header("content-length"), "7");
  EXPECT_EQ(got[0].header("user-agent"), "custom/2");

  // An empty POST still says Content-Length: 0; the caller's framing headers
  // are ignored, its User-Agent wins.
  auto req = make_request(srv.url("/p"), "POST");
  req.headers = {
      {"Content-Length", "99"}, {"Host", "evil"}, {"User-Agent", "mine"}};
  res = fetch(c, req);
  ASSERT_TRUE(res.ok()) << res.error;
  got = srv.requests();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].header("content-length"), "0");
  EXPECT_EQ(got[1].count("content-length"), 1u);
  EXPECT_EQ(got[1].header("host"), "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(got[1].header("user-agent"), "mine");
  EXPECT_EQ(got[1].count("user-agent"), 1u);
}

TEST(client, chunked_response) {
  test_server srv([](const received&) {
    return reply{reply::respond,
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\n"
                 "X-Trailer: t\r\n\r\n",
                 false};
  });
  client c;
  auto res = fetch(c, make_request(srv.url()));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.body, "hello world");
  // The connection stays usable after a chunked body.
  res = fetch(c, make_request(srv.url()));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(srv.accepted(), 1);
}

TEST(client, head_and_interim_responses) {
  test_server srv([](const received& r) {
    if (r.method == "HEAD")
      return reply{reply::respond,
                   "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false};
    return reply{reply::respond,
                 "HTTP/1.1 100 Continue\r\n\r\n"
                 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                 false};
  });
  client c;
  auto res = fetch(c, make_request(srv.url(), "HEAD"));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "");
  res = fetch(c, make_request(srv.url(), "PUT", "x"));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, "ok");
  EXPECT_EQ(srv.accepted(), 1);
}

TEST(client, keep_alive_reuses_the_connection) {
  test_server srv([](const received& r) {
    return reply::ok(std::to_string(r.connection));
  });
  client c;
  for (int i = 0; i < 3; ++i) {
    auto res = fetch(c, make_request(srv.url()));
    ASSERT_TRUE(res.ok()) << res.error;
  }
  EXPECT_EQ(srv.accepted(), 1);
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].index, 2);

  // Another host key (same address, other Host) gets its own connection.
  auto req = make_request("http://localhost:" + std::to_string(srv.port()));
  req.connect_address = "127.0.0.1";
  ASSERT_TRUE(fetch(c, req).ok());
  EXPECT_EQ(srv.accepted(), 2);
}

TEST(client, connection_close_is_honoured) {
  test_server srv([](const received&) {
    auto r = reply::ok("bye", "Connection: close\r\n");
    r.close_after = true;
    return r;
  });
  client c;
  ASSERT_TRUE(fetch(c, make_request(srv.url())).ok());
  ASSERT_TRUE(fetch(c, make_request(srv.url())).ok());
  EXPECT_EQ(srv.accepted(), 2);
}

TEST(client, parallel_requests_open_parallel_connections) {
  constexpr int n = 4;
  barrier all(n);
  test_server srv([&](const received&) {
    return all.arrive() ? reply::ok("ok") : reply::ok("not parallel", "", 500);
  });
  client c;
  std::vector<std::unique_ptr<pending>> p;
  for (int i = 0; i < n; ++i)
    p.push_back(std::make_unique<pending>(c, make_request(srv.url())));
  for (auto& x : p) {
    auto res = x->get();
    ASSERT_TRUE(res.ok()) << res.error;
    EXPECT_EQ(res.status, 200u);
  }
  EXPECT_EQ(srv.accepted(), n);
  // All four are idle now: four more requests reuse them.
  p.clear();
  for (int i = 0; i < n; ++i)
    p.push_back(std::make_unique<pending>(c, make_request(srv.url())));
  for (auto& x : p)
    EXPECT_TRUE(x->get().ok());
  EXPECT_EQ(srv.accepted(), n);
}

TEST(client, max_idle_per_host) {
  barrier both(2);
  test_server srv([&](const received&) {
    both.arrive(); // returns at once after the first two
    return reply::ok("ok");
  });
  client_options o;
  o.max_idle_per_host = 1;
  client c(o);
  {
    pending a(c, make_request(srv.url())), b(c, make_request(srv.url()));
    ASSERT_TRUE(a.get().ok());
    ASSERT_TRUE(b.get().ok());
  }
  EXPECT_EQ(srv.accepted(), 2);
  EXPECT_TRUE(srv.wait_closed_by_client(1)); // one of them did not fit
  EXPECT_TRUE(fetch(c, make_request(srv.url())).ok());
  EXPECT_EQ(srv.accepted(), 2);
  EXPECT_EQ(srv.closed_by_client(), 1);
}

TEST(client, idle_timeout_closes_idle_connections) {
  test_server srv([](const received&) { return reply::ok("ok"); });
  client_options o;
  o.idle_timeout = std::chrono::seconds(0);
  client c(o);
  ASSERT_TRUE(fetch(c, make_request(srv.url())).ok());
  EXPECT_TRUE(srv.wait_closed_by_client(1));
  ASSERT_TRUE(fetch(c, make_request(srv.url())).ok());
  EXPECT_EQ(srv.accepted(), 2);
}

TEST(client, idle_connection_closed_by_server_is_replaced) {
  // The server answers as if keeping the connection, then closes it.
  test_server srv([](const received&) {
    auto r = reply::ok("ok");
    r.close_after = true;
    return r;
  });
  client c;
  ASSERT_TRUE(fetch(c, make_request(srv.url())).ok());
  auto res = fetch(c, make_request(srv.url()));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(srv.accepted(), 2);
}

namespace {

/// First connection: answers its first request, then drops the connection on
/// the second one without answering (the race of a server closing a
/// kept-alive connection just as the client reuses it). Later connections
/// answer everything.
reply drop_second_on_first_connection(const received& r) {
  if (r.connection == 1 && r.index == 1) return reply::dropped();
  return reply::ok(r.method + ":" + r.body);
}

} // namespace

TEST(client, reused_connection_closed_before_answering_is_retried) {
  for (std::string method : {"GET", "POST", "DELETE"}) {
    SCOPED_TRACE(method);
    test_server srv(drop_second_on_first_connection);
    client c;
    ASSERT_TRUE(fetch(c, make_request(srv.url())).ok());
    auto res = fetch(c, make_request(srv.url(), method, "payload"));
    ASSERT_TRUE(res.ok()) << res.error;
    EXPECT_EQ(res.body, method + ":payload");
    EXPECT_EQ(srv.accepted(), 2);
    auto got = srv.requests();
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[2].body, "payload");
  }
}

TEST(client, non_idempotent_patch_is_not_retried) {
  test_server srv(drop_second_on_first_connection);
  client c;
  ASSERT_TRUE(fetch(c, make_request(srv.url())).ok());
  auto res = fetch(c, make_request(srv.url(), "PATCH", "x"));
  EXPECT_EQ(res.error, "eof");
  EXPECT_EQ(res.status, 0u);
  EXPECT_EQ(srv.requests().size(), 2u);
}

TEST(client, retry_happens_on_a_fresh_connection) {
  // Every connection answers its first request and drops the next one.
  barrier both(2);
  test_server srv([&](const received& r) {
    if (r.index > 0) return reply::dropped();
    if (r.connection <= 2) both.arrive();
    return reply::ok("ok");
  });
  client_options o;
  o.max_idle_per_host = 2;
  client c(o);
  {
    pending a(c, make_request(srv.url())), b(c, make_request(srv.url()));
    ASSERT_TRUE(a.get().ok());
    ASSERT_TRUE(b.get().ok());
  }
  ASSERT_EQ(srv.accepted(), 2); // two idle connections, both stale
  auto res = fetch(c, make_request(srv.url()));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(srv.accepted(), 3);
  // Idle now: the fresh connection 3 and a stale one. The request takes 3,
  // which drops it; the retry must open connection 4, not take the other
  // stale idle one (which would fail again).
  res = fetch(c, make_request(srv.url()));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(srv.accepted(), 4);
}

TEST(client, fresh_connection_closed_before_answering_is_eof) {
  test_server srv([](const received&) { return reply::dropped(); });
  client c;
  auto res = fetch(c, make_request(srv.url()));
  EXPECT_EQ(res.error, "eof");
  EXPECT_EQ(srv.accepted(), 1);
  EXPECT_EQ(srv.requests().size(), 1u);
}

TEST(client, truncated_body_is_an_error) {
  test_server srv([](const received&) {
    reply r{reply::respond, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
            true};
    return r;
  });
  client c;
  auto res = fetch(c, make_request(srv.url()));
  EXPECT_EQ(res.error, "eof");
  EXPECT_FALSE(res.ok());
}

TEST(client, timeout_when_the_server_never_answers) {
  test_server srv([](const received&) { return reply::hung(); });
  client c;
  auto req = make_request(srv.url());
  req.timeout = 200ms;
  auto start = steady::now();
  auto res = fetch(c, req);
  auto elapsed = steady::now() - start;
  EXPECT_EQ(res.error, "timeout");
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 1500ms);
  // The timed-out connection is not reused.
  ASSERT_TRUE(srv.wait_requests(1));
  srv.stop();
}

TEST(client, timeout_covers_a_slow_body) {
  test_server srv([](const received&) {
    reply r{reply::respond, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            false};
    return r; // then waits for the next request: the body never completes
  });
  client c;
  auto req = make_request(srv.url());
  req.timeout = 200ms;
  EXPECT_EQ(fetch(c, req).error, "timeout");
}

TEST(client, connection_refused) {
  client c;
  auto res = fetch(
      c, make_request("http://127.0.0.1:" + std::to_string(closed_port())));
  EXPECT_EQ(res.error, "connection refused");
  EXPECT_EQ(res.status, 0u);
}

TEST(client, response_too_large) {
  test_server srv([](const received& r) {
    if (r.target == "/chunked") {
      std::string raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (int i = 0; i < 8; ++i)
        raw += "100\r\n" + std::string(256, 'x') + "\r\n";
      return reply{reply::respond, raw + "0\r\n\r\n", false};
    }
    return reply::ok(std::string(r.target == "/small" ? 1024 : 1025, 'x'));
  });
  client_options o;
  o.max_response_bytes = 1024;
  client c(o);
  auto res = fetch(c, make_request(srv.url("/small")));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.body.size(), 1024u);
  EXPECT_EQ(fetch(c, make_request(srv.url("/big"))).error,
            "response too large");
  EXPECT_EQ(fetch(c, make_request(srv.url("/chunked"))).error,
            "response too large");
}

TEST(client, bad_url) {
  client c;
  for (std::string url :
       {"", "not a url", "ftp://example.com/", "file:///etc/passwd", "http://",
        "http:///path", "//example.com/", "/relative",
        "http://user:pw@example.com/", "http://example.com:99999/",
        "http://example.com:0/", "http://exa mple.com/", "http://bad\r\nhost/",
        "https://[v1.x]/"}) {
    SCOPED_TRACE(url);
    auto res = fetch(c, make_request(url));
    EXPECT_EQ(res.error, "bad url");
    EXPECT_EQ(res.status, 0u);
  }
}

TEST(client, bad_request_fields) {
  test_server srv([](const received&) { return reply::ok("ok"); });
  client c;
  auto req = make_request(srv.url());
  req.headers = {{"X-Injected", "a\r\nEvil: 1"}};
  EXPECT_EQ(fetch(c, req).error, "bad header");
  req.headers = {{"Bad Name", "x"}};
  EXPECT_EQ(fetch(c, req).error, "bad header");
  req = make_request(srv.url(), "GET /x HTTP/1.1\r\n");
  EXPECT_EQ(fetch(c, req).error, "bad method");
  req = make_request(srv.url());
  req.connect_address = "not-an-ip";
  EXPECT_EQ(fetch(c, req).error, "bad connect_address");
  EXPECT_EQ(srv.accepted(), 0);
}

TEST(client, connect_address_skips_resolution) {
  test_server srv([](const received&) { return reply::ok("ok"); });
  client c;
  // .invalid never resolves (RFC 6761): only connect_address can reach it.
  auto req =
      make_request("http://Name.Invalid:" + std::to_string(srv.port()) + "/x");
  req.connect_address = "127.0.0.1";
  auto res = fetch(c, req);
  ASSERT_TRUE(res.ok()) << res.error;
  auto got = srv.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].header("host"),
            "name.invalid:" + std::to_string(srv.port()));
}

TEST(client, custom_method) {
  test_server srv([](const received& r) { return reply::ok(r.method); });
  client c;
  auto res = fetch(c, make_request(srv.url(), "PROPFIND"));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.body, "PROPFIND");
}

TEST(client, done_runs_exactly_once_for_many_requests) {
  test_server srv([](const received& r) {
    return r.target == "/hang" ? reply::hung() : reply::ok("ok");
  });
  client c;
  constexpr int n = 40;
  std::vector<std::unique_ptr<pending>> p;
  for (int i = 0; i < n; ++i) {
    auto req = make_request(srv.url(i % 4 == 0 ? "/hang" : "/"));
    req.timeout = 300ms;
    p.push_back(std::make_unique<pending>(c, req));
  }
  int ok = 0, timeouts = 0;
  for (auto& x : p) {
    auto res = x->get();
    if (res.ok())
      ++ok;
    else if (res.error == "timeout")
      ++timeouts;
  }
  EXPECT_EQ(ok, 30);
  EXPECT_EQ(timeouts, 10);
  srv.stop();
}

TEST(client, stop_fails_requests_in_flight) {
  test_server srv([](const received&) { return reply::hung(); });
  client c;
  pending p(c, make_request(srv.url()));
  ASSERT_TRUE(srv.wait_requests(1)); // really in flight
  auto start = steady::now();
  c.stop();
  EXPECT_LT(steady::now() - start, 1s);
  EXPECT_EQ(p.get(0ms).error, "stopped"); // stop() returned after done ran
  c.stop();                               // idempotent
  // After stop, send() still calls done once (on the calling thread).
  EXPECT_EQ(pending(c, make_request(srv.url())).get(0ms).error, "stopped");
  srv.stop();
}

TEST(client, stop_from_a_done_callback) {
  test_server srv([](const received& r) {
    return r.target == "/hang" ? reply::hung() : reply::ok("ok");
  });
  client c;
  pending hung(c, make_request(srv.url("/hang")));
  ASSERT_TRUE(srv.wait_requests(1));
  std::promise<std::string> stopped_in_callback;
  c.send(make_request(srv.url("/")), [&](client_response res) {
    c.stop(); // on the io thread: must not join itself
    stopped_in_callback.set_value(res.error.empty() ? "ok" : res.error);
  });
  auto f = stopped_in_callback.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), "ok");
  EXPECT_EQ(hung.get().error, "stopped");
  c.stop(); // joins
  srv.stop();
}

TEST(client, stop_on_the_io_thread_fails_queued_requests) {
  test_server srv([](const received&) { return reply::ok("ok"); });
  client c;
  std::promise<void> busy, sent;
  auto sent_future = sent.get_future();
  std::promise<std::vector<std::string>> seen;
  std::vector<std::unique_ptr<pending>> queued;
  c.send(make_request(srv.url()), [&](client_response) {
    // The io thread is busy here: the requests sent meanwhile wait in line.
    busy.set_value();
    sent_future.wait_for(5s);
    c.stop();
    // stop() returned: every queued request has been answered already.
    std::vector<std::string> errors;
    for (auto& q : queued)
      errors.push_back(q->get(0ms).error);
    seen.set_value(errors);
  });
  ASSERT_EQ(busy.get_future().wait_for(5s), std::future_status::ready);
  for (int i = 0; i < 3; ++i)
    queued.push_back(std::make_unique<pending>(c, make_request(srv.url())));
  sent.set_value();
  auto f = seen.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), std::vector<std::string>(3, "stopped"));
  c.stop();
  EXPECT_EQ(srv.requests().size(), 1u);
}

TEST(client, a_throwing_callback_does_not_break_the_client) {
  test_server srv([](const received&) { return reply::ok("ok"); });
  client c;
  c.send(make_request(srv.url()),
         [](client_response) { throw std::runtime_error("caller bug"); });
  EXPECT_TRUE(fetch(c, make_request(srv.url())).ok());
}

TEST(client, destroyed_from_a_done_callback) {
  std::promise<void> go;
  auto go_future = go.get_future().share();
  test_server srv([go_future](const received&) {
    go_future.wait_for(5s);
    return reply::ok("ok");
  });
  auto c = std::make_shared<client>();
  std::promise<void> destroyed;
  auto holder = std::make_shared<std::shared_ptr<client>>(c);
  c->send(make_request(srv.url()), [holder, &destroyed](client_response) {
    holder->reset(); // the last reference: ~client on the io thread
    destroyed.set_value();
  });
  c.reset();
  go.set_value(); // only now may the response arrive
  ASSERT_EQ(destroyed.get_future().wait_for(5s), std::future_status::ready);
}

TEST(client, destructor_stops) {
  test_server srv([](const received&) { return reply::hung(); });
  std::unique_ptr<pending> p;
  {
    client c;
    p = std::make_unique<pending>(c, make_request(srv.url()));
    ASSERT_TRUE(srv.wait_requests(1));
  }
  EXPECT_EQ(p->get(0ms).error, "stopped");
  srv.stop();
}
