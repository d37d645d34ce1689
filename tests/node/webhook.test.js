// Webhook messages from the real service, verified by the npm standardwebhooks
// library (what a receiver would use). Run by run-webhook.sh from ctest with
// the path of build/linkstacked; every wait has a deadline.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { Webhook } = require('standardwebhooks');

const binary = process.env.LINKSTACKED;
let dir, server, base, token, receiver, receiverUrl;
const inbox = []; // {headers, body}
const waiters = [];

function waitFor(pred, what, ms = 10000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const hit = inbox.find(pred);
      if (hit) return resolve(hit), true;
      return false;
    };
    if (check()) return;
    const timer = setTimeout(() => reject(new Error('timed out waiting for ' + what)), ms);
    waiters.push(() => { if (check()) { clearTimeout(timer); return true; } return false; });
  });
}

async function api(method, url, body) {
  const res = await fetch(base + url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

before(async () => {
  assert.ok(binary, 'LINKSTACKED (the server binary) must be set');
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      inbox.push({ headers: req.headers, body });
      for (let i = waiters.length - 1; i >= 0; --i) if (waiters[i]()) waiters.splice(i, 1);
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;

  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-webhook-'));
  fs.writeFileSync(path.join(dir, 'test.toml'), [
    '[server]', 'listen = "127.0.0.1:0"',
    '[storage]', `path = "${dir}/data"`,
    '[security]', `secret_key_file = "${dir}/secret.key"`,
    '[mailchimp]', 'sandbox_listen = "127.0.0.1:0"',
    '[webhooks]', 'allow_private_targets = true',
    '[log]', 'level = "info"', ''].join('\n'));
  server = spawn(binary, ['serve', '--config', path.join(dir, 'test.toml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error('the server did not start:\n' + log)), 20000);
    const onData = (d) => {
      log += d;
      const m = /\(port (\d+),/.exec(log);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error('the server exited with ' + code + ':\n' + log)));
  });
  base = `http://127.0.0.1:${port}`;
  const signup = await api('POST', '/api/v1/accounts', { email: 'hooks@example.org', password: 'correct horse', handle: 'hooks' });
  assert.equal(signup.status, 201);
  token = signup.json.api_token;
});

after(() => {
  if (server) server.kill('SIGTERM');
  if (receiver) receiver.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('events are signed per Standard Webhooks, before and after a rotation', async () => {
  const set = await api('PUT', '/api/v1/integrations/webhook', { url: receiverUrl });
  assert.equal(set.status, 201);
  const secret = set.json.secret;
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);

  const sub = await api('POST', '/api/v1/public/hooks/subscribe', { email: 'fan@gmail.com', name: 'Ana Lima' });
  assert.equal(sub.status, 202);
  assert.deepEqual(sub.json, { status: 'received' });
  const created = await waitFor((m) => m.body.includes('subscriber.created'), 'subscriber.created');
  const payload = new Webhook(secret).verify(created.body, created.headers);
  assert.equal(payload.type, 'subscriber.created');
  assert.equal(payload.data.email, 'fan@gmail.com');
  // The public answer has no id; the account's own API has it.
  const listed = await api('GET', '/api/v1/subscribers?q=fan%40gmail.com');
  assert.equal(payload.data.id, listed.json.items[0].id);
  assert.match(created.headers['webhook-id'], /^msg_/);
  // A wrong secret or a changed body does not verify.
  assert.throws(() => new Webhook('whsec_' + Buffer.alloc(32, 7).toString('base64')).verify(created.body, created.headers));
  assert.throws(() => new Webhook(secret).verify(created.body.replace('fan@', 'fan2@'), created.headers));

  const test = await api('POST', '/api/v1/integrations/webhook/test');
  assert.equal(test.status, 202);
  const ping = await waitFor((m) => m.body.includes('webhook.test'), 'webhook.test');
  assert.equal(new Webhook(secret).verify(ping.body, ping.headers).type, 'webhook.test');

  const rotated = await api('POST', '/api/v1/integrations/webhook/rotate-secret');
  assert.equal(rotated.status, 200);
  const fresh = rotated.json.secret;
  assert.notEqual(fresh, secret);
  await api('POST', '/api/v1/public/hooks/subscribe', { email: 'second@gmail.com' });
  const after = await waitFor((m) => m.body.includes('second@gmail.com'), 'the event after the rotation');
  // For a day both secrets verify it.
  assert.equal(new Webhook(fresh).verify(after.body, after.headers).data.email, 'second@gmail.com');
  assert.equal(new Webhook(secret).verify(after.body, after.headers).data.email, 'second@gmail.com');
});
