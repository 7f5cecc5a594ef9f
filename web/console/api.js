// The API as the console uses it: tokens in sessionStorage (gone with the tab, never a cookie),
// a refresh on 401 that every waiting request shares, errors carrying the server's `message`,
// and event streams that reconnect by themselves.

const KEY = "wassally.console.session";
const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;
  }
}

const refreshListeners = new Set();
const endListeners = new Set();
/** fn() after the access token was refreshed (views re-read what they show). */
export const onTokenRefreshed = (fn) => refreshListeners.add(fn);
/** fn(message) when the session is over (refresh refused): the app shows the login again. */
export const onSessionEnded = (fn) => endListeners.add(fn);

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

function save(s) {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

function endSession(message) {
  sessionStorage.removeItem(KEY);
  for (const fn of endListeners) fn(message);
}

async function send(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, "network", `The server cannot be reached (${e.message}).`, path);
  }
  const text = res.status === 204 ? "" : await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, body: json, path };
}

function errorOf(r) {
  const e = r.body && r.body.error;
  return new ApiError(
    r.status,
    e ? e.code : `http_${r.status}`,
    e && e.message ? e.message : `The server answered ${r.status}.`,
    r.path,
  );
}

let refreshing = null;

/** One refresh at a time; every request that got a 401 waits for the same one. */
function refreshAccess() {
  if (!refreshing) {
    refreshing = (async () => {
      const s = session();
      if (!s || !s.refresh) throw new ApiError(401, "unauthenticated", "Please log in.", "");
      const r = await send("POST", "/auth/refresh", { refresh: s.refresh });
      if (r.status !== 200) {
        const err = errorOf(r);
        if (r.status === 401) endSession(`Your session has ended: ${err.message}`);
        throw err;
      }
      save({ ...session(), access: r.body.access });
      for (const fn of refreshListeners) fn();
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** The JSON answer of a request, or an ApiError with the server's code and message. */
export async function call(method, path, body) {
  const s = session();
  let r = await send(method, path, body, s && s.access);
  if (r.status === 401 && s) {
    await refreshAccess();
    r = await send(method, path, body, session().access);
  }
  if (r.status >= 400) throw errorOf(r);
  return r.body;
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body === undefined ? {} : body);

export async function login(username, password) {
  const r = await send("POST", "/auth/login", { username, password });
  if (r.status !== 200) throw errorOf(r);
  save({ access: r.body.access, refresh: r.body.refresh, user: r.body.user });
  return r.body.user;
}

export async function logout() {
  const s = session();
  sessionStorage.removeItem(KEY);
  if (s && s.refresh) {
    try {
      await send("POST", "/auth/logout", { refresh: s.refresh }, s.access);
    } catch {
      // The session is gone here either way.
    }
  }
}

/**
 * A Server-Sent Events stream of this API (`path` without the base), reopened after any
 * failure with a growing pause (1 s … 10 s); before reopening it checks the token (GET /me
 * refreshes it when expired). `onOpen(reopened)` runs on every (re)connection: a view re-reads
 * what it shows then, since events sent while it was away are gone.
 */
export function openStream(path, handlers, { onOpen, onDown } = {}) {
  let source = null;
  let closed = false;
  let timer = null;
  let pause = 1000;
  let opened = 0;

  function connect() {
    const s = session();
    if (closed || !s) return;
    const url = `${BASE}${path}?access_token=${encodeURIComponent(s.access)}`;
    source = new EventSource(url);
    source.onopen = () => {
      pause = 1000;
      opened += 1;
      if (onOpen) onOpen(opened > 1);
    };
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (m) => {
        let data;
        try {
          data = JSON.parse(m.data);
        } catch {
          return;
        }
        fn(data);
      });
    }
    source.onerror = () => {
      source.close();
      source = null;
      if (closed) return;
      if (onDown) onDown();
      timer = setTimeout(async () => {
        try {
          await get("/me");
        } catch {
          // Down still, or the session ended: connect() tries again or stops.
        }
        connect();
      }, pause);
      pause = Math.min(pause * 2, 10000);
    };
  }

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (source) source.close();
    },
  };
}
