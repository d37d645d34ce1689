// Fidelity test: Mailchimp's official Node client (@mailchimp/mailchimp_marketing) against
// build/mailchimp-sim. If the official client can talk to the simulator and sees the shapes and
// texts it expects, the simulator speaks Mailchimp's API (see ../../../shared/mailchimp.md).
//
// Run by ctest through run.sh (MAILCHIMP_SIM = the binary), or by hand:
//   MAILCHIMP_SIM=build/mailchimp-sim node --test tests/node/fidelity.test.js
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const mailchimp = require('@mailchimp/mailchimp_marketing');

const simBinary =
  process.env.MAILCHIMP_SIM || path.join(__dirname, '..', '..', 'build', 'mailchimp-sim');

let sim;
let base;
let listId;
// The simulator's control surface answers only this token (--control-token).
const controlToken = crypto.randomBytes(32).toString('hex');

const hash = (email) => crypto.createHash('md5').update(email.trim().toLowerCase()).digest('hex');

async function control(method, route, body) {
  const res = await fetch(base + route, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${controlToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.status < 300, `${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// The rejection of a client call: superagent's error, with status and parsed body.
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('the call succeeded, an error was expected');
}

function startSimulator() {
  return new Promise((resolve, reject) => {
    const child = spawn(simBinary, ['--listen', '127.0.0.1:0', '--empty', '--control-token', controlToken], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error('the simulator did not start: ' + out)), 10000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/mailchimp-sim listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
  });
}

before(async () => {
  const started = await startSimulator();
  sim = started.child;
  base = started.url;

  await control('POST', '/_sim/users', { login: 'fidelity', dc: 'us19' });
  const list = await control('POST', '/_sim/lists', { user: 'fidelity', name: 'Fidelity' });
  listId = list.id;
  for (const [email, status] of [
    ['gone@gmail.com', 'unsubscribed'],
    ['bounced@yahoo.com', 'cleaned'],
    ['angry@outlook.com', 'complained'],
    ['erased@gmail.com', 'forgotten'],
  ]) {
    await control('POST', `/_sim/lists/${listId}/members`, { email_address: email, status });
  }
  const { access_token } = await control('POST', '/_sim/tokens', { user: 'fidelity' });

  // The client builds https://us19.api.mailchimp.com/3.0 from `server`; point it at the
  // simulator instead (ApiClient.basePath, see src/ApiClient.js).
  mailchimp.setConfig({ accessToken: access_token, server: 'us19' });
  mailchimp.basePath = base + '/3.0';
});

after(async () => {
  if (!sim) return;
  const exited = new Promise((resolve) => sim.on('exit', (code, signal) => resolve({ code, signal })));
  sim.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 0, 'mailchimp-sim exits 0 on SIGTERM');
});

test('ping', async () => {
  const r = await mailchimp.ping.get();
  assert.equal(r.health_status, "Everything's Chimpy!");
});

test('account root', async () => {
  const r = await mailchimp.root.getRoot();
  assert.equal(r.role, 'owner');
  assert.equal(typeof r.account_id, 'string');
});

test('lists: getAllLists, getList, paging', async () => {
  const all = await mailchimp.lists.getAllLists();
  assert.equal(all.total_items, 1);
  assert.equal(all.lists[0].id, listId);
  assert.match(all.lists[0].id, /^[0-9a-f]{10}$/);
  assert.equal(all.lists[0].name, 'Fidelity');
  assert.equal(typeof all.lists[0].stats.member_count, 'number');

  const one = await mailchimp.lists.getList(listId);
  assert.equal(one.id, listId);
  assert.equal(one.double_optin, false);

  const empty = await mailchimp.lists.getAllLists({ count: 5, offset: 1 });
  assert.equal(empty.lists.length, 0);
  assert.equal(empty.total_items, 1);

  const err = await rejection(mailchimp.lists.getList('0000000000'));
  assert.equal(err.status, 404);
  assert.equal(err.response.body.title, 'Resource Not Found');
});

test('lists: createList and its validation', async () => {
  const created = await mailchimp.lists.createList({
    name: 'Created by the official client',
    contact: {
      company: 'Co', address1: '1 Main St', city: 'Atlanta', state: 'GA', zip: '30308', country: 'US',
    },
    permission_reminder: 'You signed up on our site.',
    campaign_defaults: {
      from_name: 'Me', from_email: 'me@gmail.com', subject: 'Hello', language: 'en',
    },
    email_type_option: true,
  });
  assert.match(created.id, /^[0-9a-f]{10}$/);
  const fields = await mailchimp.lists.getListMergeFields(created.id);
  assert.deepEqual(fields.merge_fields.map((f) => f.tag), ['FNAME', 'LNAME', 'ADDRESS', 'PHONE']);

  const err = await rejection(mailchimp.lists.createList({ name: 'Incomplete' }));
  assert.equal(err.status, 400);
  assert.equal(err.response.body.title, 'Invalid Resource');
  assert.ok(err.response.body.errors.some((e) => e.field === 'contact'));
  assert.match(err.response.headers['content-type'], /^application\/problem\+json/);
  assert.equal(err.response.headers['x-request-id'], err.response.body.instance);
});

test('batchListMembers: created, errors by text, update', async () => {
  const r = await mailchimp.lists.batchListMembers(listId, {
    members: [
      { email_address: 'New.Person@gmail.com', status: 'subscribed', merge_fields: { FNAME: 'New' }, tags: ['fidelity'] },
      { email_address: 'gone@gmail.com', status: 'subscribed' },
      { email_address: 'bounced@yahoo.com', status: 'subscribed' },
      { email_address: 'angry@outlook.com', status: 'subscribed' },
      { email_address: 'erased@gmail.com', status: 'subscribed' },
      { email_address: 'someone@example.com', status: 'subscribed' },
      { email_address: 'not an address', status: 'subscribed' },
    ],
    update_existing: true,
  });
  assert.equal(r.total_created, 1);
  assert.equal(r.total_updated, 0);
  assert.equal(r.error_count, 6);
  assert.equal(r.new_members[0].id, hash('new.person@gmail.com'));
  assert.deepEqual(r.new_members[0].tags.map((t) => t.name), ['fidelity']);
  const byEmail = Object.fromEntries(r.errors.map((e) => [e.email_address, e]));
  for (const email of ['gone@gmail.com', 'bounced@yahoo.com', 'angry@outlook.com']) {
    assert.equal(
      byEmail[email].error,
      `${email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.`,
    );
    assert.equal(byEmail[email].error_code, 'ERROR_GENERIC');
  }
  assert.equal(
    byEmail['erased@gmail.com'].error,
    'erased@gmail.com was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.',
  );
  assert.equal(
    byEmail['someone@example.com'].error,
    'someone@example.com looks fake or invalid, please enter a real email address.',
  );
  assert.equal(byEmail['not an address'].error, 'Please provide a valid email address.');

  const again = await mailchimp.lists.batchListMembers(listId, {
    members: [{ email_address: 'new.person@gmail.com', status: 'subscribed' }],
    update_existing: false,
  });
  assert.equal(again.errors[0].error_code, 'ERROR_CONTACT_EXISTS');
  assert.equal(
    again.errors[0].error,
    'new.person@gmail.com is already a list member, do you want to update? please provide update_existing:true in the request body',
  );

  const merge = await mailchimp.lists.batchListMembers(listId, {
    members: [{ email_address: 'new.person@gmail.com', status: 'subscribed', merge_fields: { ADDRESS: { addr1: 'x' } } }],
    update_existing: true,
  });
  assert.equal(merge.errors[0].error, 'Your merge fields were invalid.');
  assert.equal(merge.errors[0].field, 'ADDRESS');
  assert.equal(merge.errors[0].field_message, 'Please enter a complete address');
});

test('batchListMembers: more than 500 members is a 400', async () => {
  const members = Array.from({ length: 501 }, (_, i) => ({ email_address: `m${i}@gmail.com`, status: 'subscribed' }));
  const err = await rejection(mailchimp.lists.batchListMembers(listId, { members, update_existing: true }));
  assert.equal(err.status, 400);
  assert.equal(err.response.body.title, 'Invalid Resource');
});

test('setListMember (PUT upsert), getListMember, updateListMemberTags', async () => {
  const email = 'Upsert.Me@gmail.com';
  const created = await mailchimp.lists.setListMember(listId, hash(email), {
    email_address: email,
    status_if_new: 'subscribed',
    merge_fields: { FNAME: 'Up', LNAME: 'Sert' },
  });
  assert.equal(created.status, 'subscribed');
  assert.equal(created.full_name, 'Up Sert');

  const updated = await mailchimp.lists.setListMember(listId, hash(email), {
    email_address: email,
    status_if_new: 'subscribed',
    merge_fields: { LNAME: 'Changed' },
  });
  assert.equal(updated.merge_fields.FNAME, 'Up');
  assert.equal(updated.merge_fields.LNAME, 'Changed');

  const tagged = await mailchimp.lists.updateListMemberTags(listId, hash(email), {
    tags: [{ name: 'Customer', status: 'active' }, { name: 'Lead', status: 'active' }],
  });
  assert.equal(tagged, null); // 204, no body

  await mailchimp.lists.updateListMemberTags(listId, hash(email), {
    tags: [{ name: 'Lead', status: 'inactive' }],
  });
  const got = await mailchimp.lists.getListMember(listId, hash(email));
  assert.equal(got.email_address, email);
  assert.deepEqual(got.tags.map((t) => t.name), ['Customer']);

  const compliance = await rejection(mailchimp.lists.setListMember(listId, hash('gone@gmail.com'), {
    email_address: 'gone@gmail.com', status: 'subscribed',
  }));
  assert.equal(compliance.status, 400);
  assert.equal(compliance.response.body.title, 'Member In Compliance State');

  const missing = await rejection(mailchimp.lists.getListMember(listId, hash('nobody@gmail.com')));
  assert.equal(missing.status, 404);

  // What the simulator stored.
  const stored = await control('GET', `/_sim/lists/${listId}/members`);
  const me = stored.members.find((m) => m.email_address === email);
  assert.deepEqual(me.tags, ['Customer']);
  assert.equal(me.merge_fields.LNAME, 'Changed');
});

test('an unknown or revoked token is 401 API Key Invalid', async () => {
  const { access_token } = await control('POST', '/_sim/tokens', { user: 'fidelity' });
  const client = mailchimp; // the client is a singleton: swap its config and restore it
  const saved = client.config;
  try {
    client.setConfig({ accessToken: access_token, server: 'us19' });
    await client.ping.get();
    await control('POST', '/_sim/users/fidelity/revoke-tokens');
    const err = await rejection(client.ping.get());
    assert.equal(err.status, 401);
    assert.equal(err.response.body.title, 'API Key Invalid');
  } finally {
    // Revoking removed every token of the user: get a fresh one for the tests after this.
    const fresh = await control('POST', '/_sim/tokens', { user: 'fidelity' });
    client.setConfig({ ...saved, accessToken: fresh.access_token });
  }
});
