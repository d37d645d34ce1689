// The creator dashboard: plain modern JavaScript, no framework, no build step.
// It talks to the service's own API with the session cookie and sends the
// session's CSRF token on every unsafe request. Nothing here is inline in the
// page: the Content-Security-Policy allows scripts and styles from this origin
// only.
'use strict';

(() => {
  // -- small helpers ---------------------------------------------------------

  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  /** Creates an element: h('p', {class: 'x', text: 'hi'}, child, …). */
  function h(tag, props = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v === true) e.setAttribute(k, '');
      else e.setAttribute(k, String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function s(tag, attrs = {}, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  const fmt = {
    time(iso) {
      if (!iso) return '';
      const d = new Date(iso);
      return isNaN(d) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    },
    clock(d) {
      return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    },
    num(n) { return Number(n || 0).toLocaleString(); },
    duration(sec) {
      if (!isFinite(sec) || sec < 0) return '';
      if (sec < 1) return 'under a second';
      if (sec < 60) return `${Math.round(sec)} s`;
      if (sec < 3600) return `${Math.round(sec / 60)} min`;
      const hrs = Math.floor(sec / 3600);
      return `${hrs} h ${Math.round((sec - hrs * 3600) / 60)} min`;
    },
    day(date) { // "2026-11-03" → "Nov 3"
      const d = new Date(`${date}T00:00:00Z`);
      return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
    },
  };

  const providers = { mailchimp: 'Mailchimp', kit: 'Kit', klaviyo: 'Klaviyo', hubspot: 'HubSpot' };

  // -- state -----------------------------------------------------------------

  const state = {
    account: null,
    csrf: '',
    campaigns: [],
    openCampaigns: new Set(),
    integrations: null,
    audiences: [],
    sub: { cursors: [''], index: 0, next: null },
    jobs: new Map(), // id → job
    jobsNext: null, // cursor of older jobs
    jobsLimit: 20,
    samples: new Map(), // id → [{t, p}] progress samples for rate and time left
    cancelling: new Set(),
    pollTimer: 0,
    lastRefresh: null,
    ws: null,
    live: false,
    wsRetry: 0,
    wsTimer: 0,
  };

  // -- the API ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `the server answered HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
    }
    get fields() { return Array.isArray(this.problem.errors) ? this.problem.errors : []; }
  }

  /** Calls the API; resolves to the JSON body (null for 204), rejects with ApiError. */
  async function api(method, path, body) {
    const opts = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' };
    if (body !== undefined) {
      opts.headers['content-type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    if (method !== 'GET' && method !== 'HEAD' && state.csrf) opts.headers['x-csrf-token'] = state.csrf;
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, { detail: 'the service could not be reached; check your connection and try again' });
    }
    let data = null;
    const type = res.headers.get('content-type') || '';
    if (res.status !== 204 && type.includes('json')) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    if (!res.ok) {
      const err = new ApiError(res.status, data);
      if (res.status === 401 && state.account && !path.startsWith('/api/v1/session')) {
        signedOut('Your session has ended; please sign in again.');
      }
      throw err;
    }
    return data;
  }

  /** Shows an error (an ApiError or text) in `box` (a .form-error element). */
  function showError(box, err) {
    if (!box) return;
    box.replaceChildren();
    if (!err) { box.hidden = true; return; }
    const msg = typeof err === 'string' ? err : err.message;
    box.append(h('span', { text: capital(msg) }));
    const fields = err instanceof ApiError ? err.fields : [];
    if (fields.length) {
      box.append(h('ul', {}, fields.map((f) => h('li', { text: `${f.field}: ${f.message}` }))));
    }
    box.hidden = false;
  }
  const capital = (t) => (t ? t.charAt(0).toUpperCase() + t.slice(1) : t);

  let flashTimer = 0;
  function flash(text, isError = false) {
    const f = $('#flash');
    f.textContent = text;
    f.classList.toggle('err', isError);
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { f.textContent = ''; }, 8000);
  }

  /** Runs `fn` with `button` disabled, so a double click does not send twice. */
  async function busy(button, fn) {
    if (button) button.disabled = true;
    try { return await fn(); } finally { if (button) button.disabled = false; }
  }

  // -- confirm dialog --------------------------------------------------------

  function confirmDialog(title, text, okLabel) {
    const d = $('#confirm');
    $('#confirm-title').textContent = title;
    $('#confirm-text').textContent = text;
    $('#confirm-ok').textContent = okLabel;
    return new Promise((resolve) => {
      const done = (answer) => {
        $('#confirm-ok').removeEventListener('click', ok);
        $('#confirm-cancel').removeEventListener('click', cancel);
        d.removeEventListener('cancel', cancel);
        if (d.open) d.close();
        resolve(answer);
      };
      const ok = () => done(true);
      const cancel = (e) => { if (e) e.preventDefault(); done(false); };
      $('#confirm-ok').addEventListener('click', ok);
      $('#confirm-cancel').addEventListener('click', cancel);
      d.addEventListener('cancel', cancel); // Escape
      d.showModal();
      $('#confirm-cancel').focus();
    });
  }

  // -- tabs ------------------------------------------------------------------

  const tabNames = ['subscribers', 'campaigns', 'integrations'];

  function selectTab(name, focus = false) {
    if (!tabNames.includes(name)) name = 'subscribers';
    for (const t of tabNames) {
      const tab = $(`#tab-${t}`);
      const on = t === name;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      $(`#panel-${t}`).hidden = !on;
      if (on && focus) tab.focus();
    }
    if (location.hash !== `#${name}`) history.replaceState(null, '', `${location.pathname}${location.search}#${name}`);
  }

  /** A tab shown again shows what changed meanwhile (new signups, a
   * connection made in another tab). */
  function refreshTab(name) {
    if (!state.account) return;
    if (name === 'subscribers') { loadSubscribers(); loadChart(); }
    if (name === 'integrations') { loadIntegrations(); refreshJobs(); }
  }

  function setupTabs() {
    for (const t of tabNames) {
      const tab = $(`#tab-${t}`);
      tab.addEventListener('click', () => { selectTab(t); refreshTab(t); });
      tab.addEventListener('keydown', (e) => {
        const i = tabNames.indexOf(t);
        let next = null;
        if (e.key === 'ArrowRight') next = tabNames[(i + 1) % tabNames.length];
        else if (e.key === 'ArrowLeft') next = tabNames[(i + tabNames.length - 1) % tabNames.length];
        else if (e.key === 'Home') next = tabNames[0];
        else if (e.key === 'End') next = tabNames[tabNames.length - 1];
        if (next) { e.preventDefault(); selectTab(next, true); refreshTab(next); }
      });
    }
  }

  // -- signing in and out ----------------------------------------------------

  function formValues(form) {
    return Object.fromEntries(new FormData(form).entries());
  }

  function setupAuth() {
    $('#signin-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const box = $('.form-error', form);
      showError(box, null);
      const v = formValues(form);
      await busy($('button[type=submit]', form), async () => {
        try {
          const r = await api('POST', '/api/v1/session', { email: v.email.trim(), password: v.password });
          form.reset();
          await signedIn(r.account, r.csrf_token);
        } catch (err) {
          showError(box, err);
        }
      });
    });

    $('#signup-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const box = $('.form-error', form);
      showError(box, null);
      const v = formValues(form);
      await busy($('button[type=submit]', form), async () => {
        try {
          const created = await api('POST', '/api/v1/accounts', {
            email: v.email.trim(), handle: v.handle.trim(), password: v.password,
          });
          const r = await api('POST', '/api/v1/session', { email: v.email.trim(), password: v.password });
          form.reset();
          $('#api-token').textContent = created.api_token;
          $('#token-notice').hidden = false;
          await signedIn(r.account, r.csrf_token);
          flash('Welcome! Create a campaign to put a subscribe form on your profile page.');
          selectTab('campaigns');
        } catch (err) {
          showError(box, err);
        }
      });
    });

    $('#sign-out').addEventListener('click', async (e) => {
      await busy(e.currentTarget, async () => {
        try { await api('DELETE', '/api/v1/session'); } catch (err) { /* signed out anyway */ }
        signedOut('');
      });
    });

    $('#token-dismiss').addEventListener('click', () => {
      $('#token-notice').hidden = true;
      $('#api-token').textContent = '';
    });
  }

  async function signedIn(account, csrf) {
    state.account = account;
    state.csrf = csrf || '';
    $('#loading').hidden = true;
    $('#auth').hidden = true;
    $('#app').hidden = false;
    $('#whoami').hidden = false;
    $('#who-handle').textContent = `@${account.handle}`;
    const profile = `/p/${encodeURIComponent(account.handle)}`;
    for (const a of [$('#profile-link'), ...$$('.profile-link')]) a.href = profile;
    const wanted = $('#oauth-notice') ? 'integrations' : location.hash.slice(1);
    selectTab(wanted);
    connectEvents();
    await Promise.all([
      loadCampaigns().then(() => Promise.all([loadSubscribers(), loadChart()])),
      loadIntegrations(),
      refreshJobs(),
    ]);
  }

  function signedOut(reason) {
    state.account = null;
    state.csrf = '';
    state.jobs.clear();
    state.samples.clear();
    clearTimeout(state.pollTimer);
    clearTimeout(state.wsTimer);
    clearTimeout(deliveriesTimer);
    if (state.ws) { const ws = state.ws; state.ws = null; ws.onclose = null; ws.close(); }
    state.live = false;
    $('#job-list').replaceChildren();
    $('#loading').hidden = true;
    $('#app').hidden = true;
    $('#whoami').hidden = true;
    $('#auth').hidden = false;
    const r = $('#auth-reason');
    r.textContent = reason || '';
    r.hidden = !reason;
    $('#signin-email').focus();
  }

  // -- campaigns -------------------------------------------------------------

  const fieldTypes = ['text', 'email', 'tel', 'date', 'select', 'checkbox'];
  const campaignName = (id) => (state.campaigns.find((c) => c.id === id) || {}).name || id || '';
  const splitTags = (t) => t.split(',').map((x) => x.trim()).filter(Boolean);

  async function loadCampaigns() {
    const r = await api('GET', '/api/v1/campaigns');
    state.campaigns = r.items;
    renderCampaigns();
    fillCampaignSelects();
  }

  function fillCampaignSelects() {
    const fill = (sel, first) => {
      const keep = sel.value;
      sel.replaceChildren(...(first ? [h('option', { value: '', text: first })] : []),
        ...state.campaigns.map((c) => h('option', { value: c.id, text: c.name })));
      if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
    };
    fill($('#sub-campaign'), 'All campaigns');
    fill($('#mc-scope-which'), state.campaigns.length ? null : 'No campaigns yet');
    fill($('#csv-campaign-which'), state.campaigns.length ? null : 'No campaigns yet');
    fill($('#handoff-campaign-which'), state.campaigns.length ? null : 'No campaigns yet');
    $('#handoff-campaign-which').disabled = !$('#handoff-campaign').checked || !state.campaigns.length;
    updateScopeControls();
    updateCsvLink();
  }

  function renderCampaigns() {
    const list = $('#campaign-list');
    list.replaceChildren(...state.campaigns.map(campaignEditor));
    $('#campaign-empty').hidden = state.campaigns.length > 0;
  }

  function fieldRow(cid, f, i) {
    const id = (part) => `f-${cid}-${i}-${part}`;
    const typeSel = h('select', { id: id('type'), class: 'f-type', 'aria-label': `Type of input ${i + 1}` },
      fieldTypes.map((t) => h('option', { value: t, text: t, selected: f.type === t })));
    const options = h('input', {
      type: 'text', id: id('options'), class: 'f-options', 'aria-label': `Choices of input ${i + 1}, comma-separated`,
      value: (f.options || []).join(', '), disabled: f.type !== 'select', placeholder: f.type === 'select' ? 'a, b, c' : '',
    });
    typeSel.addEventListener('change', () => {
      options.disabled = typeSel.value !== 'select';
      options.placeholder = options.disabled ? '' : 'a, b, c';
    });
    const row = h('tr', {},
      h('td', { 'data-label': 'Key' }, h('input', {
        type: 'text', id: id('key'), class: 'f-key', value: f.key || '', maxlength: 64,
        'aria-label': `Key of input ${i + 1} (letters, digits and _)`, placeholder: 'company',
      })),
      h('td', { 'data-label': 'Label' }, h('input', {
        type: 'text', id: id('label'), class: 'f-label', value: f.label || '', maxlength: 200,
        'aria-label': `Label of input ${i + 1}`, placeholder: 'Company',
      })),
      h('td', { 'data-label': 'Type' }, typeSel),
      h('td', { 'data-label': 'Required' }, h('input', {
        type: 'checkbox', id: id('required'), class: 'f-required', checked: !!f.required,
        'aria-label': `Input ${i + 1} is required`,
      })),
      h('td', { 'data-label': 'Choices' }, options),
      h('td', { class: 'actions', 'data-label': 'Order' }, h('div', {},
        h('button', { type: 'button', class: 'secondary small f-up', 'aria-label': `Move input ${i + 1} up`, text: '↑' }),
        h('button', { type: 'button', class: 'secondary small f-down', 'aria-label': `Move input ${i + 1} down`, text: '↓' }),
        h('button', { type: 'button', class: 'danger small f-remove', 'aria-label': `Remove input ${i + 1}`, text: 'Remove' }))));
    return row;
  }

  /** The fields as the editor shows them now. */
  function readFields(table) {
    return $$('tbody tr', table).map((tr) => {
      const f = {
        key: $('.f-key', tr).value.trim(),
        label: $('.f-label', tr).value.trim(),
        type: $('.f-type', tr).value,
        required: $('.f-required', tr).checked,
      };
      if (f.type === 'select') f.options = splitTags($('.f-options', tr).value);
      return f;
    });
  }

  function campaignEditor(c) {
    const details = h('details', { class: 'card campaign', id: `campaign-${c.id}`, open: state.openCampaigns.has(c.id) },
      h('summary', {}, c.name, ' ', h('span', { class: 'muted', text: `/${c.slug} · ${c.fields.length} custom input${c.fields.length === 1 ? '' : 's'}` })));
    details.addEventListener('toggle', () => {
      if (details.open) state.openCampaigns.add(c.id); else state.openCampaigns.delete(c.id);
    });
    const form = h('form', { class: 'campaign-form', novalidate: true });
    const pid = (p) => `c-${c.id}-${p}`;
    form.append(h('div', { class: 'row-form' },
      h('div', {}, h('label', { for: pid('name'), text: 'Name' }),
        h('input', { type: 'text', id: pid('name'), class: 'c-name', value: c.name, maxlength: 200, required: true })),
      h('div', {}, h('label', { for: pid('slug'), text: 'Slug' }),
        h('input', { type: 'text', id: pid('slug'), class: 'c-slug', value: c.slug, maxlength: 64 })),
      h('div', {}, h('label', { for: pid('tags') }, 'Default tags ', h('span', { class: 'hint', text: '(comma-separated)' })),
        h('input', { type: 'text', id: pid('tags'), class: 'c-tags', value: (c.default_tags || []).join(', ') }))));

    const table = h('table', { class: 'field-table' },
      h('caption', { class: 'visually-hidden', text: `Custom inputs of ${c.name}` }),
      h('thead', {}, h('tr', {}, ['Key', 'Label', 'Type', 'Required', 'Choices (select)', ''].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody'));
    const redraw = (fields) => $('tbody', table).replaceChildren(...fields.map((f, i) => fieldRow(c.id, f, i)));
    redraw(c.fields);
    table.addEventListener('click', (e) => {
      const b = e.target.closest('button');
      if (!b) return;
      const rows = $$('tbody tr', table);
      const i = rows.indexOf(b.closest('tr'));
      const fields = readFields(table);
      let focusSel = null;
      if (b.classList.contains('f-remove')) { fields.splice(i, 1); focusSel = '.add-field'; }
      else if (b.classList.contains('f-up') && i > 0) { [fields[i - 1], fields[i]] = [fields[i], fields[i - 1]]; focusSel = `#f-${c.id}-${i - 1}-key`; }
      else if (b.classList.contains('f-down') && i < fields.length - 1) { [fields[i + 1], fields[i]] = [fields[i], fields[i + 1]]; focusSel = `#f-${c.id}-${i + 1}-key`; }
      else return;
      redraw(fields);
      const target = focusSel && $(focusSel, form);
      if (target) target.focus();
    });

    const box = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const add = h('button', { type: 'button', class: 'secondary add-field', text: 'Add an input' });
    add.addEventListener('click', () => {
      const fields = readFields(table);
      fields.push({ key: '', label: '', type: 'text', required: false });
      redraw(fields);
      $(`#f-${c.id}-${fields.length - 1}-key`).focus();
    });
    const save = h('button', { type: 'submit', text: 'Save campaign' });
    const del = h('button', { type: 'button', class: 'danger', text: 'Delete campaign' });
    form.append(
      h('h3', { text: 'Custom inputs' }),
      h('p', { class: 'muted' },
        'Every input is stored and in the CSV. Keys company (or organization) and birthday (or dob) also fill Mailchimp\u2019s COMPANY and BIRTHDAY; first_name and last_name fill FNAME and LNAME.'),
      h('div', { class: 'table-wrap' }, table), add, box, h('div', {}, save, del,
        h('a', { href: `/p/${encodeURIComponent(state.account.handle)}`, target: '_blank', rel: 'noopener', text: 'See the form on your profile page' })));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      showError(box, null);
      const body = {
        name: $('.c-name', form).value.trim(),
        fields: readFields(table),
        default_tags: splitTags($('.c-tags', form).value),
      };
      const slug = $('.c-slug', form).value.trim();
      if (slug) body.slug = slug;
      await busy(save, async () => {
        try {
          await api('PUT', `/api/v1/campaigns/${encodeURIComponent(c.id)}`, body);
          state.openCampaigns.add(c.id);
          await loadCampaigns();
          flash(`Saved \u201c${body.name}\u201d.`);
          const again = $(`#campaign-${c.id} summary`);
          if (again) again.focus();
        } catch (err) { showError(box, err); }
      });
    });
    del.addEventListener('click', async () => {
      const yes = await confirmDialog('Delete this campaign?',
        `\u201c${c.name}\u201d and its form leave your profile page. Subscribers who signed up through it stay on your list.`,
        'Delete campaign');
      if (!yes) return;
      await busy(del, async () => {
        try {
          await api('DELETE', `/api/v1/campaigns/${encodeURIComponent(c.id)}`);
          state.openCampaigns.delete(c.id);
          await loadCampaigns();
          flash(`Deleted \u201c${c.name}\u201d.`);
        } catch (err) { showError(box, err); }
      });
    });
    details.append(form);
    return details;
  }

  function setupCampaigns() {
    $('#campaign-new').addEventListener('submit', async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const box = $('.form-error', form);
      showError(box, null);
      const body = { name: $('#campaign-name').value.trim(), fields: [], default_tags: splitTags($('#campaign-tags').value) };
      const slug = $('#campaign-slug').value.trim();
      if (slug) body.slug = slug;
      await busy($('button[type=submit]', form), async () => {
        try {
          const c = await api('POST', '/api/v1/campaigns', body);
          form.reset();
          state.openCampaigns.add(c.id);
          await loadCampaigns();
          flash(`Created \u201c${c.name}\u201d: its form is on your profile page. Add custom inputs below.`);
          const summary = $(`#campaign-${c.id} summary`);
          if (summary) summary.focus();
        } catch (err) { showError(box, err); }
      });
    });
  }

  // -- subscribers and the chart ---------------------------------------------

  function subscriberFilter() {
    const p = new URLSearchParams();
    const q = $('#sub-q').value.trim();
    const campaign = $('#sub-campaign').value;
    const tag = $('#sub-tag').value.trim();
    if (q) p.set('q', q);
    if (campaign) p.set('campaign', campaign);
    if (tag) p.set('tag', tag);
    return p;
  }

  async function loadSubscribers() {
    const p = subscriberFilter();
    p.set('limit', $('#sub-limit').value);
    const cursor = state.sub.cursors[state.sub.index];
    if (cursor) p.set('cursor', cursor);
    const box = $('#sub-error');
    try {
      const r = await api('GET', `/api/v1/subscribers?${p}`);
      showError(box, null);
      state.sub.next = r.next_cursor;
      renderSubscribers(r.items);
    } catch (err) {
      showError(box, err);
    }
  }

  function renderSubscribers(items) {
    const body = $('#sub-table tbody');
    body.replaceChildren(...items.map((s) => h('tr', {},
      h('td', { class: 'email', 'data-label': 'Email', text: s.email || '' }),
      h('td', { 'data-label': 'Phone', text: s.phone || '' }),
      h('td', { 'data-label': 'Name', text: s.name || [s.first_name, s.last_name].filter(Boolean).join(' ') }),
      h('td', { 'data-label': 'Tags' }, h('div', {}, (s.tags || []).map((t) => h('span', { class: 'tag', text: t })))),
      h('td', { 'data-label': 'Details', class: 'fields' },
        h('div', {}, Object.entries(s.fields || {}).map(([k, v]) => h('div', {}, h('span', { class: 'muted', text: `${k}: ` }), v)))),
      h('td', { 'data-label': 'Campaign', text: s.campaign_id ? campaignName(s.campaign_id) : '' }),
      h('td', { 'data-label': 'Status' }, s.status,
        s.resubscribe_requested_at
          ? h('div', { class: 'muted', title: 'Signed up again on the public form. Mailchimp syncs send them as pending, so its confirmation email decides; other tools get them once they are subscribed.' },
            'asked to subscribe again ', h('time', { datetime: s.resubscribe_requested_at, text: fmt.time(s.resubscribe_requested_at) }))
          : null),
      h('td', { 'data-label': 'Subscribed' }, h('time', { datetime: s.subscribed_at, text: fmt.time(s.subscribed_at) })))));
    const filtered = [...subscriberFilter().keys()].length > 0;
    const empty = $('#sub-empty');
    empty.replaceChildren();
    if (!items.length) {
      if (filtered || state.sub.index > 0) empty.textContent = 'No subscribers match these filters.';
      else empty.append('No subscribers yet. Share your ',
        h('a', { href: `/p/${encodeURIComponent(state.account.handle)}`, target: '_blank', rel: 'noopener', text: 'profile page' }),
        ': each campaign there is a subscribe form.');
    }
    empty.hidden = items.length > 0;
    $('#sub-table').hidden = items.length === 0;
    $('#sub-newer').disabled = state.sub.index === 0;
    $('#sub-older').disabled = !state.sub.next;
    $('#sub-page').textContent = `Page ${state.sub.index + 1}`;
  }

  function setupSubscribers() {
    const reset = () => { state.sub = { cursors: [''], index: 0, next: null }; };
    $('#sub-filters').addEventListener('submit', (e) => {
      e.preventDefault();
      reset();
      loadSubscribers();
      loadChart();
    });
    $('#sub-clear').addEventListener('click', () => {
      $('#sub-filters').reset();
      reset();
      loadSubscribers();
      loadChart();
    });
    $('#sub-campaign').addEventListener('change', () => { reset(); loadSubscribers(); loadChart(); });
    $('#sub-limit').addEventListener('change', () => { reset(); loadSubscribers(); });
    $('#sub-older').addEventListener('click', () => {
      if (!state.sub.next) return;
      state.sub.cursors = state.sub.cursors.slice(0, state.sub.index + 1);
      state.sub.cursors.push(state.sub.next);
      state.sub.index += 1;
      loadSubscribers();
    });
    $('#sub-newer').addEventListener('click', () => {
      if (state.sub.index === 0) return;
      state.sub.index -= 1;
      loadSubscribers();
    });
    $('#chart-days').addEventListener('change', loadChart);
    let width = 0;
    window.addEventListener('resize', () => {
      const w = $('#chart').clientWidth;
      if (chartData && w && Math.abs(w - width) > 20) { width = w; drawChart(chartData); }
    });
  }

  async function loadChart() {
    const p = subscriberFilter();
    p.set('days', $('#chart-days').value);
    p.set('utc_offset', String(-new Date().getTimezoneOffset()));
    try {
      const r = await api('GET', `/api/v1/subscribers/stats?${p}`);
      drawChart(r);
    } catch (err) {
      $('#chart').replaceChildren();
      $('#chart-summary').textContent = `The chart could not be loaded: ${err.message}`;
    }
  }

  /** A round top for the y axis: 4, 5, 10, 20, 50, 100, … at or above `max`. */
  function niceTop(max) {
    if (max <= 4) return 4;
    const p = 10 ** Math.floor(Math.log10(max));
    for (const k of [1, 2, 5, 10]) if (k * p >= max) return k * p;
    return max;
  }

  /** Bars per day, drawn as SVG (no library). */
  let chartData = null;
  function drawChart(r) {
    chartData = r;
    const days = r.days;
    // Drawn at the size it shows, so the labels stay readable on a phone.
    const W = Math.max(280, Math.round($('#chart').clientWidth || 720)), H = 200, L = 40, R = 8, T = 12, B = 26;
    const max = Math.max(...days.map((d) => d.count), 0);
    const top = niceTop(max);
    const plotW = W - L - R, plotH = H - T - B;
    const bw = plotW / days.length;
    const y = (v) => T + plotH - (v / top) * plotH;
    const busiest = days.reduce((a, d) => (d.count > a.count ? d : a), { count: -1 });
    const filtered = [...subscriberFilter().keys()].length > 0;
    const label = `${fmt.num(r.total)} signup${r.total === 1 ? '' : 's'}${filtered ? ' matching the filters' : ''} in the last ${days.length} days` +
      (busiest.count > 0 ? `; the busiest day was ${fmt.day(busiest.date)} with ${fmt.num(busiest.count)}` : '') + '.';
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `Signups per day. ${label}` });
    for (const v of Number.isInteger(top / 2) ? [0, top / 2, top] : [0, top]) {
      svg.append(s('line', { class: v === 0 ? 'axis' : 'grid-line', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      svg.append(s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt.num(v)));
    }
    days.forEach((d, i) => {
      const x = L + i * bw;
      if (d.count > 0) {
        svg.append(s('rect', { class: 'bar', x: x + bw * 0.12, y: y(d.count), width: Math.max(1, bw * 0.76), height: T + plotH - y(d.count) },
          s('title', {}, `${fmt.day(d.date)}: ${d.count} signup${d.count === 1 ? '' : 's'}`)));
      }
    });
    const ticks = [0, Math.floor((days.length - 1) / 2), days.length - 1];
    for (const i of [...new Set(ticks)]) {
      const anchor = i === 0 ? 'start' : i === days.length - 1 ? 'end' : 'middle';
      const x = i === 0 ? L : i === days.length - 1 ? W - R : L + (i + 0.5) * bw;
      svg.append(s('text', { x, y: H - 6, 'text-anchor': anchor }, fmt.day(days[i].date)));
    }
    $('#chart').replaceChildren(svg);
    $('#chart-summary').textContent = label + (r.complete ? '' : ' (counted from the newest million signups only)');
  }

  // -- integrations ----------------------------------------------------------

  async function loadIntegrations() {
    const box = $('#mc-error');
    try {
      state.integrations = await api('GET', '/api/v1/integrations');
    } catch (err) {
      showError(box, err);
      return;
    }
    renderMailchimp();
    renderHandoffs();
    renderWebhook();
    const mc = state.integrations.mailchimp;
    if (mc.status === 'connected') await loadAudiences();
  }

  const statusWords = {
    connected: 'Connected', disconnected: 'Not connected', needs_reconnect: 'Needs reconnecting', coming_soon: 'Coming soon',
    available: 'Available', not_set: 'Not set', active: 'Active', disabled: 'Stopped',
    pending: 'Pending', delivered: 'Delivered', failed: 'Failed',
  };

  function setBadge(e, status) {
    e.className = `badge ${status}`;
    e.textContent = statusWords[status] || status;
  }

  function renderMailchimp() {
    const mc = state.integrations.mailchimp;
    setBadge($('#mc-status'), mc.status);
    $('#mc-sandbox').hidden = document.body.dataset.mailchimpMode !== 'sandbox';
    const connected = mc.status !== 'disconnected';
    $('#mc-disconnected').hidden = connected;
    $('#mc-connected').hidden = !connected;
    $('#mc-reconnect').hidden = mc.status !== 'needs_reconnect';
    $('#mc-account').textContent = mc.account_name || '';
    $('#mc-login').textContent = mc.login_email || '';
    $('#mc-dc').textContent = mc.dc || '';
    $('#mc-audience-name').textContent = mc.audience ? mc.audience.name : 'none chosen yet';
    if (mc.status !== 'connected') {
      $('#mc-audience').replaceChildren(h('option', { value: '', text: mc.audience ? mc.audience.name : 'Connect again to list audiences' }));
    }
    $('#mc-audience').disabled = mc.status !== 'connected';
    $('#mc-audience-save').disabled = mc.status !== 'connected';
    $('#mc-new-audience').disabled = mc.status !== 'connected';
    $('#mc-create button').disabled = mc.status !== 'connected';
    updateScopeControls();
  }

  async function loadAudiences() {
    const sel = $('#mc-audience');
    const box = $('#mc-error');
    try {
      const r = await api('GET', '/api/v1/integrations/mailchimp/audiences');
      state.audiences = r.items;
      showError(box, null);
    } catch (err) {
      showError(box, err);
      if (err.status === 401 || err.status === 409) { /* the card shows what to do */ }
      return;
    }
    const chosen = state.integrations.mailchimp.audience;
    const opts = state.audiences.map((a) => h('option', {
      value: a.id,
      text: `${a.name} (${fmt.num(a.member_count)} member${a.member_count === 1 ? '' : 's'}${a.double_optin ? ', double opt-in' : ''})`,
    }));
    if (!chosen) opts.unshift(h('option', { value: '', text: state.audiences.length ? 'Choose an audience…' : 'No audiences yet: create one below' }));
    sel.replaceChildren(...opts);
    sel.value = chosen ? chosen.id : '';
  }

  function updateScopeControls() {
    const which = $('#mc-scope-which');
    const one = $('#mc-scope-campaign').checked;
    which.disabled = !one || state.campaigns.length === 0;
    const mc = state.integrations && state.integrations.mailchimp;
    let why = '';
    if (!mc || mc.status === 'disconnected') why = 'Connect Mailchimp first.';
    else if (mc.status === 'needs_reconnect') why = 'Connect Mailchimp again before syncing.';
    else if (!mc.audience) why = 'Choose an audience first: Mailchimp keeps contacts in audiences.';
    else if (one && !state.campaigns.length) why = 'You have no campaigns yet.';
    $('#mc-queue').disabled = !!why;
    $('#mc-sync-why').textContent = why;
    $('#mc-sync-why').hidden = !why;
    if (why) $('#mc-queue').setAttribute('aria-describedby', 'mc-sync-why');
    else $('#mc-queue').removeAttribute('aria-describedby');
  }

  /** Connect: ask the API first, so a dashboard URL that Mailchimp would refuse
   * shows the exact URL to register instead of an error page on Mailchimp's
   * side; then go to Mailchimp's approve page with a fresh request. */
  async function connectMailchimp(button) {
    const hint = $('#mc-hint');
    hint.hidden = true;
    showError($('#mc-error'), null);
    await busy(button, async () => {
      const url = '/api/v1/integrations/mailchimp/connect';
      let res;
      try {
        res = await fetch(url, { redirect: 'manual', credentials: 'same-origin', headers: { accept: 'application/json' } });
      } catch (e) {
        showError($('#mc-error'), 'the service could not be reached; try again');
        return;
      }
      if (res.type === 'opaqueredirect' || (res.status >= 300 && res.status < 400)) {
        location.assign(url);
        return;
      }
      let problem = null;
      try { problem = await res.json(); } catch (e) { /* not JSON */ }
      if (res.status === 401) { signedOut('Your session has ended; please sign in again.'); return; }
      if (res.status === 409) {
        hint.replaceChildren(h('strong', { text: 'Mailchimp would refuse this address. ' }),
          capital((problem && problem.detail) || 'this dashboard URL is not a registered redirect URL.'));
        const hostAlt = location.hostname === 'localhost' ? '127.0.0.1' : location.hostname === '127.0.0.1' ? 'localhost' : null;
        if (hostAlt) {
          const alt = `${location.protocol}//${hostAlt}${location.port ? `:${location.port}` : ''}${location.pathname}`;
          hint.append(' ', h('a', { href: alt, text: `Open the dashboard at ${alt}` }), ' (you will sign in there once more).');
        }
        hint.hidden = false;
        hint.tabIndex = -1;
        hint.focus();
        return;
      }
      showError($('#mc-error'), new ApiError(res.status, problem));
    });
  }

  function setupIntegrations() {
    $('#mc-connect').addEventListener('click', (e) => connectMailchimp(e.currentTarget));
    $('#mc-reconnect-btn').addEventListener('click', (e) => connectMailchimp(e.currentTarget));

    $('#mc-audience-save').addEventListener('click', async (e) => {
      const id = $('#mc-audience').value;
      const box = $('#mc-error');
      if (!id) { showError(box, 'choose an audience from the list first'); $('#mc-audience').focus(); return; }
      await busy(e.currentTarget, async () => {
        try {
          const r = await api('PUT', '/api/v1/integrations/mailchimp/audience', { audience_id: id });
          showError(box, null);
          await loadIntegrations();
          flash(`Subscribers will go to the audience \u201c${r.audience.name}\u201d.`);
        } catch (err) { showError(box, err); }
      });
    });

    $('#mc-create').addEventListener('submit', async (e) => {
      e.preventDefault();
      const name = $('#mc-new-audience').value.trim();
      const box = $('#mc-error');
      if (!name) { showError(box, 'give the new audience a name'); $('#mc-new-audience').focus(); return; }
      await busy($('#mc-create button'), async () => {
        try {
          const a = await api('POST', '/api/v1/integrations/mailchimp/audiences', { name });
          await api('PUT', '/api/v1/integrations/mailchimp/audience', { audience_id: a.id });
          $('#mc-new-audience').value = '';
          showError(box, null);
          await loadIntegrations();
          flash(`Created the audience \u201c${a.name}\u201d in Mailchimp and chose it.`);
        } catch (err) { showError(box, err); }
      });
    });

    for (const r of $$('input[name=mc-scope]')) r.addEventListener('change', updateScopeControls);
    for (const r of $$('input[name=handoff-scope]')) {
      r.addEventListener('change', () => {
        $('#handoff-campaign-which').disabled = !$('#handoff-campaign').checked || !state.campaigns.length;
      });
    }

    $('#mc-queue').addEventListener('click', async (e) => {
      const box = $('#mc-error');
      const one = $('#mc-scope-campaign').checked;
      const scope = one ? { type: 'campaign', campaign_id: $('#mc-scope-which').value } : { type: 'all' };
      await busy(e.currentTarget, async () => {
        try {
          const job = await api('POST', '/api/v1/sync-jobs', { provider: 'mailchimp', scope });
          showError(box, null);
          upsertJob(job);
          renderJobs();
          flash(one ? `Sync of \u201c${campaignName(scope.campaign_id)}\u201d queued.` : 'Sync of all subscribers queued.');
          await refreshJobs();
        } catch (err) { showError(box, err); }
      });
      updateScopeControls();
    });

    $('#mc-disconnect').addEventListener('click', async (e) => {
      const button = e.currentTarget;
      const yes = await confirmDialog('Disconnect Mailchimp?',
        'LinkStacked deletes its access to your Mailchimp account. Syncs still queued or running stop. Contacts already in Mailchimp stay there.',
        'Disconnect');
      if (!yes) { button.focus(); return; }
      await busy(button, async () => {
        try {
          await api('DELETE', '/api/v1/integrations/mailchimp');
          await loadIntegrations();
          await refreshJobs();
          flash('Mailchimp is disconnected.');
          $('#mc-connect').focus();
        } catch (err) { showError($('#mc-error'), err); }
      });
    });

    // CSV download: a plain link, so the browser streams the file to disk.
    for (const r of $$('input[name=csv-scope]')) r.addEventListener('change', updateCsvLink);
    $('#csv-campaign-which').addEventListener('change', updateCsvLink);
    $('#csv-tags-which').addEventListener('input', updateCsvLink);
    $('#csv-download').addEventListener('click', (e) => {
      if ($('#csv-download').getAttribute('aria-disabled') === 'true') e.preventDefault();
    });
  }

  function updateCsvLink() {
    const scope = ($('input[name=csv-scope]:checked') || {}).value || 'all';
    $('#csv-campaign-which').disabled = scope !== 'campaign' || !state.campaigns.length;
    $('#csv-tags-which').disabled = scope !== 'tags';
    const p = new URLSearchParams();
    let why = '';
    if (scope === 'campaign') {
      if ($('#csv-campaign-which').value) p.set('campaign', $('#csv-campaign-which').value);
      else why = 'You have no campaigns yet.';
    } else if (scope === 'tags') {
      const tags = splitTags($('#csv-tags-which').value);
      if (tags.length) p.set('tags', tags.join(','));
      else why = 'Type one or more tags.';
    }
    const a = $('#csv-download');
    a.href = `/api/v1/exports/subscribers.csv${p.toString() ? `?${p}` : ''}`;
    a.setAttribute('aria-disabled', String(!!why));
    $('#csv-why').textContent = why;
    $('#csv-why').hidden = !why;
  }

  function handoffScope() {
    const one = $('#handoff-campaign').checked;
    return one ? { type: 'campaign', campaign_id: $('#handoff-campaign-which').value } : { type: 'all' };
  }

  function renderHandoffs() {
    const list = $('#handoff-list');
    const states = ['kit', 'klaviyo', 'hubspot'].map((p) => (state.integrations[p] || { status: 'coming_soon' }).status);
    $('#handoff-scope').hidden = states.every((st) => st === 'coming_soon');
    list.replaceChildren(...['kit', 'klaviyo', 'hubspot'].map((p, i) => {
      const st = states[i];
      const soon = st === 'coming_soon';
      const whyId = `handoff-${p}-why`;
      const button = h('button', {
        type: 'button', class: 'secondary', disabled: soon, 'aria-describedby': whyId, text: `Create ${providers[p]} file`,
      });
      const why = h('p', {
        id: whyId, class: 'muted',
        text: soon ? `Coming soon. Until then, the CSV download works with ${providers[p]}\u2019s import.`
          : `A CSV in ${providers[p]}\u2019s import columns.`,
      });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
      button.addEventListener('click', async () => {
        const scope = handoffScope();
        if (scope.type === 'campaign' && !scope.campaign_id) { showError(err, 'you have no campaigns yet'); return; }
        await busy(button, async () => {
          try {
            const body = { provider: p, scope };
            if ($('#handoff-since').checked) body.since_last_handoff = true;
            const job = await api('POST', '/api/v1/sync-jobs', body);
            showError(err, null);
            upsertJob(job);
            renderJobs();
            flash(`${providers[p]} file ready: download it from the jobs list, import it in ${providers[p]}, then mark it imported.`);
            const link = $(`#job-${job.id} .job-file`);
            if (link) link.focus();
          } catch (e) {
            // 501 while the hand-offs are not there yet: say so plainly.
            showError(err, e.status === 501 ? `${providers[p]} hand-offs are coming soon; use the CSV download meanwhile.` : e);
          }
        });
      });
      const badge = h('span');
      setBadge(badge, st);
      return h('li', { id: `handoff-${p}` }, h('strong', { text: providers[p] }), badge, button, why, err);
    }));
  }

  // -- the webhook -----------------------------------------------------------

  const webhookEvents = {
    'subscriber.created': 'A new subscriber',
    'subscriber.updated': 'A subscriber\u2019s details change',
    'subscriber.unsubscribed': 'A subscriber unsubscribes',
    'subscriber.deleted': 'A subscriber is deleted',
    'sync_job.completed': 'A sync or hand-off completes',
    'sync_job.failed': 'A sync fails',
  };
  let deliveriesTimer = 0;

  function renderWebhook() {
    const hook = state.integrations.webhook || { status: 'coming_soon' };
    const st = hook.status;
    setBadge($('#webhook-status'), st);
    const soon = st === 'coming_soon';
    const set = !soon && st !== 'not_set';
    $('#webhook-text').textContent = soon
      ? 'Coming soon: each new subscriber and each finished sync sent to your own URL, signed (Standard Webhooks), with retries and a delivery log.'
      : 'Each new subscriber and each finished sync, sent to your own URL as it happens, signed (Standard Webhooks) and retried for a day when your endpoint is down.';
    $('#webhook-form').hidden = soon;
    $('#webhook-actions').hidden = !set;
    $('#webhook-deliveries').hidden = !set;
    const off = $('#webhook-disabled');
    off.hidden = st !== 'disabled';
    off.textContent = st === 'disabled'
      ? `Deliveries are stopped${hook.disabled_reason ? `: ${hook.disabled_reason}` : ''}. Save the webhook again to turn them back on.` : '';
    if (soon) return;
    const chosen = new Set(set && Array.isArray(hook.events) ? hook.events : Object.keys(webhookEvents));
    const box = $('#webhook-events');
    box.replaceChildren(...Object.entries(webhookEvents).map(([type, words]) => h('div', { class: 'radio-row' },
      h('input', { type: 'checkbox', id: `wh-${type.replace('.', '-')}`, value: type, checked: chosen.has(type) }),
      h('label', { for: `wh-${type.replace('.', '-')}` }, words, ' ', h('code', { class: 'muted', text: type })))));
    $('#webhook-url').value = set ? hook.url || '' : '';
    $('#webhook-save').textContent = set ? 'Save changes' : 'Save webhook';
    if (set) loadDeliveries();
  }

  function showSecret(secret) {
    if (!secret) return;
    $('#webhook-secret-value').textContent = secret;
    $('#webhook-secret').hidden = false;
    $('#webhook-secret-dismiss').focus();
  }

  async function loadDeliveries() {
    clearTimeout(deliveriesTimer);
    let r;
    try {
      r = await api('GET', '/api/v1/integrations/webhook/deliveries?limit=10');
    } catch (err) {
      if (err.status !== 404) showError($('#webhook-error'), err);
      return;
    }
    const list = $('#delivery-list');
    list.replaceChildren(...r.items.map((d) => {
      const last = d.attempts && d.attempts.length ? d.attempts[d.attempts.length - 1] : null;
      const tries = d.attempts ? d.attempts.length : 0;
      let detail = tries ? `${tries} attempt${tries === 1 ? '' : 's'}` : 'not sent yet';
      if (last) detail += last.status ? `, last answered HTTP ${last.status}` : last.error ? `, last: ${last.error}` : '';
      if (d.status === 'pending' && d.next_attempt_at) detail += ` \u00b7 next try ${fmt.time(d.next_attempt_at)}`;
      const badge = h('span');
      setBadge(badge, d.status);
      const item = h('li', { id: `delivery-${d.id}` },
        h('span', {}, h('code', { text: d.type }), ' ', h('span', { class: 'muted', text: fmt.time(d.created_at) })),
        badge,
        h('p', { class: 'muted', text: detail }));
      if (d.status !== 'pending') {
        const again = h('button', { type: 'button', class: 'secondary small', text: 'Redeliver', 'aria-label': `Redeliver the ${d.type} event of ${fmt.time(d.created_at)}` });
        again.addEventListener('click', () => busy(again, async () => {
          try {
            await api('POST', `/api/v1/integrations/webhook/deliveries/${encodeURIComponent(d.id)}/redeliver`);
            flash(`The ${d.type} event is on its way again.`);
            await loadDeliveries();
          } catch (err) { showError($('#webhook-error'), err); }
        }));
        item.append(again);
      }
      return item;
    }));
    $('#delivery-empty').hidden = r.items.length > 0;
    // Watch deliveries that are about to be tried; later retries are hours apart.
    const soon = r.items.some((d) => d.status === 'pending' && (!d.next_attempt_at || Date.parse(d.next_attempt_at) - Date.now() < 15000));
    if (soon && state.account) deliveriesTimer = setTimeout(loadDeliveries, 2000);
  }

  function setupWebhook() {
    $('#webhook-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const box = $('#webhook-error');
      showError(box, null);
      const url = $('#webhook-url').value.trim();
      const events = $$('#webhook-events input:checked').map((i) => i.value);
      if (!url) { showError(box, 'enter the URL of your endpoint'); $('#webhook-url').focus(); return; }
      if (!events.length) { showError(box, 'choose at least one event'); return; }
      await busy($('#webhook-save'), async () => {
        try {
          const r = await api('PUT', '/api/v1/integrations/webhook', { url, events });
          await loadIntegrations();
          showSecret(r.secret);
          flash(r.secret ? 'Webhook saved. Copy its signing secret now: it is not shown again.' : 'Webhook saved.');
        } catch (err) { showError(box, err); }
      });
    });
    $('#webhook-secret-dismiss').addEventListener('click', () => {
      $('#webhook-secret').hidden = true;
      $('#webhook-secret-value').textContent = '';
    });
    $('#webhook-test').addEventListener('click', (e) => busy(e.currentTarget, async () => {
      try {
        await api('POST', '/api/v1/integrations/webhook/test');
        flash('Test event queued: see it under Recent deliveries.');
        await loadDeliveries();
      } catch (err) { showError($('#webhook-error'), err); }
    }));
    $('#webhook-rotate').addEventListener('click', async (e) => {
      const button = e.currentTarget;
      const yes = await confirmDialog('Rotate the signing secret?',
        'A new secret signs every message from now on. For 24 hours the old one signs too, so your endpoint can switch over.',
        'Rotate secret');
      if (!yes) { button.focus(); return; }
      await busy(button, async () => {
        try {
          const r = await api('POST', '/api/v1/integrations/webhook/rotate-secret');
          showSecret(r.secret);
          flash('New signing secret made: copy it now.');
        } catch (err) { showError($('#webhook-error'), err); }
      });
    });
    $('#webhook-delete').addEventListener('click', async (e) => {
      const button = e.currentTarget;
      const yes = await confirmDialog('Remove the webhook?', 'No more messages go to your endpoint. You can set a webhook again any time.', 'Remove webhook');
      if (!yes) { button.focus(); return; }
      await busy(button, async () => {
        try {
          await api('DELETE', '/api/v1/integrations/webhook');
          clearTimeout(deliveriesTimer);
          await loadIntegrations();
          flash('The webhook is removed.');
          $('#webhook-url').focus();
        } catch (err) { showError($('#webhook-error'), err); }
      });
    });
    $('#deliveries-refresh').addEventListener('click', (e) => busy(e.currentTarget, loadDeliveries));
  }

  // -- sync jobs -------------------------------------------------------------

  const active = (j) => j.status === 'PENDING' || j.status === 'RUNNING';
  const manual = (j) => j.provider !== 'mailchimp';
  /** Worth polling for: a hand-off waits for the creator, not for the server. */
  const moving = (j) => active(j) && !(manual(j) && j.status === 'PENDING');

  const phase = (st) => (st === 'PENDING' ? 0 : st === 'RUNNING' ? 1 : 2);
  /** Is `b` as far along as `a`? A job only moves forward within an attempt
   * (a retry starts the next one), so an older copy (a list read before a live
   * event, an action's answer after one) can be told apart and dropped. */
  function asFar(a, b) {
    if ((b.attempt || 0) !== (a.attempt || 0)) return (b.attempt || 0) > (a.attempt || 0);
    if (phase(b.status) !== phase(a.status)) return phase(b.status) > phase(a.status);
    return ((b.progress || {}).processed || 0) >= ((a.progress || {}).processed || 0);
  }

  function upsertJob(job) {
    const old = state.jobs.get(job.id);
    if (old && !asFar(old, job)) return;
    state.jobs.set(job.id, job);
    if (old && old.status !== job.status) {
      state.cancelling.delete(job.id);
      // Screen readers hear a job change state (the list itself only announces new jobs).
      const name = providers[job.provider] || job.provider;
      const words = { RUNNING: 'is running', COMPLETED: 'completed', FAILED: 'failed', CANCELLED: 'was cancelled', PENDING: 'is queued' };
      $('#jobs-announce').textContent = `The ${name} sync of ${scopeText(job)} ${words[job.status] || job.status}.`;
    }
    // Progress samples for the rate and the time left.
    const now = performance.now();
    let samples = state.samples.get(job.id) || [];
    const processed = job.progress ? job.progress.processed : 0;
    if (job.status !== 'RUNNING') samples = [];
    else if (!samples.length || samples[samples.length - 1].p !== processed) samples.push({ t: now, p: processed });
    while (samples.length > 2 && now - samples[0].t > 60000) samples.shift();
    state.samples.set(job.id, samples);
  }

  function jobRate(job) {
    const samples = state.samples.get(job.id) || [];
    if (samples.length >= 2) {
      const a = samples[0], b = samples[samples.length - 1];
      const dt = (b.t - a.t) / 1000;
      if (dt > 0.5 && b.p > a.p) return (b.p - a.p) / dt;
    }
    if (job.started_at && job.progress.processed > 0) {
      const end = job.finished_at ? Date.parse(job.finished_at) : Date.now();
      const dt = (end - Date.parse(job.started_at)) / 1000;
      if (dt > 0.5) return job.progress.processed / dt;
    }
    return 0;
  }

  function scopeText(job) {
    if (job.scope && job.scope.type === 'campaign') return `campaign \u201c${campaignName(job.scope.campaign_id)}\u201d`;
    return 'all subscribers';
  }

  function jobElement(id) {
    let li = document.getElementById(`job-${id}`);
    if (li) return li;
    li = h('li', { class: 'job', id: `job-${id}`, dataset: { id } },
      h('div', { class: 'job-head' },
        h('span', { class: 'job-title' }),
        h('span', { class: 'badge job-status' }),
        h('span', { class: 'job-scope muted' })),
      h('progress', { max: 1, value: 0 }),
      h('p', { class: 'job-counts' }),
      h('p', { class: 'job-rate' }),
      h('ul', { class: 'job-notes' }),
      h('p', { class: 'job-error', role: 'alert' }),
      h('p', { class: 'job-times' }),
      h('div', { class: 'job-actions' },
        h('button', { type: 'button', class: 'secondary job-cancel', text: 'Cancel' }),
        h('button', { type: 'button', class: 'job-retry', text: 'Retry' }),
        h('a', { class: 'button secondary job-file', text: 'Download hand-off file' }),
        h('button', { type: 'button', class: 'secondary job-complete', text: 'Mark as imported' })));
    const idAttr = `job-${id}-title`;
    $('.job-title', li).id = idAttr;
    $('progress', li).setAttribute('aria-labelledby', idAttr);
    $('.job-cancel', li).addEventListener('click', (e) => jobAction(e.currentTarget, id, 'cancel'));
    $('.job-retry', li).addEventListener('click', (e) => jobAction(e.currentTarget, id, 'retry'));
    $('.job-complete', li).addEventListener('click', (e) => jobAction(e.currentTarget, id, 'complete'));
    return li;
  }

  function renderJob(job) {
    const li = jobElement(job.id);
    const p = job.progress || { total: 0, processed: 0, created: 0, updated: 0, skipped: 0 };
    const name = providers[job.provider] || job.provider;
    $('.job-title', li).textContent = manual(job) ? `${name} hand-off` : `${name} sync`;
    const badge = $('.job-status', li);
    badge.className = `badge job-status ${job.status}`;
    badge.textContent = state.cancelling.has(job.id) && active(job) ? `${job.status} \u00b7 cancelling` : job.status;
    $('.job-scope', li).textContent = `${scopeText(job)}${job.audience ? ` \u2192 audience \u201c${job.audience.name}\u201d` : ''}`;
    const bar = $('progress', li);
    bar.hidden = manual(job); // a hand-off is done by the creator, in one step
    if (job.status === 'PENDING' && !p.total) {
      bar.removeAttribute('value'); // indeterminate while waiting
    } else {
      bar.max = Math.max(1, p.total);
      bar.value = job.status === 'COMPLETED' ? bar.max : Math.min(p.processed, bar.max);
    }
    const pct = p.total ? Math.floor((100 * p.processed) / p.total) : job.status === 'COMPLETED' ? 100 : 0;
    bar.setAttribute('aria-valuetext', `${pct}%: ${p.processed} of ${p.total} contacts`);
    $('.job-counts', li).textContent = manual(job)
      ? `${fmt.num(p.total)} contact${p.total === 1 ? '' : 's'} in the file${p.skipped ? ` \u00b7 ${fmt.num(p.skipped)} left out` : ''}`
      : !job.started_at && !p.total
      ? (job.status === 'PENDING' ? 'Not started yet.' : 'It never started.')
      : `${fmt.num(p.processed)} of ${fmt.num(p.total)} contacts (${pct}%) \u00b7 ${fmt.num(p.created)} added \u00b7 ${fmt.num(p.updated)} updated \u00b7 ${fmt.num(p.skipped)} skipped`;
    const rate = jobRate(job);
    let rateText = '';
    if (job.status === 'RUNNING') {
      if (rate > 0) {
        const left = Math.max(0, p.total - p.processed) / rate;
        rateText = `${rate >= 10 ? fmt.num(Math.round(rate)) : rate.toFixed(1)} contacts/s \u00b7 about ${fmt.duration(left)} left`;
      } else rateText = 'Working out the rate\u2026';
    } else if (job.status === 'PENDING' && manual(job)) {
      rateText = `Download the file, import it in ${name}, then mark it imported.`;
    } else if (job.status === 'PENDING') {
      rateText = 'Waiting for its turn (one Mailchimp sync runs at a time per account).';
    } else if (job.started_at && job.finished_at && !manual(job)) {
      const took = (Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000;
      rateText = `Took ${fmt.duration(took)}${rate > 0 && took >= 1 ? ` (${rate >= 10 ? fmt.num(Math.round(rate)) : rate.toFixed(1)} contacts/s)` : ''}.`;
    }
    $('.job-rate', li).textContent = rateText;
    $('.job-rate', li).hidden = !rateText;
    const notes = $('.job-notes', li);
    const noteTexts = job.notes || [];
    if (notes.dataset.text !== JSON.stringify(noteTexts)) {
      notes.dataset.text = JSON.stringify(noteTexts);
      notes.replaceChildren(...noteTexts.map((n) => h('li', { text: n })));
    }
    notes.hidden = noteTexts.length === 0;
    const err = $('.job-error', li);
    err.textContent = job.error ? `${job.error.message} (${job.error.code})` : '';
    err.hidden = !job.error;
    const times = [`Queued ${fmt.time(job.created_at)}`];
    if (job.started_at) times.push(`started ${fmt.time(job.started_at)}`);
    if (job.finished_at) times.push(`finished ${fmt.time(job.finished_at)}`);
    if (job.attempt > 1) times.push(`attempt ${job.attempt}`);
    $('.job-times', li).textContent = times.join(', ');
    const isManual = manual(job);
    const cancel = $('.job-cancel', li);
    cancel.hidden = !active(job);
    cancel.disabled = state.cancelling.has(job.id);
    cancel.setAttribute('aria-label', `Cancel the ${name} sync queued ${fmt.time(job.created_at)}`);
    const retry = $('.job-retry', li);
    retry.hidden = !(job.status === 'FAILED' || job.status === 'CANCELLED');
    retry.setAttribute('aria-label', `Retry the ${name} sync queued ${fmt.time(job.created_at)}`);
    const file = $('.job-file', li);
    file.hidden = !(isManual && job.status === 'PENDING');
    if (!file.hidden) {
      file.href = `/api/v1/sync-jobs/${encodeURIComponent(job.id)}/file.csv`;
      file.setAttribute('download', '');
    }
    const complete = $('.job-complete', li);
    complete.hidden = !(isManual && job.status === 'PENDING');
    complete.setAttribute('aria-label', `Mark the ${name} hand-off queued ${fmt.time(job.created_at)} as imported`);
    return li;
  }

  function renderJobs() {
    const list = $('#job-list');
    const jobs = [...state.jobs.values()].sort((a, b) => (b.created_at || '').localeCompare(a.created_at || '') || b.id.localeCompare(a.id));
    jobs.forEach((job, i) => {
      const li = renderJob(job);
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] || null);
    });
    while (list.children.length > jobs.length) list.lastElementChild.remove();
    $('#jobs-empty').hidden = jobs.length > 0;
    $('#jobs-more').hidden = !state.jobsNext;
    updateJobsMode();
  }

  function updateJobsMode() {
    const mode = $('#jobs-mode');
    mode.classList.toggle('live-dot', state.live);
    if (state.live) mode.textContent = 'Live';
    else if ([...state.jobs.values()].some(moving)) mode.textContent = 'Refreshing every 3 s while a job is queued or running';
    else mode.textContent = state.lastRefresh ? `Updated ${fmt.clock(state.lastRefresh)}` : '';
  }

  /** Reloads the jobs list; then polls again in 3 s while any job is PENDING or
   * RUNNING and no live events arrive. */
  let refreshing = null;
  let refreshAgain = false;
  async function refreshJobs() {
    if (!state.account) return;
    if (refreshing) { refreshAgain = true; return refreshing; }
    clearTimeout(state.pollTimer);
    state.pollTimer = 0;
    refreshing = (async () => {
      const box = $('#jobs-error');
      try {
        const limit = Math.max(state.jobsLimit, 20);
        const r = await api('GET', `/api/v1/sync-jobs?limit=${limit}`);
        showError(box, null);
        const seen = new Set(r.items.map((j) => j.id));
        for (const id of [...state.jobs.keys()]) if (!seen.has(id)) { state.jobs.delete(id); state.samples.delete(id); }
        for (const j of r.items) upsertJob(j);
        state.jobsNext = r.next_cursor;
        state.lastRefresh = new Date();
        renderJobs();
      } catch (err) {
        if (state.account) showError(box, err);
      } finally {
        refreshing = null;
        if (refreshAgain) { refreshAgain = false; refreshJobs(); } else schedulePoll();
      }
    })();
    return refreshing;
  }

  function schedulePoll() {
    clearTimeout(state.pollTimer);
    state.pollTimer = 0;
    if (state.account && !state.live && [...state.jobs.values()].some(moving)) {
      state.pollTimer = setTimeout(refreshJobs, 3000);
    }
    updateJobsMode();
  }

  async function jobAction(button, id, action) {
    const box = $('#jobs-error');
    await busy(button, async () => {
      try {
        const job = await api('POST', `/api/v1/sync-jobs/${encodeURIComponent(id)}/${action}`);
        showError(box, null);
        if (action === 'cancel' && active(job)) state.cancelling.add(id);
        upsertJob(job);
        renderJobs();
        const name = providers[job.provider] || job.provider;
        flash(action === 'cancel' ? (active(job) ? `Cancelling the ${name} sync: batches already sent finish first.` : `${name} sync cancelled.`)
          : action === 'retry' ? `${name} ${manual(job) ? 'hand-off' : 'sync'} queued again (attempt ${job.attempt}).` : `${name} hand-off marked as imported.`);
        await refreshJobs();
      } catch (err) {
        showError(box, err);
        await refreshJobs();
      }
    });
    // Keep keyboard focus in the job after its buttons change.
    const li = document.getElementById(`job-${id}`);
    if (li && button.hidden) {
      const next = $$('button, a.button', li).find((b) => !b.hidden && !b.disabled);
      if (next) next.focus();
    }
  }

  function setupJobs() {
    $('#jobs-refresh').addEventListener('click', (e) => busy(e.currentTarget, refreshJobs));
    $('#jobs-more').addEventListener('click', async (e) => {
      state.jobsLimit = Math.min(500, state.jobs.size + 20);
      await busy(e.currentTarget, refreshJobs);
    });
  }

  // -- live events -----------------------------------------------------------

  /** The account's events over a websocket; while it is open, job changes come
   * from it and polling stops. When it cannot open (or closes), polling takes
   * over and a new try follows later, backing off to a minute. */
  function connectEvents() {
    clearTimeout(state.wsTimer);
    if (!state.account || state.ws || typeof WebSocket !== 'function') return;
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/v1/events`;
    let ws;
    try { ws = new WebSocket(url); } catch (e) { retryEvents(); return; }
    state.ws = ws;
    ws.onopen = () => {
      state.live = true;
      state.wsRetry = 0;
      clearTimeout(state.pollTimer);
      refreshJobs(); // what changed before the socket opened
    };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m && m.type === 'job.updated' && m.job && m.job.id) {
        upsertJob(m.job);
        renderJobs();
      } else if (m && typeof m.type === 'string' && m.type.startsWith('subscriber.')) {
        subscribersChanged();
      }
    };
    ws.onerror = () => { /* onclose follows */ };
    ws.onclose = () => {
      const wasLive = state.live;
      state.ws = null;
      state.live = false;
      if (!state.account) return;
      // A failed try must not push back a poll already due.
      if (wasLive) refreshJobs(); else if (!state.pollTimer && !refreshing) schedulePoll();
      retryEvents();
    };
  }

  /** New signups show up while the first page of subscribers is on screen. */
  let subscribersTimer = 0;
  function subscribersChanged() {
    if ($('#panel-subscribers').hidden || state.sub.index !== 0 || subscribersTimer) return;
    subscribersTimer = setTimeout(() => {
      subscribersTimer = 0;
      if (!state.account || $('#panel-subscribers').hidden || state.sub.index !== 0) return;
      loadSubscribers();
      loadChart();
    }, 1000);
  }

  function retryEvents() {
    const delay = Math.min(60000, 2000 * 2 ** state.wsRetry);
    state.wsRetry = Math.min(state.wsRetry + 1, 10);
    state.wsTimer = setTimeout(connectEvents, delay);
  }

  // -- start -----------------------------------------------------------------

  async function boot() {
    setupTabs();
    setupAuth();
    setupCampaigns();
    setupSubscribers();
    setupIntegrations();
    setupWebhook();
    setupJobs();
    // The connect outcome is in the page already; drop it from the address so
    // a reload does not show it again.
    if (new URLSearchParams(location.search).has('mailchimp')) {
      history.replaceState(null, '', `${location.pathname}#integrations`);
    }
    try {
      const me = await api('GET', '/api/v1/me');
      await signedIn(me.account, me.csrf_token);
    } catch (err) {
      if (err.status === 401) signedOut('');
      else {
        $('#loading').textContent = `The dashboard could not load: ${err.message}. Reload to try again.`;
      }
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
