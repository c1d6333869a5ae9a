#!/usr/bin/env python3
"""The architecture, checked (make test): docs/ARCHITECTURE.md#invariants.

1. The crate graph from `cargo metadata`: each workspace crate depends only on the workspace crates
   it is allowed to (LAYERS below; nothing depends upward), and bollard, sqlx, wasmtime and axum are
   each a (normal, non-dev) dependency of exactly one workspace crate. OpenAPI (utoipa) is the
   API's: a dependency of `sdmd` only, and of `sdmd-model` only as the optional dependency behind
   its `openapi` feature, which no workspace crate but `sdmd` enables (so the layers below the API
   cannot derive a JSON schema: "only the API knows JSON shapes").
2. No import circle between the top-level modules of any workspace crate: a module is a file under
   src/ (foo.rs and foo/ are one module); an edge A -> B is a `crate::B` path in A outside
   #[cfg(test)] items and comments.
Prints what it found; exits 1 on any violation."""
import json, os, re, subprocess, sys

# Each crate and the workspace crates it may depend on (normal dependencies).
LAYERS = {
    "sdmd-model": set(),
    "sdmd-engine": {"sdmd-model"},
    "sdmd-registry": {"sdmd-model"},
    "sdmd-store": {"sdmd-model"},
    "sdmd-plugin-host": set(),
    "sdmd-core": {"sdmd-model", "sdmd-engine", "sdmd-registry", "sdmd-store", "sdmd-plugin-host"},
    "sdmd": {"sdmd-model", "sdmd-engine", "sdmd-registry", "sdmd-store", "sdmd-plugin-host", "sdmd-core"},
}
# Each of these external crates belongs to exactly this workspace crate.
OWNERS = {"bollard": "sdmd-engine", "sqlx": "sdmd-store", "wasmtime": "sdmd-plugin-host", "axum": "sdmd",
          "utoipa-axum": "sdmd"}
# OpenAPI: the API crate, and the definition document's crate behind its opt-in feature.
OPENAPI, API, DOCUMENT, FEATURE = "utoipa", "sdmd", "sdmd-model", "openapi"


def openapi_errors(ws):
    """utoipa only in the API crate, and in the document's crate only behind its feature."""
    errors = []
    for name, p in ws.items():
        for d in p["dependencies"]:
            if d["kind"] is not None:
                continue
            if d["name"] == OPENAPI and name != API and not (name == DOCUMENT and d["optional"]):
                errors.append(f"{name} depends on {OPENAPI}: only {API} may (and {DOCUMENT} as an "
                              f"optional dependency behind its `{FEATURE}` feature)")
            if d["name"] == DOCUMENT and FEATURE in d["features"] and name != API:
                errors.append(f"{name} enables {DOCUMENT}'s `{FEATURE}` feature: only {API} may")
    doc = ws.get(DOCUMENT)
    if doc and any(d["name"] == OPENAPI for d in doc["dependencies"] if d["kind"] is None) \
            and f"dep:{OPENAPI}" not in doc["features"].get(FEATURE, []):
        errors.append(f"{DOCUMENT}'s `{FEATURE}` feature does not enable dep:{OPENAPI}")
    return errors


def crate_graph(root):
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
        cwd=root, check=True, capture_output=True, text=True).stdout)
    errors, crates = [], {}
    ws = {p["name"]: p for p in meta["packages"]}
    for name, p in ws.items():
        if name not in LAYERS:
            errors.append(f"{name}: a workspace crate missing from LAYERS (scripts/check-architecture.py)")
            continue
        normal = {d["name"] for d in p["dependencies"] if d["kind"] is None}
        crates[name] = (p, normal)
        for d in sorted(normal & set(ws)):
            if d not in LAYERS[name]:
                errors.append(f"{name} depends on {d}: not allowed (upward or sideways)")
    errors += openapi_errors(ws)
    for ext, owner in OWNERS.items():
        users = sorted(n for n, (_, normal) in crates.items() if ext in normal)
        if users != [owner]:
            errors.append(f"{ext} is a dependency of {users or 'no crate'}; only {owner} may use it")
    lines = []
    for name in sorted(crates):
        deps = sorted(crates[name][1] & set(ws))
        lines.append(f"{name} -> {', '.join(deps) or '(none)'}")
        print("  " + lines[-1])
    doc = open(os.path.join(root, "docs", "ARCHITECTURE.md"), encoding="utf-8").read()
    m = re.search(r"```crate-graph\n(.*?)```", doc, re.S)
    if not m or m.group(1).strip().splitlines() != lines:
        errors.append("docs/ARCHITECTURE.md's crate-graph block differs from the graph above")
    return errors, {n: os.path.dirname(p["manifest_path"]) for n, (p, _) in crates.items()}


def strip(text):
    """Source without comments and #[cfg(test)] items."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        j = m.end()
        # skip the item: up to its end `;` or its balanced `{ ... }`
        depth, started = 0, False
        while j < len(text):
            c = text[j]
            if c == "{":
                depth += 1
                started = True
            elif c == "}":
                depth -= 1
                if started and depth == 0:
                    j += 1
                    break
            elif c == ";" and not started:
                j += 1
                break
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def circles(name, src):
    edges = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            parts = os.path.relpath(os.path.join(root, f), src)[:-3].split(os.sep)
            if parts in (["lib"], ["main"]):
                continue
            mod = parts[0]
            text = strip(open(os.path.join(root, f), encoding="utf-8").read())
            targets = set(re.findall(r"crate::(\w+)", text))
            for group in re.findall(r"use crate::\{([^;]*)\};", text, re.S):
                targets |= set(re.findall(r"(?:^|,)\s*(\w+)", group))
            edges.setdefault(mod, set()).update(t for t in targets if t != mod)
    # strongly connected components (Tarjan)
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in edges:
                continue
            if w not in index:
                visit(w); low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [f"import circle in {name}: {' '.join(c)}" for c in sccs]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print("crate graph:")
    errors, dirs = crate_graph(root)
    for name, d in sorted(dirs.items()):
        errors += circles(name, os.path.join(d, "src"))
    for e in errors:
        print("error:", e)
    print("architecture: ok" if not errors else f"architecture: {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
