// No first-party client module is longer than 400 lines (issue 15: each module has one job a
// newcomer can read in one sitting). Vendored third-party code (static/client/vendor/) is exempt.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const MAX_LINES = 400;
const STATIC = fileURLToPath(new URL("../../static/", import.meta.url));
const VENDORED = join(STATIC, "client", "vendor");

function* modules(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== VENDORED) yield* modules(path);
    } else if (/\.m?js$/.test(entry.name)) {
      yield path;
    }
  }
}

test("first-party client modules are at most 400 lines", () => {
  const found = [...modules(STATIC)];
  assert.ok(found.length > 20, "the client modules were found");
  const long = found
    .map((path) => ({ path: relative(STATIC, path), lines: readFileSync(path, "utf8").split("\n").length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES);
  assert.deepEqual(long, [], "split these modules by job");
});
