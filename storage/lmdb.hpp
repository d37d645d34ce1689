// A small RAII wrapper over LMDB: exceptions for real failures, optional for
// not-found, string_view values that live as long as their transaction.
// Debian's liblmdb++-dev is the 2016 lmdbxx fork with known double frees, so we
// keep our own (~200 lines).
#pragma once

#include <cstdint>
#include <lmdb.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ls::lmdb {

/// An LMDB failure; code() is the MDB_* or errno value.
class error : public std::runtime_error {
public:
  error(const char* where, int code);
  int code() const { return code_; }
  bool map_full() const { return code_ == MDB_MAP_FULL; }

private:
  int code_;
};

class txn;

/// An open environment (one per process per directory).
class env {
public:
  /// Opens `dir` (created if missing) with MDB_NOTLS so read transactions may
  /// move between threads and many threads may read concurrently.
  env(const std::string& dir, uint64_t map_size, unsigned max_dbs);
  ~env();
  env(const env&) = delete;
  env& operator=(const env&) = delete;

  MDB_env* handle() const { return env_; }
  uint64_t map_size() const;
  /// Only when no transaction of this process is open.
  void set_map_size(uint64_t bytes);
  void sync();

private:
  MDB_env* env_ = nullptr;
};

/// A named database handle (opened once, inside a write transaction at
/// start-up).
using dbi = MDB_dbi;

/// A transaction; aborted on destruction unless committed.
class txn {
public:
  static txn read(env& e);
  static txn write(env& e);
  /// A nested write transaction: its changes join the parent's on commit,
  /// vanish on abort.
  static txn nested(env& e, txn& parent);
  txn(txn&& other) noexcept;
  txn& operator=(txn&&) = delete;
  ~txn();

  dbi open(const char* name, unsigned flags = MDB_CREATE);
  std::optional<std::string_view> get(dbi db, std::string_view key);
  void put(dbi db, std::string_view key, std::string_view value,
           unsigned flags = 0);
  /// false when the key was already present (and nothing changed)
  bool put_if_absent(dbi db, std::string_view key, std::string_view value);
  bool del(dbi db, std::string_view key);
  void commit();
  void abort();
  MDB_txn* handle() const { return txn_; }

private:
  explicit txn(MDB_txn* t) : txn_(t) {}
  MDB_txn* txn_;
};

/// A cursor within one transaction; closed on destruction (always before the
/// commit).
class cursor {
public:
  cursor(txn& t, dbi db);
  ~cursor();
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;

  /// Positions at the first key >= `key`; false at the end.
  bool seek(std::string_view key);
  bool first();
  bool last();
  bool next();
  bool prev();
  std::string_view key() const { return to_view(k_); }
  std::string_view value() const { return to_view(v_); }

private:
  static std::string_view to_view(const MDB_val& v) {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
  }
  bool move(MDB_cursor_op op);
  MDB_cursor* cur_ = nullptr;
  MDB_val k_{}, v_{};
};

} // namespace ls::lmdb
