// The last line of every SDK script: one JSON object with what it saw. On a failure: at which step it happened,
// the HTTP status the SDK reports (null when none) and the error's message; "ok" stays unset (false for the tests).
export function report(out, failure, step) {
  if (failure !== undefined) {
    out.step = step;
    out.status = failure.status ?? null;
    out.error = String(failure.message ?? failure);
  }
  console.log(JSON.stringify(out));
}
