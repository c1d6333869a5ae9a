import { describe, expect, it } from "vitest";

import {
  emptyMount,
  formOfYaml,
  hostPathOf,
  parsePort,
  patchYaml,
  secretBody,
  secretName,
  splitColons,
  withReadOnly,
  type DefinitionForm,
} from "./definition-form";

const src = `# the shop
name: shop
services:
  web:
    image: \${IMAGE:-web}:1 # pinned
    user: "1000:1000"
    environment:
      - TOKEN=\${TOKEN}
      - PLAIN # from sdmd's environment
    ports:
      - "\${PORT:-8080}:80" # the site
      - 127.0.0.1:9000:9000/udp
      - 8000-8010:8000-8010
      - target: 443
        published: 8443
    volumes:
      - ./data:/data:ro # kept
      - type: bind
        source: /srv
        target: /srv
      - \${MEDIA}/films:/films
    devices: ["/dev/ttyUSB0:/dev/ttyUSB0:rwm"]
    cap_add: [NET_ADMIN]
  db:
    image: db:1
    environment:
      POSTGRES_PASSWORD: \${DB_PASS} # secret
      POSTGRES_DB: shop
      EMPTY:
`;

const edit = (f: DefinitionForm, change: (e: DefinitionForm) => void) => {
  const e = structuredClone(f);
  change(e);
  return e;
};

describe("structured definition form", () => {
  const f = formOfYaml(src);
  const web = f.members[0]!;
  const db = f.members[1]!;

  it("reads rows, locking single entries it can't show", () => {
    expect(web.user).toBe("1000:1000");
    expect(web.environment).toEqual([
      { key: "TOKEN", value: "${TOKEN}", orig: 0 },
      { key: "PLAIN", value: null, orig: 1 },
    ]);
    expect(web.ports[0]).toMatchObject({ host: "${PORT:-8080}", container: "80", protocol: "" });
    expect(web.ports[1]).toMatchObject({ ip: "127.0.0.1", host: "9000", protocol: "udp" });
    expect(web.ports[2]!.locked).toBe("8000-8010:8000-8010");
    expect(web.ports[3]!.locked).toBe("{ target: 443, published: 8443 }");
    expect(web.volumes[0]).toMatchObject({ source: "./data", target: "/data", options: "ro" });
    expect(web.volumes[1]!.locked).toContain("type: bind");
    expect(web.volumes[2]).toMatchObject({ source: "${MEDIA}/films", target: "/films" });
    expect(web.devices[0]).toMatchObject({ host: "/dev/ttyUSB0", perms: "rwm" });
    expect(web.cap_add).toEqual(["NET_ADMIN"]);
    expect(web.locked).toEqual([]);
    expect(db.environment.map((r) => r.value)).toEqual(["${DB_PASS}", "shop", null]);
  });

  it("gives an unchanged document back byte for byte", () => {
    expect(patchYaml(src, f, f)).toBe(src);
    // A no-op edit of one field (a row changed and changed back) keeps everything else too.
    const e = edit(f, (e) => {
      e.members[0]!.volumes[0]!.target = "/data";
    });
    expect(patchYaml(src, f, e)).toBe(src);
  });

  it("patches a changed row, keeping the other entries, comments, ${VAR} and locked rows", () => {
    const e = edit(f, (e) => {
      e.members[0]!.volumes.push({ ...emptyMount(), source: "./config", target: "/config" });
      e.members[0]!.volumes[2]!.options = withReadOnly("", true);
      e.members[0]!.ports.splice(1, 1);
    });
    const out = patchYaml(src, f, e);
    expect(out).toContain("# the shop");
    expect(out).toContain("image: ${IMAGE:-web}:1 # pinned");
    expect(out).toContain('- "${PORT:-8080}:80" # the site');
    expect(out).not.toContain("9000");
    expect(out).toContain("- 8000-8010:8000-8010");
    expect(out).toContain("published: 8443");
    expect(out).toContain("- ./data:/data:ro # kept");
    expect(out).toContain("source: /srv");
    expect(out).toContain("- ${MEDIA}/films:/films:ro");
    expect(out).toContain("- ./config:/config");
    // Fields not edited stay exactly as written.
    expect(out).toContain('devices: ["/dev/ttyUSB0:/dev/ttyUSB0:rwm"]');
    expect(out).toContain("POSTGRES_PASSWORD: ${DB_PASS} # secret");
  });

  it("keeps a list environment a list and a map a map", () => {
    const e = edit(f, (e) => {
      e.members[0]!.environment.push({ key: "MODE", value: "prod", orig: null });
      e.members[1]!.environment[1]!.value = "shop2";
      e.members[1]!.environment.push({ key: "NEW", value: "1", orig: null });
    });
    const out = patchYaml(src, f, e);
    expect(out).toContain(
      "      - TOKEN=${TOKEN}\n      - PLAIN # from sdmd's environment\n      - MODE=prod\n",
    );
    expect(out).toContain("POSTGRES_PASSWORD: ${DB_PASS} # secret");
    expect(out).toContain("POSTGRES_DB: shop2");
    expect(out).toMatch(/EMPTY:\s*\n\s+NEW: "1"/);
    // A new environment is a map.
    const g = formOfYaml("name: a\nservices:\n  a:\n    image: a\n");
    const h = edit(g, (h) => {
      h.members[0]!.environment = [{ key: "A", value: "b", orig: null }];
    });
    expect(patchYaml("name: a\nservices:\n  a:\n    image: a\n", g, h)).toContain(
      "    environment:\n      A: b\n",
    );
  });

  it("never writes a locked field", () => {
    const y = "name: a\nservices:\n  a:\n    image: a\n    ports: 80\n    cap_add: [1]\n";
    const g = formOfYaml(y);
    expect(g.members[0]!.locked).toEqual(["ports", "cap_add"]);
    expect(g.members[0]!.raw.ports).toBe("80");
    const h = edit(g, (h) => {
      h.members[0]!.ports = [{ ip: "", host: "1", container: "1", protocol: "", orig: null }];
      h.members[0]!.cap_add = ["X"];
      h.members[0]!.image = "b";
    });
    expect(patchYaml(y, g, h)).toBe(
      "name: a\nservices:\n  a:\n    image: b\n    ports: 80\n    cap_add: [1]\n",
    );
  });

  it("writes user, capabilities and devices", () => {
    const e = edit(f, (e) => {
      e.members[1]!.user = "1000";
      e.members[1]!.cap_add = ["SYS_TIME"];
      e.members[0]!.cap_add = ["NET_ADMIN", "SYS_ADMIN"];
      e.members[1]!.devices = [{ host: "/dev/dri", container: "", perms: "", orig: null }];
    });
    const out = patchYaml(src, f, e);
    expect(out).toContain("cap_add: [NET_ADMIN, SYS_ADMIN]");
    expect(out).toContain('    user: "1000"\n');
    expect(out).toContain("    devices:\n      - /dev/dri\n    cap_add:\n      - SYS_TIME\n");
  });

  it("parses short syntax around ${VAR:-default}", () => {
    expect(splitColons("${A:-/x}:/y:ro")).toEqual(["${A:-/x}", "/y", "ro"]);
    expect(parsePort("[::1]:80:80")).toBeNull();
    expect(parsePort("80/sctp")).toBeNull();
    expect(parsePort("${P:-1-2}:80")).toMatchObject({ host: "${P:-1-2}" });
  });
});

