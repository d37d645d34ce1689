// build/mailchimp-sim: the Mailchimp simulator as a standalone server.
//   mailchimp-sim --listen HOST:PORT [--latency-ms N] [--empty]
//   [--max-connections N] [--control-token TOKEN]
// Prints "mailchimp-sim listening on http://HOST:PORT" once listening (port 0
// picks a free port, and the line shows the real one); exits 0 on SIGTERM or
// SIGINT. Without --control-token (or MAILCHIMP_SIM_CONTROL_TOKEN), a random
// control token is made and printed once, before that line.
#include "http/server.hpp"
#include "http/sim/simulator.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <pthread.h>
#include <string>

namespace {

/// The host part of "host:port" / "[v6]:port", as a client would reach it.
std::string reachable_host(const std::string& listen) {
  std::string host;
  if (!listen.empty() && listen.front() == '[') {
    host = listen.substr(0, listen.find(']') + 1);
    if (host == "[::]") host = "[::1]";
    return host;
  }
  host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "*" || host == "0.0.0.0") host = "127.0.0.1";
  return host;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"Mailchimp simulator: the OAuth host and the Marketing API v3 "
               "subset LinkStacked uses, plus a control surface under /_sim/."};
  std::string listen = "127.0.0.1:3001";
  unsigned latency_ms = 0;
  unsigned max_connections = 10;
  unsigned threads = 2;
  bool empty = false;
  app.add_option("--listen", listen, "HOST:PORT to listen on (port 0: any)")
      ->capture_default_str();
  app.add_option("--latency-ms", latency_ms,
                 "Delay added to every API and OAuth answer")
      ->capture_default_str();
  app.add_option("--max-connections", max_connections,
                 "Requests in flight per Mailchimp user before 429")
      ->capture_default_str();
  app.add_option("--threads", threads, "Server io threads")
      ->capture_default_str()
      ->check(CLI::Range(1u, 64u));
  app.add_flag("--empty", empty,
               "Start with no app, user or audience (no sandbox defaults)");
  std::string control_token;
  app.add_option("--control-token", control_token,
                 "Secret that /_sim/ requests send as 'Authorization: Bearer "
                 "TOKEN' (at least 16 printable characters, no spaces; "
                 "default: a random one, printed at start-up)")
      ->envname("MAILCHIMP_SIM_CONTROL_TOKEN")
      ->check([](const std::string& t) -> std::string {
        if (t.size() >= 16 && std::all_of(t.begin(), t.end(), [](char c) {
              return c > 0x20 && c < 0x7f;
            }))
          return {};
        return "must be at least 16 printable characters without spaces";
      });
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  try {
    ls::mcsim::options opts;
    opts.seed_defaults = !empty;
    opts.latency = std::chrono::milliseconds(latency_ms);
    opts.max_connections = max_connections;
    opts.control_token = control_token;
    ls::mcsim::simulator sim(opts);

    ls::http::server_options so;
    so.listen = listen;
    so.threads = threads;
    so.body_limit = 16 * 1024 * 1024; // a batch of 500 members fits easily
    so.server_name = "mailchimp-sim";
    ls::http::server server(so, sim.handler());
    server.start();
    std::string base = "http://" + reachable_host(listen) + ":" +
                       std::to_string(server.port());
    sim.set_base_url(base);
    // A made-up token is only of use to whoever started the simulator, who
    // reads it here; a token they chose is never echoed.
    if (control_token.empty())
      std::cout << "mailchimp-sim control token: " << sim.control_token()
                << "\n";
    std::cout << "mailchimp-sim listening on " << base << std::endl;

    int sig = 0;
    sigwait(&stop_signals, &sig);
    // Hung and delayed answers are released first, so that stopping does not
    // wait for them.
    server.stop_accepting();
    sim.stop();
    server.stop(std::chrono::seconds(2));
  } catch (const std::exception& e) {
    std::cerr << "mailchimp-sim: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
