// Keys: GET /v1/admin/keys (never key material: names, hash prefixes, models, limits, usage); create, disable and
// enable, rotate, revoke, each change behind the confirmation dialog. A new key is shown once, here, and nowhere
// else; the store keeps only its hash.

import {call} from './api.js';
import {confirmChange} from './dialog.js';
import {h, showError} from './dom.js';
import {number, when} from './stats.js';

const LIMITS = [
  {field: 'rpm', label: 'Requests per minute', short: 'rpm'},
  {field: 'tpm', label: 'Tokens per minute', short: 'tpm'},
  {field: 'maxParallel', label: 'Max parallel requests', short: 'parallel'},
  {field: 'tokensPerDay', label: 'Tokens per day', short: 'tokens/day'},
];
const HASH_PREFIX = 12;
const MAX_GRACE_SECONDS = 2592000;

function keyPath(key, action) {
  const base = `/v1/admin/keys/${encodeURIComponent(key.name)}${action ? `/${action}` : ''}`;
  return key.hash ? `${base}?hash=${key.hash.slice(0, HASH_PREFIX)}` : base;
}

function describeKey(key) {
  return key.hash ? `${key.name} (${key.hash.slice(0, HASH_PREFIX)}…)` : key.name;
}

function status(key) {
  if (key.invalid) {
    return {text: `invalid: ${key.invalid}`, tone: 'bad'};
  }
  if (key.disabled) {
    return {text: 'disabled', tone: 'bad'};
  }
  if (key.expiresAt && new Date(key.expiresAt).getTime() <= Date.now()) {
    return {text: 'expired', tone: 'bad'};
  }
  return {text: key.expiresAt ? 'enabled, expires' : 'enabled', tone: 'ok'};
}

function limitsText(limits) {
  const set = LIMITS.filter((l) => limits && limits[l.field]);
  return set.length ? set.map((l) => `${number(limits[l.field])} ${l.short}`).join(' · ') : 'none';
}

function numberField(id, label, attrs = {}) {
  return h('div', {class: 'field'},
      h('label', {for: id}, label),
      h('input', {id, name: id, type: 'number', min: 1, step: 1, inputmode: 'numeric', ...attrs}));
}

/** The create form's body, or throws an Error naming what is wrong. */
function createBody(form) {
  const value = (id) => form.querySelector(`#${id}`).value.trim();
  const body = {name: value('key-name'), models: value('key-models').split(',').map((m) => m.trim()).filter(Boolean)};
  if (!body.name) {
    throw new Error('Give the key a name.');
  }
  if (!body.models.length) {
    throw new Error('List the models the key may use (comma-separated, or * for all).');
  }
  const limits = {};
  for (const l of LIMITS) {
    const v = value(`key-${l.field}`);
    if (v) {
      limits[l.field] = Number(v);
    }
  }
  if (Object.keys(limits).length) {
    body.limits = limits;
  }
  const expires = value('key-expires');
  if (expires) {
    body.expiresAt = new Date(expires).toISOString();
  }
  return body;
}

