/**
 * Server-sent events over `fetch`, so the request can carry `Authorization: Bearer` (the browser's
 * EventSource cannot send headers, and a token in the URL would end up in access logs).
 */
import { currentToken } from "./api";

export interface SseMessage {
  event: string;
  data: string;
}

/** Incremental parser of the text/event-stream format; feed it chunks, it emits messages. */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];

  constructor(private readonly emit: (m: SseMessage) => void) {}

  push(chunk: string) {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, nl);
      const sepLen = this.buffer.startsWith("\r\n", nl) ? 2 : 1;
      this.buffer = this.buffer.slice(nl + sepLen);
      this.line(line);
    }
  }

  private line(line: string) {
    if (line === "") {
      if (this.data.length > 0)
        this.emit({ event: this.event || "message", data: this.data.join("\n") });
      this.event = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // keep-alive comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
  }
}

export interface StreamHandle {
  close(): void;
}

export interface StreamOptions {
  onMessage: (m: SseMessage) => void;
  /** Called when connected (again). */
  onOpen?: () => void;
  /** Called on every disconnect, with the delay before the next attempt. */
  onDrop?: (retryInMs: number, error: unknown) => void;
  /** Reconnect after the server ends the stream or the network drops (default true). */
  reconnect?: boolean;
}

/** Opens an authenticated SSE stream and keeps it open with backoff until `close()`. */
export function openStream(path: string, o: StreamOptions): StreamHandle {
  let closed = false;
  let controller: AbortController | null = null;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const run = async () => {
    controller = new AbortController();
    let error: unknown = null;
    try {
      const token = await currentToken();
      const res = await fetch(path, {
        headers: {
          Accept: "text/event-stream",
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        signal: controller.signal,
        cache: "no-store",
      });
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      attempt = 0;
      o.onOpen?.();
      const parser = new SseParser(o.onMessage);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.push(value);
      }
    } catch (e) {
      error = e;
    }
    if (closed || o.reconnect === false) return;
    const delay = Math.min(15000, 1000 * 2 ** attempt++);
    o.onDrop?.(delay, error);
    timer = setTimeout(() => void run(), delay);
  };
  void run();
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      controller?.abort();
    },
  };
}
