// Benchmark helper of `scripts/bench sync` (not a test): what a creator would write instead of
// LinkStacked's sync. It reads the subscribers CSV exported by the service and pushes every
// subscriber with an email into a fresh audience on the Mailchimp simulator with Mailchimp's
// official Node client, `lists.batchListMembers(listId, {members, update_existing: true})`,
// 500 members a call, 9 calls in flight. It measures its own CPU (process.cpuUsage()) for the
// push alone (the CSV is read first, measured apart), and prints one JSON line on stdout.
//
//   MAILCHIMP_SIM_CONTROL_TOKEN=TOKEN node tests/node/bench-sync.js --sim http://127.0.0.1:PORT
//        --user LOGIN --csv FILE [--concurrency 9] [--batch 500] [--timeout-s 900]
//
// The audience and an access token come from the simulator's control surface (/_sim/lists,
// /_sim/tokens), opened by its control token (the simulator's --control-token, here from the
// environment as the simulator also takes it): a script like this would use an API key; the
// calls are the same.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const mailchimp = require('@mailchimp/mailchimp_marketing');

function args() {
  const o = { concurrency: 9, batch: 500, timeoutS: 900 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const v = a[i + 1];
    switch (a[i]) {
      case '--sim': o.sim = v; i++; break;
      case '--user': o.user = v; i++; break;
      case '--csv': o.csv = v; i++; break;
      case '--concurrency': o.concurrency = Number(v); i++; break;
      case '--batch': o.batch = Number(v); i++; break;
      case '--timeout-s': o.timeoutS = Number(v); i++; break;
      default:
        console.error(`bench-sync.js: unknown argument ${a[i]}`);
        process.exit(2);
    }
  }
  o.controlToken = process.env.MAILCHIMP_SIM_CONTROL_TOKEN;
  if (!o.sim || !o.user || !o.csv || !o.controlToken) {
    console.error('usage: MAILCHIMP_SIM_CONTROL_TOKEN=TOKEN node bench-sync.js --sim URL --user LOGIN --csv FILE [--concurrency 9] [--batch 500]');
    process.exit(2);
  }
  return o;
}

async function control(base, token, method, route, body) {
  const res = await fetch(base + route, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// RFC 4180 rows of a CSV text (CRLF or LF, quoted cells with doubled quotes).
function* csvRows(text) {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const row = [];
    for (;;) {
      let cell = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) throw new Error('unterminated quoted cell');
          cell += text.slice(i, q);
          i = q + 1;
          if (text[i] === '"') {
            cell += '"';
            i++;
          } else break;
        }
      } else {
        let j = i;
        while (j < n && text[j] !== ',' && text[j] !== '\r' && text[j] !== '\n') j++;
        cell = text.slice(i, j);
        i = j;
      }
      row.push(cell);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      break;
    }
    yield row;
  }
}

/// "2026-11-26T05:29:12.123Z" → "2026-11-26 05:29:12" (Mailchimp's timestamp_signup format).
const signupTime = (t) => (t && t.length >= 19 ? t.slice(0, 10) + ' ' + t.slice(11, 19) : undefined);

/// The members to push, in batches: one per subscriber with an email; name split like
/// LinkStacked's mapper (first word → FNAME, the rest → LNAME).
function readBatches(file, batchSize) {
  const rows = csvRows(fs.readFileSync(file, 'utf8'));
  const header = rows.next().value;
  const col = (name) => {
    const k = header.indexOf(name);
    if (k < 0) throw new Error(`the CSV has no ${name} column (header: ${header.join(',')})`);
    return k;
  };
  const cEmail = col('email');
  const cName = col('name');
  const cTags = col('tags');
  const cAt = col('subscribed_at');
  const batches = [];
  let batch = [];
  let rowsRead = 0;
  let withoutEmail = 0;
  for (const r of rows) {
    if (r.length === 1 && r[0] === '') continue;
    rowsRead++;
    const email = r[cEmail];
    if (!email) {
      withoutEmail++;
      continue;
    }
    const name = (r[cName] || '').trim();
    const sp = name.indexOf(' ');
    const merge = {};
    if (name) {
      merge.FNAME = sp < 0 ? name : name.slice(0, sp);
      if (sp >= 0) merge.LNAME = name.slice(sp + 1).trim();
    }
    const m = { email_address: email, status: 'subscribed', merge_fields: merge };
    const tags = (r[cTags] || '').split(',').map((t) => t.trim()).filter(Boolean);
    if (tags.length) m.tags = tags;
    const at = signupTime(r[cAt]);
    if (at) m.timestamp_signup = at;
    batch.push(m);
    if (batch.length === batchSize) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length) batches.push(batch);
  return { batches, rowsRead, withoutEmail };
}

