// Process metrics in Prometheus text format. Thread-safe; no CAF, no Beast.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace ls {

/// A Prometheus histogram with fixed buckets.
class histogram {
public:
  explicit histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
    counts_.assign(bounds_.size() + 1, 0);
  }
  void observe(double v);
  /// Appends the _bucket, _sum and _count lines; `labels` like `route="/x"` or
  /// empty.
  void render(std::string& out, const std::string& name,
              const std::string& labels) const;

private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

class metrics {
public:
  void request_done(const std::string& method, const std::string& route,
                    unsigned status, double seconds);
  void store_commit(size_t batch_size, double seconds);
  void store_map_growth() { map_growths_.fetch_add(1); }
  uint64_t commits() const;
  std::string render() const;

private:
  struct route_stats {
    std::map<unsigned, uint64_t> by_status;
    histogram latency{{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                       0.25, 0.5, 1, 2.5, 5}};
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, route_stats> routes_;
  uint64_t commits_ = 0;
  histogram batch_sizes_{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
  histogram commit_seconds_{
      {0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5}};
  std::atomic<uint64_t> map_growths_{0};
};

} // namespace ls