describe("mount picker paths", () => {
  const roots = [
    { name: "APPDATA", path: "/srv/appdata" },
    { name: "MEDIA", path: "/mnt/media/" },
  ];
  it("writes shared roots as ${NAME}, the service's folder as ./", () => {
    expect(hostPathOf("/mnt/media/films/hd", roots, "shop")).toBe("${MEDIA}/films/hd");
    expect(hostPathOf("/mnt/media", roots, "shop")).toBe("${MEDIA}");
    expect(hostPathOf("/srv/appdata/shop/data", roots, "shop")).toBe("./data");
    expect(hostPathOf("/srv/appdata/shop", roots, "shop")).toBe(".");
    expect(hostPathOf("/srv/appdata/other/data", roots, "shop")).toBe("/srv/appdata/other/data");
    expect(hostPathOf("/srv/appdata/shopping", roots, "shop")).toBe("/srv/appdata/shopping");
    expect(hostPathOf("/elsewhere", roots, "shop")).toBe("/elsewhere");
  });
});

describe("secret toggle", () => {
  it("names the variable and keeps every stored one", () => {
    expect(secretName("my-shop", "db.pass")).toBe("MY_SHOP_DB_PASS");
    const body = secretBody(
      [
        { name: "TZ", value: "UTC", secret: false, source: "set" },
        { name: "API", value: null, secret: true, source: "set" },
        { name: "PUID", value: "1000", secret: false, source: "default" },
        { name: "MY_SHOP_DB_PASS", value: null, secret: true, source: "set" },
      ] as never,
      "MY_SHOP_DB_PASS",
      "hunter2",
    );
    expect(body).toEqual({
      TZ: "UTC",
      API: { secret: true },
      MY_SHOP_DB_PASS: { value: "hunter2", secret: true },
    });
  });
});

describe("the standard-environment switch", () => {
  it("reads x-sdmd.standard_environment and patches only it", () => {
    const yaml = "name: app # mine\nservices:\n  web:\n    image: x\n";
    const before = formOfYaml(yaml);
    expect(before.standardEnvironment).toBe(false);
    const on = patchYaml(yaml, before, { ...before, standardEnvironment: true });
    expect(on).toContain("# mine");
    expect(formOfYaml(on).standardEnvironment).toBe(true);
    const off = patchYaml(on, formOfYaml(on), { ...formOfYaml(on), standardEnvironment: false });
    expect(off).not.toContain("x-sdmd");
  });
});
