// The admin API, with the token of this tab's session.

const TOKEN_KEY = 'api-router.admin-token';
/** Fired on window when the API refuses the session's token (changed or removed on the gateway). */
export const UNAUTHORIZED_EVENT = 'console:unauthorized';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** "message (status code)", as shown on the pages. */
  describe() {
    return this.status ? `${this.message} (${this.status} ${this.code})` : this.message;
  }
}

/** The admin token, in sessionStorage only: gone when the tab closes. */
export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  save: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/**
 * One call: resolves to the parsed JSON answer; rejects with an ApiError carrying the contract's error message and
 * code. A 401 for the session's token also fires UNAUTHORIZED_EVENT.
 */
export async function call(method, path, body, token = session.token()) {
  const headers = {Authorization: `Bearer ${token}`, Accept: 'application/json'};
  const init = {method, headers, cache: 'no-store', credentials: 'omit'};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', `The gateway did not answer (${e.message}).`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!response.ok) {
    const error = json && json.error ? json.error : {};
    const failure = new ApiError(response.status, error.code || `http_${response.status}`,
        error.message || `The gateway answered ${response.status}.`);
    if (response.status === 401 && token === session.token()) {
      window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, {detail: failure}));
    }
    throw failure;
  }
  return json;
}

/** Calls fn now and every periodMs until the returned stop() (each call waits for the previous one). */
export function poll(fn, periodMs) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    try {
      await fn();
    } catch (e) {
      console.error(e); // fn shows what went wrong on its page
    } finally {
      if (!stopped) {
        timer = setTimeout(tick, periodMs);
      }
    }
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
