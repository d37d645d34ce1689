#include "http/server.hpp"
#include "test_client.hpp"

#include <atomic>
#include <condition_variable>
#include <gtest/gtest.h>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <sys/resource.h>
#include <thread>

using namespace ls::http;
using namespace ls::http::test;

namespace {

/// Holds what a handler hands over to the test thread.
template <class T>
class mailbox {
public:
  void put(T v) {
    std::lock_guard lk(mu_);
    items_.push_back(std::move(v));
    cv_.notify_all();
  }
  std::optional<T> take(ms timeout = 3000ms) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, timeout, [&] { return !items_.empty(); }))
      return std::nullopt;
    T v = std::move(items_.front());
    items_.erase(items_.begin());
    return v;
  }
  size_t size() {
    std::lock_guard lk(mu_);
    return items_.size();
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> items_;
};

/// A body_stream driven by the test thread, which checks back-pressure.
class manual_stream : public body_stream {
public:
  void pull(deliver_fn d) override {
    std::lock_guard lk(mu_);
    if (pulls_ != delivered_)
      violation_ = true; // pulled while the previous chunk was not delivered
    ++pulls_;
    pending_ = std::move(d);
    cv_.notify_all();
  }
  void cancel() override {
    std::lock_guard lk(mu_);
    ++cancels_;
    cv_.notify_all();
  }
  bool wait_pulls(int n, ms timeout = 3000ms) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return pulls_ >= n; });
  }
  bool wait_cancel(ms timeout = 3000ms) {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return cancels_ > 0; });
  }
  /// Answers the pending pull (from the calling thread).
  void deliver(std::string chunk, bool last) {
    deliver_fn d;
    {
      std::lock_guard lk(mu_);
      d = pending_;
      ++delivered_;
    }
    if (d) d(std::move(chunk), last);
  }
  deliver_fn pending() {
    std::lock_guard lk(mu_);
    return pending_;
  }
  int pulls() {
    std::lock_guard lk(mu_);
    return pulls_;
  }
  int cancels() {
    std::lock_guard lk(mu_);
    return cancels_;
  }
  bool violation() {
    std::lock_guard lk(mu_);
    return violation_;
  }

private:
  std::mutex mu_;
  std::condition_variable cv_;
  int pulls_ = 0;
  int delivered_ = 0;
  int cancels_ = 0;
  bool violation_ = false;
  deliver_fn pending_;
};

response text(std::string body, unsigned status = 200) {
  response r;
  r.status = status;
  r.set("content-type", "text/plain");
  r.body = std::move(body);
  return r;
}

/// "GET /path HTTP/1.1" with a Host header.
std::string get(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n" +
         std::string(extra) + "\r\n";
}

class http_server : public ::testing::Test {
protected:
  void TearDown() override {
    if (srv) srv->stop(200ms);
  }

  /// Starts a server whose requests go to `handler` (by default: an echo).
  void start() {
    srv = std::make_unique<server>(opts, [this](request&& r, responder_ptr p) {
      handler(std::move(r), std::move(p));
    });
    srv->start();
    ASSERT_NE(srv->port(), 0);
  }

  uint16_t port() const { return srv->port(); }

  server_options opts;
  std::unique_ptr<server> srv;
  std::function<void(request&&, responder_ptr)> handler = [](request&& r,
                                                             responder_ptr p) {
    response res =
        text(r.method + " " + r.path + " ?" + r.query + " " + r.body);
    res.set("x-remote", r.remote_ip);
    if (auto* h = r.header("x-test")) res.set("x-test-echo", *h);
    p->reply(std::move(res));
  };
};

} // namespace

