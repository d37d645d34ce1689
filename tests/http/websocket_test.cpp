// WebSockets on the Beast server: handshake hand-over, messages both ways,
// peers that stop reading or stop answering pings, and server stop.
#include "http/codec/problem.hpp"
#include "http/server.hpp"
#include "test_client.hpp"
#include "ws_client.hpp"

#include <condition_variable>
#include <gtest/gtest.h>
#include <mutex>

using namespace ls::http;
using namespace ls::http::test;
using ls::test::ws_client;

namespace {

/// What the socket handlers saw, for the test thread.
struct journal {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lines;

  void add(std::string s) {
    std::lock_guard lk(mu);
    lines.push_back(std::move(s));
    cv.notify_all();
  }
  bool wait_for(const std::string& line, ms timeout = 10000ms) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, timeout, [&] {
      return std::find(lines.begin(), lines.end(), line) != lines.end();
    });
  }
  size_t count(const std::string& line) {
    std::lock_guard lk(mu);
    return std::count(lines.begin(), lines.end(), line);
  }
};

/// Greets, echoes, and on "flood" sends `flood_frames` frames of 64 KiB.
class echo_socket : public ws_handler {
public:
  echo_socket(std::shared_ptr<journal> j, int flood_frames)
      : j_(std::move(j)), flood_(flood_frames) {}
  void on_open(std::shared_ptr<ws_channel> ch) override {
    ch_ = ch;
    j_->add("open");
    ch->send("hello");
  }
  void on_message(std::string_view text) override {
    if (text == "flood") {
      for (int i = 0; i < flood_; ++i)
        ch_->send(std::string(64 * 1024, 'x'));
      return;
    }
    if (text == "bye") return ch_->close(4000, "asked to leave");
    ch_->send("echo:" + std::string(text));
  }
  void on_close() override {
    j_->add("close");
    ch_.reset();
  }

private:
  std::shared_ptr<journal> j_;
  int flood_;
  std::shared_ptr<ws_channel> ch_;
};

class websocket_server : public ::testing::Test {
protected:
  void start(server_options o = {}) {
    o.listen = "127.0.0.1:0";
    srv =
        std::make_unique<server>(o, [j = log](request&& r, responder_ptr out) {
          if (r.path == "/ws") {
            out->accept_websocket(std::make_shared<echo_socket>(j, 64));
            return;
          }
          if (r.path == "/refuse") {
            out->reply(problem(401, "no"));
            return;
          }
          out->reply(problem(404, "none"));
        });
    srv->start();
  }
  void TearDown() override {
    if (srv) srv->stop(std::chrono::seconds(2));
  }
  std::shared_ptr<journal> log = std::make_shared<journal>();
  std::unique_ptr<server> srv;
};

} // namespace

TEST_F(websocket_server, messages_go_both_ways_and_a_close_is_seen) {
  start();
  ws_client ws(srv->port(), "/ws");
  ASSERT_TRUE(ws.ok()) << ws.status();
  EXPECT_EQ(ws.read(), "hello");
  ws.send("ping me");
  EXPECT_EQ(ws.read(), "echo:ping me");
  ws.close();
  EXPECT_TRUE(log->wait_for("close"));
  EXPECT_EQ(log->count("open"), 1u);
}

TEST_F(websocket_server, the_application_can_close_with_a_code) {
  start();
  ws_client ws(srv->port(), "/ws");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws.read(), "hello");
  ws.send("bye");
  EXPECT_EQ(ws.read(), std::nullopt);
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.close_code(), 4000);
  EXPECT_TRUE(log->wait_for("close"));
}

TEST_F(websocket_server, a_refused_handshake_gets_the_http_answer) {
  start();
  ws_client ws(srv->port(), "/refuse");
  EXPECT_FALSE(ws.ok());
  EXPECT_EQ(ws.status(), 401u);
  EXPECT_EQ(log->count("open"), 0u);
}

TEST_F(websocket_server, a_plain_request_to_a_socket_endpoint_gets_426) {
  start();
  client c(srv->port());
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 426);
  EXPECT_EQ(r->header("upgrade"), "websocket");
  // The connection stays usable for HTTP.
  ASSERT_TRUE(c.send("GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto again = c.read_response();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, 404);
}

TEST_F(websocket_server, a_peer_that_stops_reading_is_cut_off) {
  server_options o;
  o.ws_max_queued = 256 * 1024; // the flood is 4 MiB
  start(o);
  ws_client ws(srv->port(), "/ws");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws.read(), "hello");
  ws.stop_reading();
  ws.send("flood");
  EXPECT_TRUE(log->wait_for("close"));
  EXPECT_TRUE(wait_until([&] { return srv->connection_count() == 0; }));
}

TEST_F(websocket_server, a_peer_that_answers_no_ping_is_closed) {
  server_options o;
  o.ws_ping_interval = 50ms;
  start(o);
  // A raw client: it does the handshake, then never reads or answers a ping.
  client c(srv->port());
  ASSERT_TRUE(c.send("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
  EXPECT_TRUE(log->wait_for("open"));
  EXPECT_TRUE(log->wait_for("close"));
  EXPECT_TRUE(wait_until([&] { return srv->connection_count() == 0; }));
}

TEST_F(websocket_server, stopping_the_server_closes_sockets_as_going_away) {
  start();
  ws_client ws(srv->port(), "/ws");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws.read(), "hello");
  std::thread stopper([&] { srv->stop(std::chrono::seconds(2)); });
  EXPECT_EQ(ws.read(), std::nullopt);
  stopper.join();
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.close_code(), 1001);
  EXPECT_TRUE(log->wait_for("close"));
}

TEST_F(websocket_server, a_message_over_the_size_limit_closes_the_socket) {
  server_options o;
  o.ws_max_message = 1024;
  start(o);
  ws_client ws(srv->port(), "/ws");
  ASSERT_TRUE(ws.ok());
  EXPECT_EQ(ws.read(), "hello");
  ws.send(std::string(4096, 'x'));
  EXPECT_EQ(ws.read(), std::nullopt);
  EXPECT_TRUE(ws.closed());
  EXPECT_EQ(ws.close_code(), 1009); // message too big
  EXPECT_TRUE(log->wait_for("close"));
}

TEST_F(websocket_server, a_flooding_peer_does_not_hold_up_the_others) {
  server_options o;
  o.ws_max_queued = 256 * 1024;
  start(o);
  ws_client flood(srv->port(), "/ws");
  ASSERT_TRUE(flood.ok());
  EXPECT_EQ(flood.read(), "hello");
  // 32 MiB of messages, each answered with an echo it never reads: once the
  // socket buffers on both sides are full (about 10 MiB on loopback), our
  // queue passes the cap and it is cut off. (Its receive buffer is not shrunk
  // here: shrinking it after the handshake stalls loopback TCP for minutes of
  // retransmission backoff, with the test's writes blocked.)
  std::string chunk(4096, 'm');
  for (int i = 0; i < 8192; ++i)
    flood.send(chunk);
  EXPECT_TRUE(log->wait_for("close"));
  // Meanwhile another peer and plain HTTP are served as usual.
  ws_client calm(srv->port(), "/ws");
  ASSERT_TRUE(calm.ok());
  EXPECT_EQ(calm.read(), "hello");
  calm.send("still here");
  EXPECT_EQ(calm.read(), "echo:still here");
  client c(srv->port());
  ASSERT_TRUE(c.send("GET /other HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
}
