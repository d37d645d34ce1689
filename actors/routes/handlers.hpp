// The endpoint handlers, grouped by file. Each runs inside a bridge actor.
#pragma once

#include "actors/routes/api.hpp"

namespace ls::api {

// api_accounts.cpp
void signup(caf::event_based_actor* self, call_ptr c);
void sign_in(caf::event_based_actor* self, call_ptr c);
void sign_out(caf::event_based_actor* self, call_ptr c);
void get_me(caf::event_based_actor* self, call_ptr c);
void rotate_api_token(caf::event_based_actor* self, call_ptr c);

// api_campaigns.cpp
void create_campaign(caf::event_based_actor* self, call_ptr c);
void list_campaigns(caf::event_based_actor* self, call_ptr c);
void get_campaign(caf::event_based_actor* self, call_ptr c);
void replace_campaign(caf::event_based_actor* self, call_ptr c);
void delete_campaign(caf::event_based_actor* self, call_ptr c);

// api_public.cpp
void profile_page(caf::event_based_actor* self, call_ptr c);
void public_subscribe(caf::event_based_actor* self, call_ptr c);

// api_subscribers.cpp
void list_subscribers(caf::event_based_actor* self, call_ptr c);
/// Signups per day over the last `days` (default 30) at `utc_offset` minutes.
void subscriber_stats(caf::event_based_actor* self, call_ptr c);
void get_subscriber(caf::event_based_actor* self, call_ptr c);
void patch_subscriber(caf::event_based_actor* self, call_ptr c);
void delete_subscriber(caf::event_based_actor* self, call_ptr c);
void export_csv(caf::event_based_actor* self, call_ptr c);

// api_mailchimp.cpp
void integrations_overview(caf::event_based_actor* self, call_ptr c);
void mailchimp_connect(caf::event_based_actor* self, call_ptr c);
/// The OAuth callback on the dashboard URL (?code=…&state=… or ?error=…).
void mailchimp_callback(caf::event_based_actor* self, call_ptr c);
/// What an OAuth failure reason (?mailchimp=error&reason=…) means, in words.
std::string_view reason_text(std::string_view reason);
void list_audiences(caf::event_based_actor* self, call_ptr c);
void create_audience(caf::event_based_actor* self, call_ptr c);
void choose_audience(caf::event_based_actor* self, call_ptr c);
void mailchimp_disconnect(caf::event_based_actor* self, call_ptr c);

// api_jobs.cpp
void create_job(caf::event_based_actor* self, call_ptr c);
void list_jobs(caf::event_based_actor* self, call_ptr c);
void get_job(caf::event_based_actor* self, call_ptr c);
void cancel_job(caf::event_based_actor* self, call_ptr c);
void retry_job(caf::event_based_actor* self, call_ptr c);
/// GET …/sync-jobs/{id}/file.csv: a PENDING hand-off's file (Kit, Klaviyo,
/// HubSpot import columns), streamed.
void handoff_file(caf::event_based_actor* self, call_ptr c);
/// POST …/sync-jobs/{id}/complete: a PENDING hand-off was imported by hand.
void complete_job(caf::event_based_actor* self, call_ptr c);

// api_webhook.cpp
/// PUT: set the URL and events (201 with the secret when new); the target is
/// checked (SSRF guard), so the route runs on its own thread.
void put_webhook(caf::event_based_actor* self, call_ptr c);
void get_webhook(caf::event_based_actor* self, call_ptr c);
void delete_webhook(caf::event_based_actor* self, call_ptr c);
void rotate_webhook_secret(caf::event_based_actor* self, call_ptr c);
void test_webhook(caf::event_based_actor* self, call_ptr c);
void list_deliveries(caf::event_based_actor* self, call_ptr c);
void redeliver(caf::event_based_actor* self, call_ptr c);
/// POST {since}: every failed delivery created since then goes again.
void replay_deliveries(caf::event_based_actor* self, call_ptr c);

// api_events.cpp
/// GET /api/v1/events: the account's events on a WebSocket.
void account_events(caf::event_based_actor* self, call_ptr c);
/// GET /admin/events: every account's job events, with admin.token.
void admin_events(caf::event_based_actor* self, call_ptr c);

// api_dashboard.cpp
/// The dashboard page; hands OAuth callbacks to mailchimp_callback.
void dashboard_page(caf::event_based_actor* self, call_ptr c);
/// GET /dashboard/assets/{name}: embedded static files, cached by hash.
void dashboard_asset(caf::event_based_actor* self, call_ptr c);

// api.cpp
void healthz(caf::event_based_actor* self, call_ptr c);
void metrics_text(caf::event_based_actor* self, call_ptr c);

} // namespace ls::api
