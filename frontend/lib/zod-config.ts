/**
 * Imported before any schema is built: zod without its `new Function` JIT. sdmd's
 * Content-Security-Policy has no 'unsafe-eval', and zod's probe for it (even caught) is reported
 * as a CSP violation; zod decides per schema when it is constructed, so this must run first.
 */
import { z } from "zod";

z.config({ jitless: true });
