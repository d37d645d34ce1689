// Custom webhooks: the outbox (written in the commit of the change it tells
// about) and the WEBHOOK DELIVERY actor that sends it, signed per Standard
// Webhooks.
#pragma once

#include "actors/interfaces.hpp"
#include "storage/crypto.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <vector>

namespace ls::http {
class client;
}

namespace ls {

/// The event types an endpoint can take (webhook.test always goes).
const std::vector<std::string>& webhook_event_types();

/// Inside a change: puts a message in the account's outbox when its webhook
/// takes `type` (`data` builds the payload only then). true when it did.
bool outbox(store::database& db, lmdb::txn& t, const std::string& account_id,
            const std::string& type, const std::string& subject,
            const std::function<std::string()>& data, int64_t now_us);

/// A new delivery of `type` for the account (not stored).
store::webhook_delivery make_delivery(const std::string& account_id,
                                      const std::string& type,
                                      const std::string& subject,
                                      const std::string& data_json,
                                      int64_t now_us);

/// "whsec_" + base64 of the raw secret bytes.
std::string format_secret(std::string_view raw);

/// The webhook-signature header: "v1,<base64 HMAC>" for each secret,
/// space-separated.
std::string sign(const std::vector<std::string>& secrets,
                 std::string_view message_id, int64_t timestamp_s,
                 std::string_view body);

struct webhook_config {
  std::shared_ptr<store::database> db;
  store_actor store;
  event_bus_actor bus; ///< may be null
  std::shared_ptr<http::client> client;
  crypto::secret_key key{};
  bool allow_private = false;
  std::chrono::milliseconds timeout{15000};
  /// The waits before each retry; after the last one the delivery fails.
  std::vector<std::chrono::milliseconds> schedule = {
      std::chrono::seconds(5),  std::chrono::minutes(5),
      std::chrono::minutes(30), std::chrono::hours(2),
      std::chrono::hours(5),    std::chrono::hours(10),
      std::chrono::hours(14),   std::chrono::hours(20),
      std::chrono::hours(24)};
  /// An endpoint failing this long without a success is disabled.
  std::chrono::milliseconds disable_after = std::chrono::hours(24 * 5);
};

struct webhook_state {
  static inline const char* name = "webhooks";
  webhook_config cfg;
  std::set<std::string> in_flight; ///< accounts with a message on the wire
  int64_t wake_at = 0; ///< the armed timer's due time (µs), 0 when none
};

/// Spawn it detached: it resolves target hosts (blocking DNS) itself.
webhook_actor::behavior_type
webhook_impl(webhook_actor::stateful_pointer<webhook_state> self,
             webhook_config cfg);

} // namespace ls
