/**
 * The layering of src/ (README, "The code"): entry → features → shared services → foundations.
 * A module imports only its own layer or lower ones; a feature reaches another feature only
 * through that feature's public module (`index.ts`); no two folders import each other, even
 * through others; exported function names are unique; nothing is exported that nobody imports.
 */

import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  folderCycles,
  layeringProblems,
  listSources,
  ROOT,
  readGraph,
  type SourceFile,
  storageBypasses,
} from "./source-graph";

const src = listSources("src");
const graph = readGraph(src);

describe("the layers of src/", () => {
  it("no module imports a layer above it, and features meet only through their index.ts", () => {
    expect(layeringProblems(graph)).toEqual([]);
  });

  it("nothing in src/ imports the bench, the tests or the scripts (a deploy ships src/ alone)", () => {
    const outside = [
      ...listSources("bench", /\.[jt]s$/),
      ...listSources("test", /\.[jt]s$/),
      ...listSources("scripts", /\.[jt]s$/),
    ];
    const escapes = readGraph(src, [...src, ...outside]).flatMap(({ file, imports }) =>
      imports.filter((target) => !target.startsWith("src/")).map((target) => `${file} → ${target}`),
    );
    expect(escapes).toEqual([]);
  });

  it("no folder imports one that imports it back", () => {
    expect(folderCycles(graph)).toEqual([]);
  });

  it("the rules catch an upward import, a side door into a feature and a folder cycle", () => {
    const bad: SourceFile[] = [
      {
        file: "src/store/links.ts",
        imports: ["src/tap/tap.ts"],
        importedNames: new Map(),
        exports: [],
      },
      {
        file: "src/tap/tap.ts",
        imports: ["src/links/issue.ts"],
        importedNames: new Map(),
        exports: [],
      },
      {
        file: "src/links/issue.ts",
        imports: ["src/store/links.ts"],
        importedNames: new Map(),
        exports: [],
      },
    ];
    expect(layeringProblems(bad)).toEqual([
      "src/store/links.ts imports src/tap/tap.ts: a layer above it",
      "src/tap/tap.ts imports src/links/issue.ts: a feature only through src/links/index.ts",
    ]);
    expect(folderCycles(bad)).toEqual([["links", "store", "tap"]]);
  });
});

describe("storage through the invocation's limits", () => {
  const text = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

  it("only src/store/ reaches the D1 and KV bindings, and only entry points open a store", () => {
    expect(storageBypasses(graph, text)).toEqual([]);
  });

  it("the rule catches a binding read in a feature and a store opened by one", () => {
    const tap: SourceFile = {
      file: "src/tap/tap.ts",
      imports: ["src/store/store.ts"],
      importedNames: new Map([["src/store/store.ts", ["openStore"]]]),
      exports: [],
    };
    expect(storageBypasses([tap], () => "const mark = await c.env.LINKS.get(id);")).toEqual([
      "src/tap/tap.ts reads a storage binding: only src/store/ may (through openStore)",
      "src/tap/tap.ts opens a store: it should be handed its invocation's store",
    ]);
  });
});

describe("the exports of src/", () => {
  it("no two exported functions share a name", () => {
    const owners = new Map<string, string[]>();
    for (const { file, exports } of graph) {
      for (const e of exports) {
        if (e.isFunction) owners.set(e.name, [...(owners.get(e.name) ?? []), file]);
      }
    }
    const shared = [...owners].filter(([, files]) => files.length > 1);
    expect(shared).toEqual([]);
  });

  it("every export is imported somewhere (src/, test/ or bench/)", () => {
    // Declaration files count as users too: test/env.d.ts types the test env with src's types.
    const tests = listSources("test", /\.ts$/);
    const users = readGraph([...src, ...tests, ...listSources("bench")]);
    const imported = new Set<string>();
    for (const { importedNames } of users) {
      for (const [target, names] of importedNames) {
        for (const name of names) imported.add(`${target}#${name}`);
      }
    }
    const unused = graph.flatMap(({ file, exports }) =>
      exports
        .filter((e) => !imported.has(`${file}#${e.name}`) && !imported.has(`${file}#*`))
        .map((e) => `${file}: ${e.name}`),
    );
    expect(unused).toEqual([]);
  });
});