export function mount(container) {
  const error = h('p', {class: 'error', role: 'alert', hidden: true});
  const notice = h('p', {class: 'notice ok', role: 'status', tabindex: '-1', hidden: true});
  const secret = h('section', {id: 'new-key', class: 'secret', 'aria-labelledby': 'new-key-title', hidden: true});
  const rows = h('tbody');
  const count = h('p', {class: 'summary'});
  let stopped = false;

  const fail = (what, e) => showError(error, `${what}: ${e.describe ? e.describe() : e.message}`);
  const done = (text) => {
    showError(error, '');
    notice.textContent = text;
    notice.hidden = false;
    if (secret.hidden) {
      notice.focus();
    }
  };

  const showSecret = (title, key, note) => {
    const value = h('code', {id: 'new-key-value', class: 'key-value'}, key);
    const copied = h('span', {class: 'muted', role: 'status'});
    secret.replaceChildren(
        h('h2', {id: 'new-key-title'}, title),
        h('p', {}, 'Copy it now: it is shown this once and never stored (the gateway keeps only its hash). ', note),
        h('p', {class: 'key-line'}, value,
            h('button', {type: 'button', id: 'new-key-copy', onclick: async () => {
              try {
                await navigator.clipboard.writeText(key);
                copied.textContent = 'Copied.';
              } catch (e) {
                getSelection().selectAllChildren(value);
                copied.textContent = 'Selected: press Ctrl+C to copy.';
              }
            }}, 'Copy'),
            copied),
        h('button', {type: 'button', class: 'secondary', id: 'new-key-done', onclick: () => {
          secret.replaceChildren();
          secret.hidden = true;
        }}, 'Done: hide the key'));
    secret.hidden = false;
    secret.querySelector('#new-key-copy').focus();
  };

  const load = async () => {
    try {
      const list = await call('GET', '/v1/admin/keys');
      if (stopped) {
        return;
      }
      const keys = list.data || [];
      count.textContent = `${keys.length} key record(s). Usage is this replica's over the last 24 hours, per key name.`;
      rows.replaceChildren(...(keys.length ? keys.map(row)
        : [h('tr', {}, h('td', {colspan: 9, class: 'muted'}, 'No keys yet.'))]));
    } catch (e) {
      fail('Could not list the keys', e);
    }
  };

  const change = async (key, {title, text, action, danger, fields, run, message}) => {
    const values = await confirmChange({title, text, action, danger, fields});
    if (!values) {
      return;
    }
    try {
      const answer = await run(values);
      await load(); // the notice comes once the table shows the change
      done(message(answer));
    } catch (e) {
      fail(`${action} ${describeKey(key)} failed`, e);
    }
  };

  const toggle = (key) => {
    const enable = key.disabled;
    return change(key, {
      title: `${enable ? 'Enable' : 'Disable'} key ${key.name}?`,
      text: enable ? `Requests with ${describeKey(key)} are served again.`
        : `Requests with ${describeKey(key)} get 401 until it is enabled again.`,
      action: enable ? 'Enable' : 'Disable', danger: !enable,
      run: () => call('POST', keyPath(key, enable ? 'enable' : 'disable')),
      message: (a) => `Key ${describeKey(key)} ${enable ? 'enabled' : 'disabled'} (revision ${a.revision}).`,
    });
  };

  const rotate = (key) => change(key, {
    title: `Rotate key ${key.name}?`,
    text: `A new key replaces ${describeKey(key)}; the old one keeps working for the grace period, then gets 401.`,
    action: 'Rotate',
    fields: [h('label', {for: 'grace'}, 'Grace period for the old key, in seconds (0 to 2592000)'),
      h('input', {id: 'grace', name: 'gracePeriodSeconds', type: 'number', min: 0, max: MAX_GRACE_SECONDS,
        step: 1, value: 3600, required: true})],
    run: async (values) => {
      const body = {gracePeriodSeconds: Number(values.gracePeriodSeconds)};
      const answer = await call('POST', keyPath(key, 'rotate'), body);
      const until = (answer.previous || []).map((p) => p.expiresAt).filter(Boolean).sort()[0];
      showSecret(`New key for ${answer.name}`, answer.key, until ? `The old key works until ${when(until)}.` : '');
      return answer;
    },
    message: (a) => `Key ${key.name} rotated (revision ${a.revision}).`,
  });

  const revoke = (key) => change(key, {
    title: `Revoke key ${key.name}?`,
    text: `${describeKey(key)} is deleted from the store: requests with it get 401. This cannot be undone.`,
    action: 'Revoke', danger: true,
    run: () => call('DELETE', keyPath(key)),
    message: (a) => `Key ${describeKey(key)} revoked (${a.deleted} record(s) deleted, revision ${a.revision}).`,
  });

  function row(key) {
    const st = status(key);
    const usage = key.usage || {};
    const label = describeKey(key);
    return h('tr', {'data-key-name': key.name, 'data-key-hash': key.hash ? key.hash.slice(0, HASH_PREFIX) : ''},
        h('th', {scope: 'row'}, key.name),
        h('td', {}, h('code', {}, key.hash ? `${key.hash.slice(0, HASH_PREFIX)}…` : '–')),
        h('td', {}, (key.models || []).join(', ') || '–'),
        h('td', {}, limitsText(key.limits)),
        h('td', {class: `key-status ${st.tone}`}, st.text,
            key.expiresAt ? h('span', {class: 'muted'}, ` ${when(key.expiresAt)}`) : null),
        h('td', {class: 'num'}, number(usage.requests || 0),
            usage.limited ? h('span', {class: 'warn'}, ` (${number(usage.limited)} limited)`) : null),
        h('td', {class: 'num'}, `${number(usage.inputTokens || 0)} / ${number(usage.outputTokens || 0)}`),
        h('td', {}, when(usage.lastUsedAt)),
        h('td', {class: 'actions'},
            h('button', {type: 'button', class: 'small action-toggle',
              'aria-label': `${key.disabled ? 'Enable' : 'Disable'} ${label}`,
              onclick: () => toggle(key)}, key.disabled ? 'Enable' : 'Disable'),
            h('button', {type: 'button', class: 'small secondary action-rotate', 'aria-label': `Rotate ${label}`,
              onclick: () => rotate(key)}, 'Rotate'),
            h('button', {type: 'button', class: 'small danger action-revoke', 'aria-label': `Revoke ${label}`,
              onclick: () => revoke(key)}, 'Revoke')));
  }

  const form = h('form', {id: 'create-key', class: 'create', novalidate: true},
      h('fieldset', {},
          h('legend', {}, 'Create a key'),
          h('div', {class: 'field'}, h('label', {for: 'key-name'}, 'Name'),
              h('input', {id: 'key-name', name: 'key-name', required: true, autocomplete: 'off',
                placeholder: 'team-a'})),
          h('div', {class: 'field wide'}, h('label', {for: 'key-models'}, 'Models (comma-separated, * for all)'),
              h('input', {id: 'key-models', name: 'key-models', required: true, autocomplete: 'off',
                placeholder: 'llama-3.1-8b, bge-small'})),
          ...LIMITS.map((l) => numberField(`key-${l.field}`, `${l.label} (optional)`)),
          h('div', {class: 'field'}, h('label', {for: 'key-expires'}, 'Expires (local time, optional)'),
              h('input', {id: 'key-expires', name: 'key-expires', type: 'datetime-local'})),
          h('div', {class: 'field submit'}, h('button', {type: 'submit', id: 'key-create'}, 'Create key'))));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let body;
    try {
      body = createBody(form);
    } catch (e) {
      fail('Cannot create the key', e);
      return;
    }
    try {
      const answer = await call('POST', '/v1/admin/keys', body);
      form.reset();
      showSecret(`New key for ${answer.name}`, answer.key, '');
      notice.textContent = `Key ${describeKey(answer)} created (revision ${answer.revision}).`;
      notice.hidden = false;
      showError(error, '');
      await load();
    } catch (e) {
      fail('Creating the key failed', e);
    }
  });

  container.append(
      h('h1', {tabindex: '-1'}, 'Keys'),
      h('p', {class: 'lede'}, 'API keys in the store: only their hashes are kept. Every change asks for confirmation.'),
      error, notice, secret,
      h('div', {class: 'toolbar'}, count,
          h('button', {type: 'button', class: 'secondary small', id: 'keys-refresh', onclick: load}, 'Refresh')),
      h('table', {id: 'keys-table'},
          h('caption', {class: 'visually-hidden'}, 'API keys'),
          h('thead', {}, h('tr', {}, ...['Name', 'Hash', 'Models', 'Limits', 'Status', 'Requests', 'Tokens in / out',
            'Last used', 'Actions'].map((t) => h('th', {scope: 'col'}, t)))),
          rows),
      form);
  load();
  return () => {
    stopped = true;
  };
}
