// Overview: the live figures of GET /v1/admin/stats, read every 2 s while signed in (also while another page is
// shown, so that the charts have no holes), each with a chart of the last 5 minutes.

import {call, poll} from './api.js';
import {lineChart} from './chart.js';
import {h, showError} from './dom.js';
import {millis, number, plotted, sample} from './stats.js';

const PERIOD_MS = 2000;
const WINDOW_MS = 5 * 60 * 1000;

const FIGURES = [
  {key: 'requests', title: 'Requests/s', format: number,
    detail: () => 'answered per second'},
  {key: 'errors', title: 'Errors/s', format: number,
    detail: (x) => `5xx per second; 4xx: ${number(x.clientErrors)}/s`},
  {key: 'tokens', title: 'Tokens/s', format: number,
    detail: (x) => `in ${number(x.inputTokens)}/s, out ${number(x.outputTokens)}/s`},
  {key: 'ttftP50', title: 'TTFT p50', format: millis,
    detail: () => 'time to first token, median'},
  {key: 'ttftP99', title: 'TTFT p99', format: millis,
    detail: () => 'time to first token, 99th percentile'},
  {key: 'inFlight', title: 'In flight', format: number,
    detail: (x) => `requests being handled; open streams: ${number(x.openStreams)}`},
];

const samples = [];
const listeners = new Set();
let previous = null;
let reading = null;
let problem = null;
let stopPolling = null;

async function read() {
  try {
    const current = await call('GET', '/v1/admin/stats');
    const next = previous ? sample(previous, current) : null;
    if (next) {
      samples.push(next);
    }
    previous = current;
    reading = current;
    problem = null;
    while (samples.length && samples[0].at < current.at - WINDOW_MS) {
      samples.shift();
    }
  } catch (e) {
    problem = e;
  }
  listeners.forEach((render) => render());
}

/** Starts reading the figures (once signed in). */
export function startSampling() {
  if (!stopPolling) {
    stopPolling = poll(read, PERIOD_MS);
  }
}

/** Stops reading and forgets what was read (on sign-out). */
export function stopSampling() {
  if (stopPolling) {
    stopPolling();
    stopPolling = null;
  }
  samples.length = 0;
  previous = null;
  reading = null;
  problem = null;
}

/** A figure's card, made once; update() shows the latest sample and redraws the chart. */
function card(figure) {
  const value = h('p', {class: 'figure'}, '–');
  const detail = h('p', {class: 'detail'}, 'collecting the first readings…');
  const chart = h('div');
  const element = h('section', {class: 'card', 'aria-labelledby': `fig-${figure.key}`, 'data-figure': figure.key},
      h('h2', {id: `fig-${figure.key}`}, figure.title), value, detail, chart);
  const update = (latest, now) => {
    if (latest) {
      value.textContent = figure.format(latest[figure.key]);
      detail.textContent = figure.detail(latest);
    }
    const points = samples.map((x) => ({at: x.at, value: plotted(x[figure.key])}));
    chart.replaceChildren(lineChart({points, now, windowMs: WINDOW_MS, gapMs: 3 * PERIOD_MS, label: figure.title,
      format: figure.format}));
  };
  return {element, update};
}

export function mount(container) {
  const error = h('p', {class: 'error', role: 'alert', hidden: true});
  const totals = h('p', {class: 'summary'});
  const cards = FIGURES.map(card);
  const grid = h('div', {class: 'cards'}, ...cards.map((c) => c.element));
  container.append(
      h('h1', {tabindex: '-1'}, 'Overview'),
      h('p', {class: 'lede'}, 'Live figures of this gateway replica, read every 2 seconds; charts show the last '
          + '5 minutes.'),
      error, totals, grid);
  const render = () => {
    showError(error, problem ? `Live figures unavailable: ${problem.describe()}` : '');
    const latest = samples.length ? samples[samples.length - 1] : null;
    const now = reading ? reading.at : Date.now();
    cards.forEach((c) => c.update(latest, now));
    totals.textContent = reading
      ? `Since the gateway started: ${number(reading.requests)} requests, ${number(reading.errors)} 5xx, `
        + `${number(reading.clientErrors)} 4xx, ${number(reading.inputTokens + reading.outputTokens)} tokens; `
        + `${number(reading.openStreams)} open streams.`
      : '';
  };
  render();
  listeners.add(render);
  return () => listeners.delete(render);
}
