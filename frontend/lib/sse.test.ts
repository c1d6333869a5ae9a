import { describe, expect, it } from "vitest";

import { parseEvent } from "./events";
import { SseParser, type SseMessage } from "./sse";

function parse(chunks: string[]): SseMessage[] {
  const out: SseMessage[] = [];
  const p = new SseParser((m) => out.push(m));
  for (const c of chunks) p.push(c);
  return out;
}

describe("SseParser", () => {
  it("handles chunks split anywhere, comments, CRLF and multi-line data", () => {
    const msgs = parse([
      ": keep-alive\n\nevent: contai",
      'ner_status\ndata: {"a":1}\n',
      "\r\nevent: x\r\ndata: line1\r\ndata: line2\r\n\r\n",
      "data:no-space\n\n",
    ]);
    expect(msgs).toEqual([
      { event: "container_status", data: '{"a":1}' },
      { event: "x", data: "line1\nline2" },
      { event: "message", data: "no-space" },
    ]);
  });
});

describe("parseEvent", () => {
  it("parses known events and ignores unknown ones", () => {
    expect(
      parseEvent(
        JSON.stringify({
          type: "container_status",
          service: "s",
          container_id: "c",
          container: "n",
          state: "exited",
          health: "none",
        }),
      ),
    ).toMatchObject({ type: "container_status", state: "exited" });
    expect(parseEvent(JSON.stringify({ type: "lagged", missed: 3 }))).toEqual({
      type: "lagged",
      missed: 3,
    });
    expect(parseEvent(JSON.stringify({ type: "from_the_future" }))).toBeNull();
    expect(parseEvent("not json")).toBeNull();
  });
});
