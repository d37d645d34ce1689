// responder::abort(): the connection closes without any response, and it counts
// as the reply.
#include "http/server.hpp"
#include "test_client.hpp"

#include <atomic>
#include <gtest/gtest.h>
#include <mutex>
#include <thread>

using namespace ls::http;
using namespace ls::http::test;

namespace {

std::string get(std::string_view path) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

TEST(responder_abort, ClosesWithoutAResponse) {
  server s({}, [](request&& r, responder_ptr resp) {
    if (r.path == "/abort") {
      resp->abort();
      // Later replies are ignored: abort() was the reply.
      response late;
      late.body = "late";
      resp->reply(late);
      return;
    }
    response ok;
    ok.body = "ok";
    resp->reply(ok);
  });
  s.start();
  client c(s.port());
  ASSERT_TRUE(c.send(get("/abort")));
  EXPECT_FALSE(c.read_response());
  EXPECT_TRUE(c.eof());
  // The server goes on serving other connections.
  client c2(s.port());
  auto r = c2.roundtrip(get("/ok"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_TRUE(wait_until([&] { return s.connection_count() == 1; }));
}

TEST(responder_abort, FromAnotherThreadLater) {
  std::mutex mu;
  responder_ptr held;
  server s({}, [&](request&&, responder_ptr resp) {
    std::lock_guard lk(mu);
    held = std::move(resp);
  });
  s.start();
  client c(s.port());
  ASSERT_TRUE(c.send(get("/")));
  ASSERT_TRUE(wait_until([&] {
    std::lock_guard lk(mu);
    return held != nullptr;
  }));
  std::thread([&] {
    std::lock_guard lk(mu);
    held->abort();
    held.reset(); // dropping it after abort() sends no 500
  }).join();
  EXPECT_FALSE(c.read_response());
  EXPECT_TRUE(c.eof());
}

TEST(responder_abort, AfterReplyDoesNothing) {
  server s({}, [](request&&, responder_ptr resp) {
    response ok;
    ok.body = "ok";
    resp->reply(ok);
    resp->abort();
  });
  s.start();
  client c(s.port());
  for (int i = 0; i < 2; ++i) { // keep-alive survives
    auto r = c.roundtrip(get("/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "ok");
  }
}

TEST(responder_abort, StopDoesNotWaitForAnAbortedRequest) {
  server s({}, [](request&&, responder_ptr resp) { resp->abort(); });
  s.start();
  client c(s.port());
  ASSERT_TRUE(c.send(get("/")));
  EXPECT_TRUE(c.wait_closed());
  auto t0 = std::chrono::steady_clock::now();
  s.stop(std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

} // namespace
