// The realtime link (websocket.md): one WebSocket to /api/v1/ws, with the reference client's
// behaviour, and a polling fallback so the app keeps working while the socket cannot connect.
//
// * Hello first; then Resume {previous session_id} when there was one, waiting for Resumed or
//   InvalidSession (either counts as success), then Subscribe to every known channel.
// * Ping every heartbeat_interval_ms; a silent socket (no frame for two intervals) is dropped.
// * Reconnect with exponential backoff 1 s, 2 s, 4 s ... capped at 30 s, forever (the reference
//   gives up after 10 tries; a chat tab left open should come back on its own).
// * NewMessage is de-duplicated by id (bounded memory); other events are idempotent for views.
// * SendMessage carries a client nonce and is paired with MessageAck in FIFO order. A send that
//   is not acknowledged (socket closed, Error, 10 s timeout) rejects, and the caller repeats it
//   over REST with the same nonce: the server stores at most one message per nonce.
// * While not live, registered poll functions run every few seconds; after every (re)connect
//   they run once more to fetch what was missed.
//
// dispatch.js listens with `realtime.addEventListener("NewMessage", (e) => e.detail)`; "status"
// fires when the link goes live or drops, "revoked" when the server closed it with 1008.

const MAX_BACKOFF_MS = 30_000;
const SEND_TIMEOUT_MS = 10_000;
const SEEN_LIMIT = 500;
const TYPING_THROTTLE_MS = 2_000;
const REVOKED = 1008; // policy violation: the session behind the token has ended

export class Realtime extends EventTarget {
  constructor({ token, pollIntervalMs = 3000, url = defaultUrl }) {
    super();
    this.token = token;
    this.url = url;
    this.pollIntervalMs = pollIntervalMs;
    this.socket = null;
    this.live = false;
    this.sessionId = null;
    this.previousSessionId = null;
    this.attempt = 0;
    this.channels = new Set();
    this.pending = []; // unacknowledged sends, oldest first
    this.seen = new Set();
    this.seenOrder = [];
    this.pollers = new Set();
    this.pollTimer = null;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.lastFrameAt = 0;
    this.lastTyping = new Map();
    this.stopped = true;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.startPolling();
    this.connect();
  }

