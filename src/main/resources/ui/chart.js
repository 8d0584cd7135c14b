// A small time-series line chart in SVG: the last windowMs of samples, zero at the bottom, the largest value at the
// top. Gaps (null values, or missing samples) break the line.

import {h, s} from './dom.js';

const WIDTH = 320;
const HEIGHT = 68;
const TOP = 2;
const BOTTOM = HEIGHT - 2;

/** The y-axis top: 1, 2 or 5 times a power of ten, at least the largest value. */
export function niceMax(max) {
  if (!(max > 0)) {
    return 1;
  }
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= max) {
      return step * power;
    }
  }
  return 10 * power;
}

/**
 * points: [{at (epoch ms), value (number or null)}], oldest first; samples further apart than gapMs are not
 * joined. label names the figure for screen readers; format renders a value. Returns the chart with its scale.
 */
export function lineChart({points, now, windowMs, gapMs, label, format}) {
  const from = now - windowMs;
  const shown = points.filter((p) => p.at >= from);
  const values = shown.map((p) => p.value).filter((v) => v !== null);
  const top = niceMax(Math.max(0, ...values));
  const x = (at) => ((at - from) / windowMs) * WIDTH;
  const y = (v) => BOTTOM - (v / top) * (BOTTOM - TOP);
  let d = '';
  let last = null;
  for (const p of shown) {
    if (p.value === null) {
      last = null;
      continue;
    }
    const joined = last !== null && p.at - last.at <= gapMs;
    d += `${joined ? 'L' : 'M'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)} `;
    last = p;
  }
  const latest = values.length ? format(values[values.length - 1]) : 'no data yet';
  const minutes = Math.round(windowMs / 60000);
  const svg = s('svg', {
    class: 'chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', role: 'img',
    'aria-label': `${label} over the last ${minutes} minutes: latest ${latest}, scale 0 to ${format(top)}`,
  },
  s('line', {class: 'grid', x1: 0, x2: WIDTH, y1: TOP, y2: TOP, 'vector-effect': 'non-scaling-stroke'}),
  s('line', {class: 'grid', x1: 0, x2: WIDTH, y1: (TOP + BOTTOM) / 2, y2: (TOP + BOTTOM) / 2,
    'vector-effect': 'non-scaling-stroke'}),
  s('line', {class: 'axis', x1: 0, x2: WIDTH, y1: BOTTOM, y2: BOTTOM, 'vector-effect': 'non-scaling-stroke'}),
  s('path', {class: 'line', d: d.trim() || 'M0,0', 'vector-effect': 'non-scaling-stroke'}));
  return h('div', {class: 'chart-box'},
      h('div', {class: 'chart-scale', 'aria-hidden': 'true'}, format(top)),
      svg,
      h('div', {class: 'chart-axis', 'aria-hidden': 'true'},
          h('span', {}, `${minutes} min ago`), h('span', {}, 'now')));
}