const cpuSeconds = (u) => (u.user + u.system) / 1e6;

async function main() {
  const o = args();
  const cpu0 = process.cpuUsage();
  const { batches, rowsRead, withoutEmail } = readBatches(o.csv, o.batch);
  const readCpu = process.cpuUsage(cpu0);
  const members = batches.reduce((n, b) => n + b.length, 0);

  const list = await control(o.sim, o.controlToken, 'POST', '/_sim/lists', { user: o.user, name: 'Node client benchmark' });
  const { access_token } = await control(o.sim, o.controlToken, 'POST', '/_sim/tokens', { user: o.user });
  // The client builds https://<server>.api.mailchimp.com/3.0; point it at the simulator
  // (ApiClient.basePath), as tests/node/fidelity.test.js does.
  mailchimp.setConfig({ accessToken: access_token, server: 'us19' });
  mailchimp.basePath = o.sim + '/3.0';

  const deadline = Date.now() + o.timeoutS * 1000;
  let next = 0;
  const totals = { created: 0, updated: 0, errors: 0, calls: 0, retried: 0, failed: 0, byStatus: {} };
  const firstErrors = [];
  async function worker() {
    while (next < batches.length) {
      if (Date.now() > deadline) throw new Error(`not done within ${o.timeoutS} s`);
      const members = batches[next++];
      for (let attempt = 1; ; attempt++) {
        totals.calls++;
        try {
          const r = await mailchimp.lists.batchListMembers(list.id, { members, update_existing: true });
          totals.byStatus[200] = (totals.byStatus[200] || 0) + 1;
          totals.created += r.total_created;
          totals.updated += r.total_updated;
          totals.errors += r.error_count;
          for (const e of r.errors || []) if (firstErrors.length < 3) firstErrors.push(`${e.email_address}: ${e.error}`);
          break;
        } catch (err) {
          const s = err.status || 'network';
          totals.byStatus[s] = (totals.byStatus[s] || 0) + 1;
          // What a careful script does: retry 429 and 5xx a few times, with a pause.
          if ((s === 429 || s === 'network' || s >= 500) && attempt < 5) {
            totals.retried++;
            await new Promise((res) => setTimeout(res, 200 * attempt));
            continue;
          }
          totals.failed++;
          if (firstErrors.length < 3) firstErrors.push(`HTTP ${s}: ${err.message}`);
          break;
        }
      }
    }
  }

  const cpu1 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const pushCpu = process.cpuUsage(cpu1);

  const out = {
    client: '@mailchimp/mailchimp_marketing ' + require(path.join(path.dirname(require.resolve('@mailchimp/mailchimp_marketing')), '..', 'package.json')).version,
    node: process.version,
    list_id: list.id,
    rows: rowsRead,
    without_email: withoutEmail,
    members,
    batches: batches.length,
    concurrency: o.concurrency,
    seconds,
    members_per_s: members / seconds,
    read_cpu_s: cpuSeconds(readCpu),
    push_cpu_s: cpuSeconds(pushCpu),
    push_user_s: pushCpu.user / 1e6,
    push_system_s: pushCpu.system / 1e6,
    push_cpu_us_per_member: (1e6 * cpuSeconds(pushCpu)) / members,
    max_rss_mb: process.resourceUsage().maxRSS / 1024,
    ...totals,
    first_errors: firstErrors,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  console.error('bench-sync.js: ' + (err && err.stack ? err.stack : err));
  process.exit(1);
});
