#include "ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace ls::test {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace bws = boost::beast::websocket;
using tcp = net::ip::tcp;

struct ws_client::impl {
  net::io_context ioc;
  bws::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  bool ok = false;
  bool closed = false;
  unsigned status = 0;

  /// Runs the io_context until `done` or the timeout; on timeout cancels what
  /// is pending and lets it finish. true when done in time.
  bool run(bool& done, std::chrono::milliseconds timeout) {
    ioc.restart();
    ioc.run_for(timeout);
    if (done) return true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().cancel(ignored);
    ioc.restart();
    ioc.run_for(std::chrono::seconds(5));
    return false;
  }
};

ws_client::ws_client(uint16_t port, const std::string& target, const headers& h,
                     std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  beast::error_code ec;
  beast::get_lowest_layer(s.ws).socket().connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return;
  s.ws.set_option(bws::stream_base::decorator([h](bws::request_type& req) {
    for (auto& [k, v] : h)
      req.set(k, v);
  }));
  bws::response_type res;
  bool done = false;
  beast::get_lowest_layer(s.ws).expires_after(timeout);
  s.ws.async_handshake(res, "127.0.0.1:" + std::to_string(port), target,
                       [&](beast::error_code e) {
                         done = true;
                         ec = e;
                       });
  s.run(done, timeout + std::chrono::seconds(1));
  s.status = res.result_int();
  s.ok = done && !ec;
  beast::get_lowest_layer(s.ws).expires_never();
}

ws_client::~ws_client() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().close(ignored);
}

bool ws_client::ok() const {
  return impl_->ok;
}
unsigned ws_client::status() const {
  return impl_->status;
}
bool ws_client::closed() const {
  return impl_->closed;
}
uint16_t ws_client::close_code() const {
  return static_cast<uint16_t>(impl_->ws.reason().code);
}

std::optional<std::string> ws_client::read(std::chrono::milliseconds timeout) {
  auto& s = *impl_;
  if (!s.ok || s.closed) return std::nullopt;
  bool done = false;
  beast::error_code ec;
  s.ws.async_read(s.buffer, [&](beast::error_code e, size_t) {
    done = true;
    ec = e;
  });
  if (!s.run(done, timeout)) return std::nullopt;
  if (ec) {
    s.closed = true;
    return std::nullopt;
  }
  auto text = beast::buffers_to_string(s.buffer.data());
  s.buffer.consume(s.buffer.size());
  return text;
}

std::optional<std::string>
ws_client::read_until(const std::string& needle,
                      std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto m = read(left);
    if (!m) return std::nullopt;
    if (m->find(needle) != std::string::npos) return m;
  }
}

void ws_client::send(const std::string& text) {
  auto& s = *impl_;
  if (!s.ok) return;
  beast::error_code ec;
  s.ws.text(true);
  s.ws.write(net::buffer(text), ec);
}

void ws_client::close() {
  auto& s = *impl_;
  if (!s.ok || s.closed) return;
  bool done = false;
  s.ws.async_close(bws::close_code::normal,
                   [&](beast::error_code) { done = true; });
  s.run(done, std::chrono::seconds(5));
  s.closed = true;
}

void ws_client::stop_reading() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).socket().set_option(
      net::socket_base::receive_buffer_size(4096), ignored);
}

} // namespace ls::test
