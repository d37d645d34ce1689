// Request framing and Host (RFC 9112 §3.2, §6): a request whose body length
// cannot be trusted is answered 400 and its connection closed, so that bytes
// after its head (here a second, "smuggled" request) are never served.
#include "http/server.hpp"
#include "test_client.hpp"

#include <gtest/gtest.h>
#include <mutex>

using namespace ls::http;
using namespace ls::http::test;

namespace {

/// Served as a second request if the server misreads where the first ends.
const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

struct bad_request {
  const char* name;
  /// The whole request: `smuggled` follows the head, where a server going
  /// by one reading of the framing takes it for the next request.
  std::string raw;
};

std::ostream& operator<<(std::ostream& os, const bad_request& b) {
  return os << b.name;
}

/// A chunked body carrying `smuggled` as its data.
std::string chunked_smuggled() {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", smuggled.size());
  return std::string(size) + "\r\n" + smuggled + "\r\n0\r\n\r\n";
}

std::string post(std::string_view headers, std::string_view body) {
  return "POST /front HTTP/1.1\r\n" + std::string(headers) + "\r\n" +
         std::string(body);
}

class http_framing : public ::testing::Test {
protected:
  void SetUp() override {
    srv = std::make_unique<server>(server_options{},
                                   [this](request&& r, responder_ptr p) {
                                     {
                                       std::lock_guard lk(mu);
                                       served.push_back(r.path);
                                     }
                                     response res;
                                     res.set("content-type", "text/plain");
                                     res.body = r.path + " " + r.body;
                                     p->reply(std::move(res));
                                   });
    srv->start();
    ASSERT_NE(srv->port(), 0);
  }
  void TearDown() override { srv->stop(200ms); }

  uint16_t port() const { return srv->port(); }

  std::vector<std::string> served_paths() {
    std::lock_guard lk(mu);
    return served;
  }