  /** A deliberate disconnect (sign-out): forgets the session id, as the reference client does. */
  stop() {
    this.stopped = true;
    this.previousSessionId = null;
    this.sessionId = null;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000);
      this.socket = null;
    }
    this.setLive(false);
    this.failPending("Disconnected");
  }

  // ---- connection -----------------------------------------------------------------------

  connect() {
    if (this.stopped) return;
    const token = this.token();
    if (!token) return;
    let socket;
    try {
      socket = new WebSocket(this.url(token));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(socket, event.code);
    socket.onerror = () => {}; // onclose follows; the browser already reports the failure
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    clearInterval(this.heartbeatTimer);
    if (this.sessionId) this.previousSessionId = this.sessionId;
    this.sessionId = null;
    this.setLive(false);
    this.failPending("Connection lost");
    if (code === REVOKED) {
      // The server ended this login session (signed out elsewhere): reconnecting would only be
      // refused. The app checks the session and signs out, or calls reconnectNow().
      this.dispatchEvent(new Event("revoked"));
      return;
    }
    this.scheduleReconnect();
  }

  reconnectNow() {
    if (this.stopped || this.socket) return;
    this.attempt = 0;
    this.connect();
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const delay = Math.min(1000 * 2 ** this.attempt, MAX_BACKOFF_MS);
    this.attempt += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  frame(type, payload) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(payload === undefined ? { type } : { type, payload }));
    return true;
  }

  receive(text) {
    this.lastFrameAt = Date.now();
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const { type, payload } = message;
    switch (type) {
      case "Hello":
        return this.hello(payload);
      case "Resumed":
      case "InvalidSession":
        return this.ready();
      case "Pong":
      case "Subscribed":
        return undefined;
      case "MessageAck":
        return this.acknowledged(payload);
      case "Error":
        return this.failed(payload?.message || "Error");
      case "NewMessage":
        if (this.alreadySeen(payload.id)) return undefined;
        break;
      default:
        break;
    }
    this.dispatchEvent(new CustomEvent(type, { detail: payload }));
    return undefined;
  }

  hello(payload) {
    this.sessionId = payload.session_id;
    const interval = Math.max(1000, Number(payload.heartbeat_interval_ms) || 30_000);
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > interval * 2) {
        this.socket?.close(4000); // silent for two intervals: treat as dead and reconnect
        return;
      }
      this.frame("Ping");
    }, interval);
    const previous = this.previousSessionId;
    if (previous && previous !== this.sessionId) {
      this.frame("Resume", { session_id: previous });
      this.resumeTimer = setTimeout(() => this.ready(), 5000); // no answer: carry on anyway
    } else {
      this.ready();
    }
  }

  ready() {
    clearTimeout(this.resumeTimer);
    if (this.live) return;
    this.attempt = 0;
    this.previousSessionId = this.sessionId;
    for (const channelId of this.channels) this.frame("Subscribe", { channel_id: channelId });
    this.setLive(true);
    this.runPollers(); // fetch whatever happened while we were away
  }

  setLive(live) {
    if (this.live === live) return;
    this.live = live;
    this.dispatchEvent(new CustomEvent("status", { detail: { live } }));
  }

  // ---- subscriptions ----------------------------------------------------------------------

  /** Declares the channels this client cares about; subscribes to new ones when live. */
  watch(channelIds) {
    for (const id of channelIds) {
      if (this.channels.has(id)) continue;
      this.channels.add(id);
      if (this.live) this.frame("Subscribe", { channel_id: id });
    }
  }

  // ---- client operations --------------------------------------------------------------------

  /** Sends a frame only when live; returns whether it was sent (callers fall back to REST). */
  send(type, payload) {
    return this.live && this.frame(type, payload);
  }

  sendMessage(payload) {
    if (!this.live) return Promise.reject(new Error("offline"));
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject, timer: null };
      entry.timer = setTimeout(() => {
        this.pending = this.pending.filter((p) => p !== entry);
        reject(new Error("No acknowledgement"));
      }, SEND_TIMEOUT_MS);
      this.pending.push(entry);
      if (!this.frame("SendMessage", payload)) {
        this.pending.pop();
        clearTimeout(entry.timer);
        reject(new Error("offline"));
      }
    });
  }

  typing(channelId) {
    const last = this.lastTyping.get(channelId) || 0;
    if (Date.now() - last < TYPING_THROTTLE_MS) return;
    if (this.send("Typing", { channel_id: channelId })) this.lastTyping.set(channelId, Date.now());
  }

  acknowledged(payload) {
    const entry = this.pending.shift();
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.resolve(payload.message_id);
  }

  /** Errors carry no request reference: the oldest unacknowledged send is the best match. */
  failed(message) {
    const entry = this.pending.shift();
    if (entry) {
      clearTimeout(entry.timer);
      const error = new Error(message);
      error.fromServer = true;
      entry.reject(error);
      return;
    }
    this.dispatchEvent(new CustomEvent("Error", { detail: { message } }));
  }

  failPending(message) {
    const pending = this.pending;
    this.pending = [];
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(new Error(message));
    }
  }

  alreadySeen(id) {
    if (this.seen.has(id)) return true;
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length > SEEN_LIMIT) this.seen.delete(this.seenOrder.shift());
    return false;
  }

  // ---- polling fallback ---------------------------------------------------------------------

  /** Registers `fn` to run while the socket is down; returns a function that unregisters it. */
  onPoll(fn) {
    this.pollers.add(fn);
    return () => this.pollers.delete(fn);
  }

  startPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = setInterval(() => {
      if (!this.live && !document.hidden) this.runPollers();
    }, this.pollIntervalMs);
  }

  runPollers() {
    for (const fn of this.pollers) {
      Promise.resolve()
        .then(fn)
        .catch(() => {});
    }
  }
}

function defaultUrl(token) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/api/v1/ws?token=${encodeURIComponent(token)}`;
}
