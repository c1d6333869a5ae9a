// Appends plugin.json to a component as the top-level custom section `sdmd-manifest`, which the SDMD host
// reads (Rust plugins get the same section from the SDK's export macro).
// Usage: node add-manifest.mjs <component.wasm> <plugin.json> <out.wasm>
import { readFileSync, writeFileSync } from 'node:fs';

const [input, manifestPath, out] = process.argv.slice(2);
const leb = (n) => {
  const bytes = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    bytes.push(b);
  } while (n);
  return Buffer.from(bytes);
};
const wasm = readFileSync(input);
const manifest = Buffer.from(JSON.stringify(JSON.parse(readFileSync(manifestPath, 'utf8'))));
const name = Buffer.from('sdmd-manifest');
const payload = Buffer.concat([leb(name.length), name, manifest]);
writeFileSync(out, Buffer.concat([wasm, Buffer.from([0]), leb(payload.length), payload]));