  /// Another connection's answered request: the server is still serving, and
  /// whatever it read before is already counted.
  void probe() {
    client c(port());
    auto r = c.roundtrip("GET /probe HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }

  std::unique_ptr<server> srv;
  std::mutex mu;
  std::vector<std::string> served;
};

class http_bad_framing : public http_framing,
                         public ::testing::WithParamInterface<bad_request> {};

TEST_P(http_bad_framing, is_refused_with_400_and_the_connection_closed) {
  client c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(GetParam().raw));
  auto r = c.read_response(false, 5000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400); // not 100 Continue either
  EXPECT_EQ(r->header("content-type"), "application/problem+json");
  EXPECT_NE(r->body.find("\"status\":400"), std::string::npos) << r->body;
  if (r->version == "HTTP/1.0") // closes unless it says keep-alive
    EXPECT_EQ(r->header("connection"), "");
  else
    EXPECT_EQ(r->header("connection"), "close");
  // Closed by the server (end of stream within the deadline), with no second
  // answer before it.
  EXPECT_TRUE(c.wait_closed(5000ms));
  probe();
  // The handler saw the probe only: neither the refused request nor the
  // request hidden after its head.
  EXPECT_EQ(served_paths(), std::vector<std::string>{"/probe"});
}

INSTANTIATE_TEST_SUITE_P(
    rfc9112, http_bad_framing,
    ::testing::Values(
        bad_request{"te_gzip",
                    post("Host: t\r\nTransfer-Encoding: gzip\r\n", smuggled)},
        bad_request{
            "te_xchunked",
            post("Host: t\r\nTransfer-Encoding: xchunked\r\n", smuggled)},
        bad_request{"te_chunked_chunked",
                    post("Host: t\r\nTransfer-Encoding: chunked, chunked\r\n",
                         smuggled)},
        bad_request{
            "te_chunked_gzip",
            post("Host: t\r\nTransfer-Encoding: chunked, gzip\r\n", smuggled)},
        bad_request{"te_gzip_chunked",
                    post("Host: t\r\nTransfer-Encoding: gzip, chunked\r\n",
                         chunked_smuggled())},
        bad_request{"te_chunked_in_two_lines",
                    post("Host: t\r\nTransfer-Encoding: chunked\r\n"
                         "Transfer-Encoding: chunked\r\n",
                         chunked_smuggled())},
        bad_request{"te_gzip_line_then_chunked_line",
                    post("Host: t\r\nTransfer-Encoding: gzip\r\n"
                         "Transfer-Encoding: chunked\r\n",
                         chunked_smuggled())},
        bad_request{"te_empty",
                    post("Host: t\r\nTransfer-Encoding: \r\n", smuggled)},
        bad_request{"te_gzip_with_expect_100_continue",
                    post("Host: t\r\nTransfer-Encoding: gzip\r\n"
                         "Expect: 100-continue\r\n",
                         smuggled)},
        bad_request{"te_chunked_in_http10",
                    "POST /front HTTP/1.0\r\nTransfer-Encoding: chunked\r\n"
                    "\r\n" +
                        chunked_smuggled()},
        bad_request{"te_then_content_length",
                    post("Host: t\r\nTransfer-Encoding: chunked\r\n"
                         "Content-Length: 0\r\n",
                         smuggled)},
        bad_request{"content_length_then_te",
                    post("Host: t\r\nContent-Length: 0\r\n"
                         "Transfer-Encoding: chunked\r\n",
                         smuggled)},
        bad_request{"content_lengths_differ",
                    post("Host: t\r\nContent-Length: 0\r\n"
                         "Content-Length: " +
                             std::to_string(smuggled.size()) + "\r\n",
                         smuggled)},
        bad_request{"content_length_list_differs",
                    post("Host: t\r\nContent-Length: 0, " +
                             std::to_string(smuggled.size()) + "\r\n",
                         smuggled)},
        bad_request{"content_length_invalid",
                    post("Host: t\r\nContent-Length: +0\r\n", smuggled)},
        bad_request{"http11_without_host",
                    "GET /front HTTP/1.1\r\n\r\n" + smuggled},
        bad_request{"two_hosts",
                    "GET /front HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n" +
                        smuggled},
        bad_request{"two_hosts_in_http10",
                    "GET /front HTTP/1.0\r\nHost: t\r\nHost: u\r\n\r\n" +
                        smuggled},
        bad_request{"host_not_a_host",
                    "GET /front HTTP/1.1\r\nHost: evil.test/x@t\r\n\r\n" +
                        smuggled},
        bad_request{"second_host_in_chunked_trailer",
                    post("Host: t\r\nTransfer-Encoding: chunked\r\n",
                         "0\r\nHost: u\r\n\r\n" + smuggled)}),
    [](const ::testing::TestParamInfo<bad_request>& info) {
      return std::string(info.param.name);
    });

TEST_F(http_framing, chunked_body_and_keep_alive_still_work) {
  client c(port());
  ASSERT_TRUE(c.connected());
  auto r = c.roundtrip(post("Host: t\r\nTransfer-Encoding: chunked\r\n",
                            "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "/front hello world");
  EXPECT_NE(r->header("connection"), "close");
  // Codings are case-insensitive (RFC 9112 §7), and a trailer field other
  // than the framing ones is taken.
  r = c.roundtrip("POST /second HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                  "Chunked\r\n\r\n3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "/second abc");
  // The same Content-Length twice is one length (RFC 9110 §8.6 allows it).
  r = c.roundtrip("POST /third HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                  "Content-Length: 2\r\n\r\nok");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "/third ok");
  r = c.roundtrip("GET /fourth HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(srv->connection_count(), 1u); // all on one connection
  EXPECT_EQ(served_paths(), (std::vector<std::string>{"/front", "/second",
                                                      "/third", "/fourth"}));
}

TEST_F(http_framing, http10_without_host_is_accepted) {
  client c(port());
  auto r = c.roundtrip("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  r = c.roundtrip("POST /old2 HTTP/1.0\r\nConnection: keep-alive\r\n"
                  "Content-Length: 2\r\n\r\nhi");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "/old2 hi");
  EXPECT_EQ(served_paths(), (std::vector<std::string>{"/old", "/old2"}));
}

} // namespace
