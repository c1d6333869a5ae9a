/**
 * One shared subscription to `/api/v1/events` for the whole dashboard: components add listeners,
 * the stream opens with the first and closes with the last. Payloads are checked against the
 * document's `Event` schema; unknown event types are ignored so a newer server doesn't break an
 * older dashboard.
 */
import { parseServerEvent, type ServerEvent } from "./api";
import { openStream, type StreamHandle } from "./sse";

export type EventListener = (e: ServerEvent) => void;
export type ConnectionListener = (connected: boolean) => void;

const listeners = new Set<EventListener>();
const connListeners = new Set<ConnectionListener>();
let handle: StreamHandle | null = null;
let connected = false;

function setConnected(c: boolean) {
  connected = c;
  for (const l of connListeners) l(c);
}

/** Parses one SSE data payload; null when it isn't an event this dashboard knows. */
export function parseEvent(data: string): ServerEvent | null {
  try {
    return parseServerEvent(JSON.parse(data));
  } catch {
    return null;
  }
}

function ensureOpen() {
  if (closeTimer) {
    clearTimeout(closeTimer);
    closeTimer = null;
  }
  if (handle) return;
  handle = openStream("/api/v1/events", {
    onOpen: () => setConnected(true),
    onDrop: () => setConnected(false),
    onMessage: (m) => {
      const e = parseEvent(m.data);
      if (e) for (const l of listeners) l(e);
    },
  });
}

let closeTimer: ReturnType<typeof setTimeout> | null = null;

/** Closes the stream a few seconds after the last listener left, so that moving between pages
 *  (one page's listeners go, the next page's come) keeps one connection. */
function maybeClose() {
  if (listeners.size > 0 || connListeners.size > 0 || !handle || closeTimer) return;
  closeTimer = setTimeout(() => {
    closeTimer = null;
    if (listeners.size === 0 && connListeners.size === 0 && handle) {
      handle.close();
      handle = null;
      setConnected(false);
    }
  }, 5000);
}

/** Receives every server event until the returned function is called. */
export function subscribe(l: EventListener): () => void {
  listeners.add(l);
  ensureOpen();
  return () => {
    listeners.delete(l);
    maybeClose();
  };
}

/** Follows the connection state of the shared stream. */
export function watchConnection(l: ConnectionListener): () => void {
  connListeners.add(l);
  l(connected);
  ensureOpen();
  return () => {
    connListeners.delete(l);
    maybeClose();
  };
}
