// REST client for /api/v1 with the session kept in localStorage and transparent token refresh.

const STORAGE_KEY = "haven.session";

export class ApiError extends Error {
  /** `data`: the JSON error body, whose details some refusals carry (`code`, docs/moderation.md). */
  constructor(status, message, data = null) {
    super(message);
    this.status = status;
    this.data = data;
  }

  get code() {
    return this.data?.code ?? null;
  }
}

export const session = {
  load() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY)) || null;
    } catch {
      return null;
    }
  },
  save(auth) {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
  },
  clear() {
    localStorage.removeItem(STORAGE_KEY);
  },
};

async function send(method, path, body, token) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, errorText(response.status, text), errorBody(text));
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, "The server sent an answer this page cannot read.");
  }
}

/** Fires "expired" when the session ends under the page (refresh refused: signed out elsewhere). */
export const authEvents = new EventTarget();

/** The refresh token was refused (not a network failure or an overloaded server). */
const refused = (failure) => failure instanceof ApiError && failure.status >= 400 && failure.status < 500 && failure.status !== 429;

/** The session is gone; `failure` is the refresh's refusal (a suspension says so: its `code`). */
function expired(failure) {
  session.clear();
  authEvents.dispatchEvent(new CustomEvent("expired", { detail: failure }));
}

let refreshing = null;

async function refresh() {
  const current = session.load();
  if (!current) throw new ApiError(401, "Not signed in");
  refreshing ??= send("POST", "/auth/refresh", { refresh_token: current.refresh_token })
    .then((auth) => {
      session.save({ ...current, ...auth });
      return auth;
    })
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

const inflight = new Set();

/** Resolves once every authenticated request started so far has finished (sign-out waits for it). */
export const settled = () => Promise.allSettled([...inflight]);

/** An authenticated request; refreshes the access token once on 401. */
export function api(method, path, body) {
  const request = authenticated(method, path, body);
  inflight.add(request);
  request.then(() => inflight.delete(request), () => inflight.delete(request));
  return request;
}

async function authenticated(method, path, body) {
  const current = session.load();
  if (!current) throw new ApiError(401, "Not signed in");
  try {
    return await send(method, path, body, current.access_token);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    try {
      await refresh();
    } catch (failure) {
      if (refused(failure)) expired(failure);
      throw error;
    }
    return send(method, path, body, session.load().access_token);
  }
}

/** The JSON object of an error body, or null (plain text, markup). */
function errorBody(text) {
  try {
    const data = JSON.parse(text);
    return data && typeof data === "object" && !Array.isArray(data) ? data : null;
  } catch {
    return null;
  }
}

/** The API's error text from a response body (JSON `{"error"}`, else the plain text). */
function errorText(status, text) {
  try {
    const data = JSON.parse(text);
    if (data && typeof data.error === "string") return data.error;
  } catch {
    /* plain text (a framework-level refusal) */
  }
  // Never show markup (an HTML error page from something in front of the API) as a message.
  return text && text.length < 300 && !text.trimStart().startsWith("<") ? text : `HTTP ${status}`;
}

/** Runs `attempt(token)`, refreshing the access token once when it answers 401. */
async function withRefresh(attempt) {
  const current = session.load();
  if (!current) throw new ApiError(401, "Not signed in");
  const first = await attempt(current.access_token);
  if (first.status !== 401) return first;
  try {
    await refresh();
  } catch (failure) {
    if (refused(failure)) expired(failure);
    return first;
  }
  return attempt(session.load().access_token);
}

/**
 * An authenticated GET whose body is not JSON (attachment downloads): the Response itself, so the
 * caller can read the body as a stream. Errors throw ApiError with the API's text.
 */
export async function apiFetch(path) {
  const response = await withRefresh((token) => fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } }));
  if (!response.ok) throw new ApiError(response.status, errorText(response.status, await response.text()));
  return response;
}

/**
 * A raw-body upload (attachments, avatars, icons, emojis) over XMLHttpRequest, which reports upload
 * progress (`onProgress(sentBytes, totalBytes)`). Resolves the JSON answer (or null).
 */
export async function apiUpload(path, blob, { contentType = "application/octet-stream", onProgress } = {}) {
  const attempt = (token) => new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1${path}`);
    xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", contentType);
    if (onProgress) xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded, e.total));
    xhr.addEventListener("load", () => resolve({ status: xhr.status, text: xhr.responseText }));
    // A refused body can also end as a dropped connection (the server answers before reading it).
    xhr.addEventListener("error", () => resolve({ status: 0, text: "" }));
    xhr.addEventListener("abort", () => resolve({ status: 0, text: "" }));
    xhr.send(blob);
  });
  const result = await withRefresh(attempt);
  if (result.status === 0) throw new ApiError(0, "The upload was cut off (the file may be larger than this server accepts).");
  if (result.status < 200 || result.status >= 300) throw new ApiError(result.status, errorText(result.status, result.text));
  return result.text ? JSON.parse(result.text) : null;
}

/** An anonymous request (registration, login). */
export const publicApi = (method, path, body) => send(method, path, body);
