// Live figures from two readings of GET /v1/admin/stats: counters since start become rates, the cumulative TTFT
// histogram becomes percentiles of the requests between the two readings.

/** The q-quantile (0..1) of the TTFT histogram's growth from prev to cur, in ms; null when nothing was counted. */
export function quantile(q, prev, cur) {
  const buckets = cur.bucketsMs;
  const comparable = prev && prev.counts.length === cur.counts.length;
  const before = comparable ? prev.counts : cur.counts.map(() => 0);
  const total = cur.count - (comparable ? prev.count : 0);
  if (!(total > 0)) {
    return null;
  }
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const upTo = cur.counts[i] - before[i];
    if (upTo >= rank) {
      const lower = i === 0 ? 0 : buckets[i - 1];
      const inBucket = upTo - below;
      return lower + (buckets[i] - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1);
    }
    below = upTo;
  }
  // beyond the largest bucket: at least that
  return {over: buckets[buckets.length - 1]};
}

/**
 * One sample for the charts from two readings: rates per second over the interval, percentiles of the interval,
 * and the gauges of the later reading. Null when the readings cannot be compared (same instant, or the gateway
 * restarted in between).
 */
export function sample(prev, cur) {
  const seconds = (cur.at - prev.at) / 1000;
  if (!(seconds > 0) || cur.requests < prev.requests) {
    return null;
  }
  const rate = (field) => Math.max(0, (cur[field] || 0) - (prev[field] || 0)) / seconds;
  return {
    at: cur.at,
    requests: rate('requests'),
    errors: rate('errors'),
    clientErrors: rate('clientErrors'),
    inputTokens: rate('inputTokens'),
    outputTokens: rate('outputTokens'),
    tokens: rate('inputTokens') + rate('outputTokens'),
    ttftP50: quantile(0.5, prev.ttft, cur.ttft),
    ttftP99: quantile(0.99, prev.ttft, cur.ttft),
    inFlight: cur.inFlight,
    openStreams: cur.openStreams,
  };
}

/** A number for a chart: a percentile beyond the largest bucket counts as that bucket. */
export function plotted(value) {
  if (value === null || value === undefined) {
    return null;
  }
  return typeof value === 'object' ? value.over : value;
}

/** "12.3", "0.42", "1,234": short, with the precision a glance needs. */
export function number(value) {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return '–';
  }
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: 0});
}

/** A duration in ms: "85 ms", "1.2 s", "> 10 s" for a percentile beyond the largest bucket. */
export function millis(value) {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value === 'object') {
    return `> ${millis(value.over)}`;
  }
  return value >= 1000 ? `${number(value / 1000)} s` : `${Math.round(value)} ms`;
}

/** A ratio 0..1 as a percentage. */
export function percent(ratio) {
  return ratio === null || ratio === undefined ? '–' : `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)} %`;
}

/** Seconds as "42 s", "5 min", "3 h 10 min", "2 d 4 h". */
export function age(seconds) {
  if (seconds === null || seconds === undefined) {
    return '–';
  }
  if (seconds < 60) {
    return `${Math.round(seconds)} s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min`;
  }
  if (seconds < 86400) {
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  }
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

/** An ISO instant as local date and time, "2026-11-29 06:01". */
export function when(iso) {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) {
    return iso;
  }
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
