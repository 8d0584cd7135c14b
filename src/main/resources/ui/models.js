// Models & backends: GET /v1/status/policy every 2 s; per model its routing, per backend its health, routing
// state and load. Trouble is said in words (and marked), never by colour alone.

import {call, poll} from './api.js';
import {h, showError} from './dom.js';
import {age, number, percent, when} from './stats.js';

const PERIOD_MS = 2000;

function healthCell(backend) {
  return backend.healthy
    ? h('td', {class: 'health ok'}, h('span', {'aria-hidden': 'true'}, '● '), 'healthy')
    : h('td', {class: 'health bad'}, h('span', {'aria-hidden': 'true'}, '✖ '), 'unhealthy');
}

function stateCell(load) {
  if (!load) {
    return h('td', {class: 'muted'}, 'not seen yet');
  }
  if (load.state === 'ejected') {
    const left = load.ejectedForMs ? ` (${age(load.ejectedForMs / 1000)} left)` : '';
    return h('td', {class: 'state bad'}, h('span', {'aria-hidden': 'true'}, '⏸ '), `ejected${left}`);
  }
  if (load.state === 'half-open') {
    return h('td', {class: 'state warn'}, h('span', {'aria-hidden': 'true'}, '◐ '), 'half-open');
  }
  return h('td', {class: 'state'}, load.state);
}

function backendRow(backend) {
  const load = backend.load;
  const has = (field) => load && load[field] !== undefined;
  const trouble = !backend.healthy || (load && load.state !== 'serving');
  return h('tr', {class: trouble ? 'trouble' : null, 'data-backend': backend.url},
      h('th', {scope: 'row'}, h('code', {}, backend.url),
          backend.weight !== undefined && backend.weight !== 1
            ? h('span', {class: 'muted'}, ` weight ${backend.weight}`) : null),
      healthCell(backend),
      stateCell(load),
      h('td', {class: 'num'}, load ? number(load.inFlight) : '–'),
      h('td', {class: 'num'}, has('running') ? `${number(load.running)} / ${number(load.waiting)}` : '–'),
      h('td', {class: 'num'}, has('kvCacheUsage') ? percent(load.kvCacheUsage) : '–'),
      h('td', {class: 'num'}, has('prefixCacheHitRatio') ? percent(load.prefixCacheHitRatio) : '–'),
      h('td', {class: load && load.metricsProblem ? 'problem warn' : 'muted'},
          load && load.metricsProblem ? `scrape failed: ${load.metricsProblem}`
            : has('scrapedAgoMs') ? `${age(load.scrapedAgoMs / 1000)} ago` : '–'),
      h('td', {class: 'num'}, load ? number(load.ejections) : '–'));
}

function modelSection(name, model) {
  const routing = model.routing || {};
  const facts = [`routing: ${routing.strategy || '–'}`];
  if (model.upstreamModel) {
    facts.push(`upstream model: ${model.upstreamModel}`);
  }
  if (model.aliases) {
    facts.push(`aliases: ${model.aliases.join(', ')}`);
  }
  if (model.fallbacks) {
    facts.push(`fallbacks: ${model.fallbacks.join(' → ')}`);
  }
  const backends = model.backends || [];
  const unhealthy = backends.filter((b) => !b.healthy).length;
  const headingId = `model-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  return h('section', {class: 'model', 'aria-labelledby': headingId, 'data-model': name},
      h('h2', {id: headingId}, name,
          unhealthy ? h('span', {class: 'badge bad'}, `${unhealthy} of ${backends.length} unhealthy`)
            : h('span', {class: 'badge ok'}, `${backends.length} healthy`)),
      h('p', {class: 'facts'}, facts.join(' · ')),
      h('table', {},
          h('caption', {class: 'visually-hidden'}, `Backends of ${name}`),
          h('thead', {}, h('tr', {},
              ...['Backend', 'Health', 'State', 'In flight', 'Running / waiting', 'KV cache', 'Prefix hits',
                'Load scraped', 'Ejections'].map((title) => h('th', {scope: 'col'}, title)))),
          h('tbody', {}, ...backends.map(backendRow))));
}

function storeLine(status) {
  const parts = [`store: ${status.store}${status.connected === false ? ' (not connected)' : ''}`];
  if (status.source) {
    parts.push(`source: ${status.source}`, `revision ${status.revision}`, `updated ${when(status.updatedAt)}`,
        `${status.keys} keys`);
  }
  if (status.detail) {
    parts.push(status.detail);
  }
  return parts.join(' · ');
}

export function mount(container) {
  const error = h('p', {class: 'error', role: 'alert', hidden: true});
  const store = h('p', {class: 'summary'});
  const rejected = h('div');
  const models = h('div', {class: 'models'});
  container.append(h('h1', {tabindex: '-1'}, 'Models & backends'),
      h('p', {class: 'lede'}, 'The policy in force and what routing knows of each backend, refreshed every 2 seconds.'),
      error, store, rejected, models);
  return poll(async () => {
    try {
      const status = await call('GET', '/v1/status/policy');
      showError(error, '');
      store.textContent = storeLine(status);
      const bad = Object.entries(status.rejected || {});
      rejected.replaceChildren(...(bad.length ? [h('div', {class: 'notice warn'},
          h('p', {}, `${bad.length} document(s) rejected by validation (the rest is served):`),
          h('ul', {}, ...bad.map(([doc, why]) => h('li', {}, h('code', {}, doc), `: ${why}`))))] : []));
      const entries = Object.entries(status.models || {});
      models.replaceChildren(...(entries.length ? entries.map(([name, model]) => modelSection(name, model))
        : [h('p', {class: 'muted'}, status.source === null ? 'No policy loaded yet.' : 'No models in the policy.')]));
    } catch (e) {
      showError(error, `Could not read the policy status: ${e.describe()}`);
    }
  }, PERIOD_MS);
}
