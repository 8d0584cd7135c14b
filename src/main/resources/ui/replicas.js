// Replicas: the registry of gateway replicas, GET /v1/admin/fleet every 5 s (etcd store only).

import {call, poll} from './api.js';
import {h, showError} from './dom.js';
import {age, number, when} from './stats.js';

const PERIOD_MS = 5000;

function row(replica) {
  const lagging = replica.lag > 0;
  return h('tr', {'data-replica': replica.id, class: replica.state !== 'serving' || lagging ? 'trouble' : null},
      h('th', {scope: 'row'}, replica.id, replica.self ? h('span', {class: 'badge'}, 'this replica') : null),
      h('td', {class: replica.state === 'serving' ? 'ok' : 'warn'}, replica.state),
      h('td', {}, replica.version || '–'),
      h('td', {class: 'num'}, number(replica.appliedRevision)),
      h('td', {class: `num ${lagging ? 'warn' : ''}`}, lagging ? `${number(replica.lag)} behind` : '0'),
      h('td', {}, age(replica.ageSeconds), h('span', {class: 'muted'}, ` (since ${when(replica.startedAt)})`)),
      h('td', {}, h('code', {}, replica.managementAddress || '–')));
}

export function mount(container) {
  const error = h('p', {class: 'error', role: 'alert', hidden: true});
  const noRegistry = h('p', {class: 'notice warn', role: 'status', hidden: true});
  const summary = h('p', {class: 'summary'});
  const rows = h('tbody');
  const table = h('table', {id: 'replicas-table', hidden: true},
      h('caption', {class: 'visually-hidden'}, 'Gateway replicas'),
      h('thead', {}, h('tr', {}, ...['Replica', 'State', 'Version', 'Applied revision', 'Lag', 'Age',
        'Management address'].map((t) => h('th', {scope: 'col'}, t)))),
      rows);
  container.append(h('h1', {tabindex: '-1'}, 'Replicas'),
      h('p', {class: 'lede'}, 'Every gateway replica registered in etcd, and how far each has applied the policy; '
          + 'refreshed every 5 seconds.'),
      error, noRegistry, summary, table);
  return poll(async () => {
    try {
      const fleet = await call('GET', '/v1/admin/fleet');
      showError(error, '');
      noRegistry.hidden = true;
      const replicas = fleet.replicas || [];
      summary.textContent = `${replicas.length} replica(s); store revision ${number(fleet.storeRevision)}, `
          + `newest policy change ${number(fleet.policyRevision)}.`;
      rows.replaceChildren(...replicas.map(row));
      table.hidden = false;
    } catch (e) {
      table.hidden = true;
      summary.textContent = '';
      if (e.code === 'registry_needs_etcd') { // not a failure: this gateway has no registry
        noRegistry.textContent = e.message || 'The replica registry needs the etcd store.';
        noRegistry.hidden = false;
      } else {
        showError(error, `Could not read the registry: ${e.describe()}`);
      }
    }
  }, PERIOD_MS);
}
