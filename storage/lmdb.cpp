#include "storage/lmdb.hpp"

#include <cerrno>
#include <filesystem>
#include <string>
#include <utility>

namespace ls::lmdb {

namespace {

MDB_val to_val(std::string_view s) {
  return {s.size(), const_cast<char*>(s.data())};
}

void check(const char* where, int rc) {
  if (rc != MDB_SUCCESS) throw error(where, rc);
}

/// LMDB refuses (MDB_BAD_VALSIZE) empty keys and keys longer than its limit
/// (511 bytes by default): no such key can be stored, so looking one up finds
/// nothing.
bool storable_key(MDB_txn* t, std::string_view key) {
  return !key.empty() &&
         key.size() <=
             static_cast<size_t>(mdb_env_get_maxkeysize(mdb_txn_env(t)));
}

} // namespace

error::error(const char* where, int code)
    : std::runtime_error(std::string{"lmdb "} + where + ": " +
                         mdb_strerror(code)),
      code_(code) {}

env::env(const std::string& dir, uint64_t map_size, unsigned max_dbs) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw error("create directory", ec.value());
  check("env_create", mdb_env_create(&env_));
  try {
    check("set_maxdbs", mdb_env_set_maxdbs(env_, max_dbs));
    check("set_mapsize", mdb_env_set_mapsize(env_, map_size));
    check("set_maxreaders", mdb_env_set_maxreaders(env_, 512));
    check("env_open", mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0600));
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

env::~env() {
  if (env_) mdb_env_close(env_);
}

uint64_t env::map_size() const {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

void env::set_map_size(uint64_t bytes) {
  check("set_mapsize", mdb_env_set_mapsize(env_, bytes));
}

void env::sync() {
  check("env_sync", mdb_env_sync(env_, 1));
}

txn txn::read(env& e) {
  MDB_txn* t = nullptr;
  check("txn_begin(read)", mdb_txn_begin(e.handle(), nullptr, MDB_RDONLY, &t));
  return txn{t};
}

txn txn::write(env& e) {
  MDB_txn* t = nullptr;
  check("txn_begin(write)", mdb_txn_begin(e.handle(), nullptr, 0, &t));
  return txn{t};
}

txn txn::nested(env& e, txn& parent) {
  MDB_txn* t = nullptr;
  check("txn_begin(nested)", mdb_txn_begin(e.handle(), parent.txn_, 0, &t));
  return txn{t};
}

txn::txn(txn&& other) noexcept : txn_(std::exchange(other.txn_, nullptr)) {}

txn::~txn() {
  if (txn_) mdb_txn_abort(txn_);
}

dbi txn::open(const char* name, unsigned flags) {
  dbi d;
  check("dbi_open", mdb_dbi_open(txn_, name, flags, &d));
  return d;
}

std::optional<std::string_view> txn::get(dbi db, std::string_view key) {
  if (!storable_key(txn_, key)) return std::nullopt;
  auto k = to_val(key);
  MDB_val v;
  auto rc = mdb_get(txn_, db, &k, &v);
  if (rc == MDB_NOTFOUND) return std::nullopt;
  check("get", rc);
  return std::string_view{static_cast<const char*>(v.mv_data), v.mv_size};
}

void txn::put(dbi db, std::string_view key, std::string_view value,
              unsigned flags) {
  auto k = to_val(key);
  auto v = to_val(value);
  check("put", mdb_put(txn_, db, &k, &v, flags));
}

bool txn::put_if_absent(dbi db, std::string_view key, std::string_view value) {
  auto k = to_val(key);
  auto v = to_val(value);
  auto rc = mdb_put(txn_, db, &k, &v, MDB_NOOVERWRITE);
  if (rc == MDB_KEYEXIST) return false;
  check("put", rc);
  return true;
}

bool txn::del(dbi db, std::string_view key) {
  if (!storable_key(txn_, key)) return false;
  auto k = to_val(key);
  auto rc = mdb_del(txn_, db, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  check("del", rc);
  return true;
}

void txn::commit() {
  auto t = std::exchange(txn_, nullptr);
  check("txn_commit", mdb_txn_commit(t)); // a failed commit frees the txn too
}

void txn::abort() {
  if (auto t = std::exchange(txn_, nullptr)) mdb_txn_abort(t);
}

cursor::cursor(txn& t, dbi db) {
  check("cursor_open", mdb_cursor_open(t.handle(), db, &cur_));
}

cursor::~cursor() {
  mdb_cursor_close(cur_);
}

bool cursor::move(MDB_cursor_op op) {
  auto rc = mdb_cursor_get(cur_, &k_, &v_, op);
  if (rc == MDB_NOTFOUND) return false;
  check("cursor_get", rc);
  return true;
}

bool cursor::seek(std::string_view key) {
  if (key.empty()) // every key is >= "", and LMDB refuses an empty one
    return first();
  k_ = to_val(key);
  return move(MDB_SET_RANGE);
}

bool cursor::first() {
  return move(MDB_FIRST);
}

bool cursor::last() {
  return move(MDB_LAST);
}

bool cursor::next() {
  return move(MDB_NEXT);
}

bool cursor::prev() {
  return move(MDB_PREV);
}

} // namespace ls::lmdb