TEST_F(http_server, get_round_trip_with_keep_alive) {
  start();
  client c(port());
  ASSERT_TRUE(c.connected());
  auto r = c.roundtrip(get("/hello?a=1&b=2", "X-Test: Yes\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, "HTTP/1.1");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /hello ?a=1&b=2 ");
  EXPECT_EQ(r->header("content-length"), "20");
  EXPECT_EQ(r->header("content-type"), "text/plain");
  EXPECT_EQ(r->header("server"), "linkstacked");
  EXPECT_EQ(r->header("x-remote"), "127.0.0.1");
  EXPECT_EQ(r->header("x-test-echo"), "Yes"); // header names are lowercased
  EXPECT_TRUE(r->has("date"));
  EXPECT_NE(r->header("connection"), "close");
  EXPECT_EQ(srv->connection_count(), 1u);

  r = c.roundtrip(get("/second"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /second ? ");
  EXPECT_EQ(srv->connection_count(), 1u); // the same connection
}

TEST_F(http_server, post_body_is_echoed) {
  start();
  client c(port());
  std::string body(100000, 'x');
  auto r = c.roundtrip("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /echo ? " + body);
}

TEST_F(http_server, chunked_request_body) {
  start();
  client c(port());
  auto r = c.roundtrip("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                       "chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /c ? hello world");
}

TEST_F(http_server, expect_100_continue) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: "
                     "3\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("abc"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "PUT /e ? abc");
}

TEST_F(http_server, pipelined_requests_are_answered_in_order) {
  mailbox<responder_ptr> first;
  std::mutex mu;
  std::vector<std::string> calls;
  handler = [&](request&& r, responder_ptr p) {
    {
      std::lock_guard lk(mu);
      calls.push_back(r.path);
    }
    if (r.path == "/1")
      first.put(std::move(p)); // answered later by the test
    else
      p->reply(text("reply " + r.path));
  };
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/1") + get("/2") + get("/3")));
  auto p1 = first.take();
  ASSERT_TRUE(p1);
  {
    std::lock_guard lk(mu);
    EXPECT_EQ(calls,
              std::vector<std::string>{"/1"}); // /2 waits for /1's response
  }
  (*p1)->reply(text("reply /1"));
  for (auto expected : {"reply /1", "reply /2", "reply /3"}) {
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, expected);
  }
  std::lock_guard lk(mu);
  EXPECT_EQ(calls, (std::vector<std::string>{"/1", "/2", "/3"}));
}

TEST_F(http_server, body_over_limit_gets_413) {
  start();
  client c(port());
  std::string body(1024 * 1024 + 1, 'b');
  ASSERT_TRUE(c.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n"));
  c.send(body); // the server may already have answered
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("content-type"), "application/problem+json");
  EXPECT_NE(r->body.find("413"), std::string::npos);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(http_server, body_at_limit_is_accepted) {
  opts.body_limit = 1000;
  start();
  client c(port());
  std::string body(1000, 'b');
  auto r = c.roundtrip("POST /ok HTTP/1.1\r\nHost: t\r\nContent-Length: 1000"
                       "\r\n\r\n" +
                       body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(http_server, chunked_body_over_limit_gets_413) {
  opts.body_limit = 1000;
  start();
  client c(port());
  std::string chunk(600, 'c');
  ASSERT_TRUE(c.send("POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n258\r\n" +
                     chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(http_server, huge_head_gets_431) {
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/", "X-Big: " + std::string(20000, 'h') + "\r\n")));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->header("content-type"), "application/problem+json");
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(http_server, garbage_gets_400) {
  start();
  client c(port());
  auto r = c.roundtrip("HELLO THERE\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("content-type"), "application/problem+json");
  EXPECT_TRUE(c.wait_closed());

  client c2(port());
  r = c2.roundtrip("GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(http_server, slowloris_is_cut_at_header_timeout) {
  opts.header_timeout = 300ms;
  start();
  client c(port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: "));
  auto t0 = steady::now();
  bool closed = false;
  while (steady::now() - t0 < 3s) {
    // One byte every 50 ms: bytes keep coming, but the head never completes.
    if (!c.send("a") || c.closed_within(50ms)) {
      closed = true;
      break;
    }
  }
  auto elapsed = steady::now() - t0;
  EXPECT_TRUE(closed);
  EXPECT_LT(elapsed, 2s);
  EXPECT_GE(elapsed, 200ms);
}

TEST_F(http_server, silent_connection_is_cut_at_header_timeout) {
  opts.header_timeout = 200ms;
  start();
  client c(port());
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_TRUE(wait_until([&] { return srv->connection_count() == 0; }));
}

TEST_F(http_server, idle_keep_alive_connection_is_closed) {
  opts.idle_timeout = 300ms;
  start();
  client c(port());
  auto r = c.roundtrip(get("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto t0 = steady::now();
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_GE(steady::now() - t0, 200ms);
  EXPECT_TRUE(wait_until([&] { return srv->connection_count() == 0; }));
}

TEST_F(http_server, slow_body_is_cut_at_body_timeout) {
  opts.body_timeout = 300ms;
  mailbox<std::string> seen;
  handler = [&](request&& r, responder_ptr p) {
    seen.put(r.path);
    p->reply(text("ok"));
  };
  start();
  client c(port());
  ASSERT_TRUE(c.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: "
                     "10\r\n\r\nhalf."));
  auto t0 = steady::now();
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_GE(steady::now() - t0, 200ms);
  EXPECT_EQ(seen.size(), 0u); // the handler never saw the partial request
}

TEST_F(http_server, stalled_reader_is_cut_at_write_timeout) {
  opts.write_timeout = 300ms;
  auto producer = std::make_shared<manual_stream>();
  handler = [&](request&&, responder_ptr p) { p->stream(text(""), producer); };
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/export")));
  ASSERT_TRUE(producer->wait_pulls(1));
  // Far more than the socket buffers hold, and the client never reads.
  producer->deliver(std::string(64 * 1024 * 1024, 'z'), false);
  EXPECT_TRUE(producer->wait_cancel(5s));
  EXPECT_EQ(producer->pulls(), 1);
  EXPECT_TRUE(wait_until([&] { return srv->connection_count() == 0; }));
}

TEST_F(http_server, http10_and_connection_close) {
  start();
  {
    client c(port());
    auto r = c.roundtrip("GET /old HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->version, "HTTP/1.0");
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "GET /old ? ");
    EXPECT_TRUE(c.wait_closed());
  }
  {
    client c(port());
    auto r = c.roundtrip("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "keep-alive");
    r = c.roundtrip("GET /ka2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /ka2 ? ");
  }
  {
    client c(port());
    auto r = c.roundtrip(get("/bye", "Connection: close\r\n"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
  }
}

TEST_F(http_server, head_sends_no_body) {
  start();
  client c(port());
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_response(/*head_request=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), "10"); // "HEAD /h ? "
  // No body bytes: the next response parses right after the head.
  r = c.roundtrip(get("/after"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /after ? ");
}

TEST_F(http_server, reply_from_another_thread) {
  std::vector<std::thread> workers;
  std::mutex mu;
  handler = [&](request&& r, responder_ptr p) {
    std::lock_guard lk(mu);
    workers.emplace_back([p = std::move(p), path = r.path] {
      p->reply(text("from a thread: " + path, 201));
    });
  };
  start();
  client c(port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.roundtrip(get("/t" + std::to_string(i)));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->body, "from a thread: /t" + std::to_string(i));
  }
  std::lock_guard lk(mu);
  for (auto& t : workers)
    t.join();
}

TEST_F(http_server, dropped_responder_gets_500) {
  handler = [](request&&, responder_ptr) {};
  start();
  client c(port());
  auto r = c.roundtrip(get("/drop"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("content-type"), "application/problem+json");
  // The connection stays usable.
  r = c.roundtrip(get("/drop2"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST_F(http_server, throwing_handler_gets_500) {
  handler = [](request&&, responder_ptr) { throw std::runtime_error("boom"); };
  start();
  client c(port());
  auto r = c.roundtrip(get("/throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
}

TEST_F(http_server, second_reply_is_ignored) {
  handler = [](request&&, responder_ptr p) {
    p->reply(text("one"));
    p->reply(text("two"));
  };
  start();
  client c(port());
  auto r = c.roundtrip(get("/x"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "one");
  r = c.roundtrip(get("/y"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "one");
}

TEST_F(http_server, streams_chunks_with_back_pressure) {
  auto producer = std::make_shared<manual_stream>();
  handler = [&](request&& r, responder_ptr p) {
    if (r.path != "/export") {
      p->reply(text("plain " + r.path));
      return;
    }
    response head;
    head.set("content-type", "text/csv");
    head.body = "ignored";
    p->stream(std::move(head), producer);
  };
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/export")));
  auto head = c.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_TRUE(head->chunked);
  EXPECT_FALSE(head->has("content-length"));
  EXPECT_EQ(head->header("content-type"), "text/csv");

  ASSERT_TRUE(producer->wait_pulls(1));
  EXPECT_EQ(producer->pulls(), 1);
  producer->deliver("a,b\n", false);
  EXPECT_EQ(c.read_chunk(), "a,b\n");
  ASSERT_TRUE(producer->wait_pulls(2));
  producer->deliver("", false); // empty chunks are not written
  ASSERT_TRUE(producer->wait_pulls(3));
  producer->deliver("1,2\n", false);
  EXPECT_EQ(c.read_chunk(), "1,2\n");
  ASSERT_TRUE(producer->wait_pulls(4));
  EXPECT_EQ(producer->pulls(), 4);
  producer->deliver("3,4\n", true);
  EXPECT_EQ(c.read_chunk(), "3,4\n");
  EXPECT_EQ(c.read_chunk(), ""); // the last chunk
  EXPECT_FALSE(producer->violation());
  EXPECT_EQ(producer->pulls(), 4);
  EXPECT_EQ(producer->cancels(), 0);

  // The connection is still usable after the stream.
  auto r = c.roundtrip(get("/after"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "plain /after");
}

/// A producer that gives up part-way (e.g. storage failed).
class failing_stream : public manual_stream {
public:
  bool failed() const override { return gave_up; }
  std::atomic<bool> gave_up{false};
};

TEST_F(http_server, a_stream_that_fails_ends_without_the_last_chunk) {
  auto producer = std::make_shared<failing_stream>();
  handler = [&](request&&, responder_ptr p) { p->stream(text(""), producer); };
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/export")));
  ASSERT_TRUE(c.read_head());
  ASSERT_TRUE(producer->wait_pulls(1));
  producer->deliver("a,b\n", false);
  EXPECT_EQ(c.read_chunk(), "a,b\n");
  ASSERT_TRUE(producer->wait_pulls(2));
  producer->gave_up = true;
  producer->deliver("", true);
  // No terminating chunk: the client sees the connection end mid-body.
  EXPECT_FALSE(c.read_chunk());
  EXPECT_TRUE(c.eof());
}

/// Two chunks, each delivered from another thread, as the service's
/// producers do.
class two_chunks : public body_stream {
public:
  void pull(deliver_fn d) override {
    bool last = ++pulls_ == 2;
    std::thread([d = std::move(d), last] { d("x", last); }).detach();
  }

private:
  int pulls_ = 0;
};

TEST_F(http_server, streams_are_not_cut_by_stale_readiness) {
  // A waiting stream watches its socket for the client leaving; a readiness
  // left over from the request's own bytes must not be taken for that.
  handler = [&](request&&, responder_ptr p) {
    p->stream(text(""), std::make_shared<two_chunks>());
  };
  start();
  int cut = 0;
  for (int i = 0; i < 2000; ++i) {
    client c(port());
    auto r = c.roundtrip("GET /s HTTP/1.1\r\nHost: t\r\n\r\n");
    if (!r || r->body != "xx") ++cut;
  }
  EXPECT_EQ(cut, 0);
}

TEST_F(http_server, stream_to_head_request_sends_only_the_head) {
  auto producer = std::make_shared<manual_stream>();
  handler = [&](request&& r, responder_ptr p) {
    if (r.method == "HEAD")
      p->stream(text(""), producer);
    else
      p->reply(text("plain"));
  };
  start();
  client c(port());
  ASSERT_TRUE(c.send("HEAD /s HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_response(true);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->chunked);
  EXPECT_TRUE(producer->wait_cancel());
  EXPECT_EQ(producer->pulls(), 0);
  r = c.roundtrip(get("/next"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "plain");
}

TEST_F(http_server, stream_to_http10_is_delimited_by_close) {
  auto producer = std::make_shared<manual_stream>();
  handler = [&](request&&, responder_ptr p) { p->stream(text(""), producer); };
  start();
  client c(port());
  ASSERT_TRUE(c.send("GET /s HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(producer->wait_pulls(1));
  producer->deliver("abc", false);
  ASSERT_TRUE(producer->wait_pulls(2));
  producer->deliver("def", true);
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->chunked);
  EXPECT_EQ(r->body, "abcdef");
}

TEST_F(http_server, client_disconnect_mid_stream_cancels_the_producer) {
  auto producer = std::make_shared<manual_stream>();
  handler = [&](request&&, responder_ptr p) { p->stream(text(""), producer); };
  start();
  body_stream::deliver_fn late;
  {
    client c(port());
    ASSERT_TRUE(c.send(get("/export")));
    ASSERT_TRUE(c.read_head());
    ASSERT_TRUE(producer->wait_pulls(1));
    producer->deliver("first", false);
    EXPECT_EQ(c.read_chunk(), "first");
    ASSERT_TRUE(producer->wait_pulls(2));
    late = producer->pending();
  } // the client goes away while the producer works on chunk 2
  EXPECT_TRUE(producer->wait_cancel());
  EXPECT_EQ(producer->pulls(), 2);
  EXPECT_TRUE(wait_until([&] { return srv->connection_count() == 0; }));
  // A deliver after the connection died is harmless, before and after the
  // server goes.
  ASSERT_TRUE(late);
  late("too late", false);
  srv->stop(100ms);
  srv.reset();
  late("even later", true);
  EXPECT_FALSE(producer->violation());
}

TEST_F(http_server, stop_cancels_a_running_stream) {
  auto producer = std::make_shared<manual_stream>();
  handler = [&](request&&, responder_ptr p) { p->stream(text(""), producer); };
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/export")));
  ASSERT_TRUE(producer->wait_pulls(1));
  auto t0 = steady::now();
  srv->stop(100ms);
  EXPECT_LT(steady::now() - t0, 2s);
  EXPECT_TRUE(producer->wait_cancel(0ms));
  producer->deliver("after stop", true); // dropped
  EXPECT_TRUE(c.wait_closed());
}

TEST_F(http_server, stop_waits_for_in_flight_request) {
  mailbox<responder_ptr> pending;
  handler = [&](request&&, responder_ptr p) { pending.put(std::move(p)); };
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/slow")));
  auto p = pending.take();
  ASSERT_TRUE(p);

  std::atomic<bool> stopped{false};
  auto t0 = steady::now();
  std::thread stopper([&] {
    srv->stop(5s);
    stopped = true;
  });
  // stop() closes the listening socket first: wait until connecting fails.
  EXPECT_TRUE(wait_until([&] { return !client(port()).connected(); }));
  EXPECT_FALSE(stopped.load()); // it waits for our request
  (*p)->reply(text("finally"));
  p.reset();
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "finally");
  EXPECT_EQ(r->header("connection"), "close");
  stopper.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_LT(steady::now() - t0, 4s);
  EXPECT_TRUE(c.wait_closed());
  srv->stop(); // idempotent
}

TEST_F(http_server, stop_grace_is_bounded) {
  mailbox<responder_ptr> pending;
  handler = [&](request&&, responder_ptr p) { pending.put(std::move(p)); };
  start();
  client idle(port());
  ASSERT_TRUE(idle.send(get("/warm")));
  auto p = pending.take();
  ASSERT_TRUE(p);
  auto t0 = steady::now();
  srv->stop(150ms);
  auto took = steady::now() - t0;
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 2s);
  EXPECT_TRUE(idle.wait_closed());
  EXPECT_EQ(srv->connection_count(), 0u);
  (*p)->reply(text("too late")); // harmless after stop
  p.reset();
  srv.reset(); // destructor after stop: fine
}

TEST_F(http_server, responder_outliving_the_server_is_harmless) {
  mailbox<responder_ptr> pending;
  handler = [&](request&&, responder_ptr p) { pending.put(std::move(p)); };
  start();
  client c(port());
  ASSERT_TRUE(c.send(get("/x")));
  auto p = pending.take();
  ASSERT_TRUE(p);
  srv->stop(50ms);
  srv.reset();
  (*p)->reply(text("nobody listens"));
  p.reset(); // the last reference to the connection: released here
}

TEST_F(http_server, max_connections) {
  opts.max_connections = 1;
  opts.shed_waiting = false;
  start();
  EXPECT_EQ(srv->connection_limit(), 1u);
  client a(port());
  auto r = a.roundtrip(get("/a"));
  ASSERT_TRUE(r);
  EXPECT_EQ(srv->connection_count(), 1u);

  client b(port()); // accepted by the kernel, closed by the server at once
  EXPECT_TRUE(b.wait_closed());
  r = a.roundtrip(get("/a2"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  a.close();
  ASSERT_TRUE(wait_until([&] { return srv->connection_count() == 0; }));
  client c(port());
  r = c.roundtrip(get("/c"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(http_server, at_the_limit_the_longest_waiting_connection_is_shed) {
  opts.max_connections = 2;
  start();
  client idle(port()); // one request, then quiet (keep-alive)
  auto r = idle.roundtrip(get("/idle"));
  ASSERT_TRUE(r);
  // The client can read the answer before the server has seen its write
  // complete and started waiting: only then is `idle` the older one.
  ASSERT_TRUE(wait_until([&] { return srv->waiting_count() == 1; }));
  client slow(port()); // a head that never completes (slowloris)
  ASSERT_TRUE(slow.send("GET /slow HTTP/1.1\r\nHost: t\r\nX-Slow: a"));
  ASSERT_TRUE(wait_until([&] { return srv->connection_count() == 2; }));

  // A third client gets in; the idle one, waiting since its reply (before the
  // slow one was accepted), makes room.
  client fresh(port());
  r = fresh.roundtrip(get("/fresh"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(idle.wait_closed(3s));
  EXPECT_EQ(srv->shed_count(), 1u);

  // Next the slow one goes (waiting since accept), not `fresh` (since its
  // reply).
  client fourth(port());
  r = fourth.roundtrip(get("/fourth"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(slow.wait_closed(3s));
  EXPECT_EQ(srv->shed_count(), 2u);
  EXPECT_FALSE(fresh.closed_within(0ms));
}

TEST_F(http_server, at_the_limit_busy_connections_are_not_shed) {
  opts.max_connections = 1;
  mailbox<responder_ptr> held;
  handler = [&](request&&, responder_ptr p) { held.put(std::move(p)); };
  start();
  client busy(port());
  ASSERT_TRUE(busy.send(get("/busy")));
  auto p = held.take();
  ASSERT_TRUE(p);
  client other(port()); // nothing waits: closed at once
  EXPECT_TRUE(other.wait_closed(3s));
  EXPECT_EQ(srv->shed_count(), 0u);
  (*p)->reply(text("done"));
  auto r = busy.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(http_server, connection_limit_stays_below_the_fd_limit) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  opts.max_connections = std::numeric_limits<size_t>::max();
  start();
  if (rl.rlim_cur == RLIM_INFINITY) GTEST_SKIP() << "no fd limit";
  EXPECT_LT(srv->connection_limit(), static_cast<size_t>(rl.rlim_cur));
  EXPECT_GE(srv->connection_limit(), static_cast<size_t>(rl.rlim_cur) / 2);
}

TEST_F(http_server, bind_failure_has_a_clear_message) {
  start();
  server_options o;
  o.listen = "127.0.0.1:" + std::to_string(port());
  server second(o, [](request&&, responder_ptr) {});
  try {
    second.start();
    FAIL() << "bound the same port twice";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot listen on " + o.listen + ": Address already in use");
  }
}

TEST(http_server_listen, bad_addresses_throw) {
  for (std::string bad : {"nonsense", "127.0.0.1:99999", "127.0.0.1:", "::1:80",
                          "[::1]80", "no-such-host.invalid:80"}) {
    server_options o;
    o.listen = bad;
    server s(o, [](request&&, responder_ptr) {});
    try {
      s.start();
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("cannot listen on " + bad, 0), 0u)
          << e.what();
    }
  }
}

TEST(http_server_listen, localhost_resolves) {
  server_options o;
  o.listen = "localhost:0";
  server s(o,
           [](request&& r, responder_ptr p) { p->reply(text(r.remote_ip)); });
  s.start();
  ASSERT_NE(s.port(), 0);
  client c(s.port()); // IPv4 addresses are preferred
  ASSERT_TRUE(c.connected());
  auto r = c.roundtrip(get("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "127.0.0.1");
  s.stop(100ms);
  s.stop(100ms);
}

TEST(http_server_listen, ipv6_loopback) {
  server_options o;
  o.listen = "[::1]:0";
  server s(o,
           [](request&& r, responder_ptr p) { p->reply(text(r.remote_ip)); });
  try {
    s.start();
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6: " << e.what();
  }
  client c(s.port(), "::1");
  if (!c.connected()) GTEST_SKIP() << "cannot connect to [::1]";
  auto r = c.roundtrip(get("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "::1");
}

TEST(http_server_listen, ipv4_mapped_peer_is_shown_as_ipv4) {
  server_options o;
  o.listen = "[::]:0";
  server s(o,
           [](request&& r, responder_ptr p) { p->reply(text(r.remote_ip)); });
  try {
    s.start();
  } catch (const std::runtime_error& e) {
    GTEST_SKIP() << "no IPv6: " << e.what();
  }
  client c(s.port(), "127.0.0.1");
  if (!c.connected()) GTEST_SKIP() << "dual-stack sockets are disabled";
  auto r = c.roundtrip(get("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "127.0.0.1");
}

TEST(http_server_listen, start_after_stop_throws) {
  server s({}, [](request&&, responder_ptr) {});
  s.start();
  s.start(); // idempotent
  s.stop(10ms);
  EXPECT_THROW(s.start(), std::runtime_error);
}

TEST(http_server_listen, stop_without_start) {
  server s({}, [](request&&, responder_ptr) {});
  s.stop();
  EXPECT_EQ(s.connection_count(), 0u);
}
