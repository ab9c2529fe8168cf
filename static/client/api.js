// REST client for /api/v1 with the session kept in localStorage and transparent token refresh.

const STORAGE_KEY = "haven.session";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
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
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, (data && data.error) || `HTTP ${response.status}`);
  }
  return data;
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

/** An authenticated request; refreshes the access token once on 401. */
export async function api(method, path, body) {
  const current = session.load();
  if (!current) throw new ApiError(401, "Not signed in");
  try {
    return await send(method, path, body, current.access_token);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    try {
      await refresh();
    } catch {
      session.clear();
      throw error;
    }
    return send(method, path, body, session.load().access_token);
  }
}

/** An anonymous request (registration, login). */
export const publicApi = (method, path, body) => send(method, path, body);
