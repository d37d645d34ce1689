#include "actors/metrics.hpp"

#include <fmt/format.h>

namespace ls {

namespace {

/// A client may send any token as the method, and every distinct label set
/// keeps its own histogram forever: only the methods the API serves get a label
/// of their own.
const std::string& method_label(const std::string& method) {
  static const std::string known[] = {"GET",   "HEAD",   "POST",   "PUT",
                                      "PATCH", "DELETE", "OPTIONS"};
  static const std::string other = "OTHER";
  for (auto& k : known)
    if (k == method) return k;
  return other;
}

} // namespace

void histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i])
    ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void histogram::render(std::string& out, const std::string& name,
                       const std::string& labels) const {
  uint64_t cumulative = 0;
  auto sep = labels.empty() ? "" : ",";
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep,
                       bounds_[i], cumulative);
  }
  cumulative += counts_.back();
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep,
                     cumulative);
  auto braces = labels.empty() ? std::string{} : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, sum_, name,
                     braces, count_);
}

void metrics::request_done(const std::string& method, const std::string& route,
                           unsigned status, double seconds) {
  std::lock_guard guard{mutex_};
  auto& r = routes_[{method_label(method), route}];
  ++r.by_status[status];
  r.latency.observe(seconds);
}

void metrics::store_commit(size_t batch_size, double seconds) {
  std::lock_guard guard{mutex_};
  ++commits_;
  batch_sizes_.observe(static_cast<double>(batch_size));
  commit_seconds_.observe(seconds);
}

uint64_t metrics::commits() const {
  std::lock_guard guard{mutex_};
  return commits_;
}

std::string metrics::render() const {
  std::string out;
  std::lock_guard guard{mutex_};
  out += "# HELP linkstacked_http_requests_total HTTP requests by route and "
         "status.\n# TYPE linkstacked_http_requests_total counter\n";
  for (auto& [key, r] : routes_)
    for (auto& [status, n] : r.by_status)
      out += fmt::format("linkstacked_http_requests_total{{method=\"{}\","
                         "route=\"{}\",status=\"{}\"}} {}\n",
                         key.first, key.second, status, n);
  out += "# HELP linkstacked_http_request_seconds Request latency by route.\n"
         "# TYPE linkstacked_http_request_seconds histogram\n";
  for (auto& [key, r] : routes_)
    r.latency.render(
        out, "linkstacked_http_request_seconds",
        fmt::format("method=\"{}\",route=\"{}\"", key.first, key.second));
  out += "# HELP linkstacked_store_commits_total LMDB write transactions "
         "committed.\n# TYPE linkstacked_store_commits_total counter\n";
  out += fmt::format("linkstacked_store_commits_total {}\n", commits_);
  out += "# HELP linkstacked_store_batch_size Changes per group commit.\n"
         "# TYPE linkstacked_store_batch_size histogram\n";
  batch_sizes_.render(out, "linkstacked_store_batch_size", "");
  out += "# HELP linkstacked_store_commit_seconds Time to commit (fsync "
         "included).\n# TYPE linkstacked_store_commit_seconds histogram\n";
  commit_seconds_.render(out, "linkstacked_store_commit_seconds", "");
  out += "# HELP linkstacked_store_map_growths_total Times the LMDB map grew.\n"
         "# TYPE linkstacked_store_map_growths_total counter\n";
  out += fmt::format("linkstacked_store_map_growths_total {}\n",
                     map_growths_.load());
  return out;
}

} // namespace ls
