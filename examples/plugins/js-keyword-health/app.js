// SDMD health check in JavaScript: healthy when GET <url> answers 200 and the body contains <keyword>.
// Built into a WebAssembly component by componentize-js (see build.sh); runs in the same sandbox as Rust
// plugins. WIT records arrive as camelCase objects, variants as {tag, val}; a thrown value becomes `err`.
import { log } from 'sdmd:plugin/log@0.1.0';
import { get } from 'sdmd:plugin/config@0.1.0';
import { send } from 'sdmd:plugin/http@0.1.0';

/** A setting from the admin's configuration (JSON text), or `fallback` when unset. */
function setting(key, fallback) {
  const raw = get(key);
  return raw === undefined ? fallback : JSON.parse(raw);
}

export const checker = {
  /** @param {{service: {name: string}, containers: object[], attempt: number}} input */
  check(input) {
    const url = setting('url');
    if (typeof url !== 'string') throw 'setting url is required';
    const keyword = setting('keyword', 'ok');
    const attempts = setting('attempts', 3);
    let problem;
    try {
      const resp = send({ method: 'GET', url, headers: [], body: undefined, timeoutMs: 800, followRedirects: false });
      const body = new TextDecoder().decode(resp.body);
      log('info', `GET ${url}: ${resp.status}, ${body.length} bytes`);
      if (resp.status === 200 && body.includes(keyword)) return { tag: 'healthy' };
      problem = resp.status === 200 ? `body of ${url} lacks ${JSON.stringify(keyword)}` : `GET ${url}: status ${resp.status}`;
    } catch (e) {
      const err = e && e.payload ? e.payload : e;
      if (err && err.tag === 'denied') throw `GET ${url} denied: ${err.val}`;
      problem = `GET ${url}: ${err && err.tag ? err.tag + (err.val ? ' ' + err.val : '') : String(err)}`;
    }
    log('warn', `${input.service.name}: ${problem}`);
    if (input.attempt + 1 < attempts) return { tag: 'retry-after', val: 500 };
    return { tag: 'unhealthy', val: problem };
  },
};
