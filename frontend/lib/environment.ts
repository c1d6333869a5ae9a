/**
 * How the Environment panel names where a value comes from (pure, for tests): the source, then
 * its detail — the variable read and where that one is set, or the env file.
 */
import type { EnvVarView } from "./api/types";

const ORIGIN: Record<string, string> = {
  set: "stored",
  default: "default",
  file: "variables file",
};

/** `member`, `env_file app.env`, `dotenv ${DB_PASS}`, `global ${TZ} (default)`, `standard ${APPDATA}`. */
export function envSourceText(v: EnvVarView): string {
  switch (v.source) {
    case "env_file":
      return v.file ? `env_file ${v.file}` : "env_file";
    case "dotenv":
    case "global":
    case "standard": {
      const read = v.variable ? ` \${${v.variable}}` : "";
      const origin = v.origin ? ` (${ORIGIN[v.origin] ?? v.origin})` : "";
      return `${v.source}${read}${origin}`;
    }
    default:
      return v.source;
  }
}
