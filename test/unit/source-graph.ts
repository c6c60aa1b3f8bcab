/**
 * The import graph of src/, read with the TypeScript parser: which file imports which, and what
 * each file exports; and the layering rules of the README's map, checked on it by structure.test.ts.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

export interface SourceFile {
  /** Path from the repository root, e.g. `src/tap/tap.ts`. */
  file: string;
  /** Files under src/ it imports (resolved paths). */
  imports: string[];
  /** Names it imports from each file (resolved path → names; `*` for a namespace import). */
  importedNames: Map<string, string[]>;
  /** Named exports, with whether each is a function. */
  exports: { name: string; isFunction: boolean }[];
}

export const ROOT = path.resolve(import.meta.dirname, "../..");

/** Every file under `dir` whose name matches `pattern` (default: .ts but not .d.ts), sorted. */
export function listSources(dir: string, pattern = /(?<!\.d)\.ts$/): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (pattern.test(entry.name)) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

function resolveImport(from: string, specifier: string, known: Set<string>): string | null {
  if (!specifier.startsWith(".")) return null;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (known.has(candidate)) return candidate;
  }
  return null;
}

const hasExportModifier = (node: ts.Node) =>
  ts.canHaveModifiers(node) &&
  (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** Parses every file in `files`; imports resolve among `universe` (default: `files`). */
export function readGraph(files: string[], universe: string[] = files): SourceFile[] {
  const known = new Set(universe);
  return files.map((file) => {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
    const imports = new Set<string>();
    const importedNames = new Map<string, string[]>();
    const exports: SourceFile["exports"] = [];
    const addNames = (target: string, names: string[]) =>
      importedNames.set(target, [...(importedNames.get(target) ?? []), ...names]);
    for (const node of source.statements) {
      if (
        (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
        node.moduleSpecifier &&
        ts.isStringLiteral(node.moduleSpecifier)
      ) {
        const target = resolveImport(file, node.moduleSpecifier.text, known);
        if (!target) continue;
        imports.add(target);
        if (ts.isImportDeclaration(node)) {
          const clause = node.importClause;
          const names: string[] = [];
          if (clause?.name) names.push("default");
          const bindings = clause?.namedBindings;
          if (bindings && ts.isNamespaceImport(bindings)) names.push("*");
          if (bindings && ts.isNamedImports(bindings)) {
            for (const el of bindings.elements) names.push((el.propertyName ?? el.name).text);
          }
          addNames(target, names);
        } else {
          const clause = node.exportClause;
          if (!clause) addNames(target, ["*"]);
          else if (ts.isNamedExports(clause)) {
            for (const el of clause.elements) {
              addNames(target, [(el.propertyName ?? el.name).text]);
              exports.push({ name: el.name.text, isFunction: false });
            }
          }
        }
        continue;
      }
      if (!hasExportModifier(node)) continue;
      if (ts.isFunctionDeclaration(node) && node.name) {
        exports.push({ name: node.name.text, isFunction: true });
      } else if (ts.isVariableStatement(node)) {
        for (const decl of node.declarationList.declarations) {
          if (!ts.isIdentifier(decl.name)) continue;
          const init = decl.initializer;
          const isFunction = !!init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init));
          exports.push({ name: decl.name.text, isFunction });
        }
      } else if (
        (ts.isClassDeclaration(node) ||
          ts.isInterfaceDeclaration(node) ||
          ts.isTypeAliasDeclaration(node) ||
          ts.isEnumDeclaration(node)) &&
        node.name
      ) {
        exports.push({ name: node.name.text, isFunction: false });
      }
    }
    return { file, imports: [...imports], importedNames, exports };
  });
}

/** Top-level folders of src/ by layer, top to bottom. Files directly in src/ are the entry. */
export const LAYERS = [
  ["entry"],
  ["links", "rules", "tap", "stats", "privacy", "retention", "reconcile", "webhooks", "service"],
  ["store", "qualtrics", "tokens", "http"],
  ["config", "core"],
] as const;

const FEATURES: readonly string[] = LAYERS[1];

/** `src/tap/tap.ts` → `tap`; `src/app.ts` → `entry`. */
export function unitOf(file: string): string {
  const parts = file.split("/");
  return parts.length === 2 ? "entry" : (parts[1] ?? "");
}

function rankOf(unit: string): number {
  return LAYERS.findIndex((layer) => (layer as readonly string[]).includes(unit));
}

/** Breaches of the layering rules in `graph`, one line each. */
export function layeringProblems(graph: SourceFile[]): string[] {
  const problems: string[] = [];
  for (const { file, imports } of graph) {
    const from = unitOf(file);
    const rank = rankOf(from);
    if (rank < 0) problems.push(`${file}: src/${from}/ is in no layer`);
    for (const target of imports) {
      const to = unitOf(target);
      if (to === from) continue;
      const targetRank = rankOf(to);
      if (targetRank < rank) problems.push(`${file} imports ${target}: a layer above it`);
      const intoFeature = FEATURES.includes(to) && (FEATURES.includes(from) || from === "entry");
      if (intoFeature && target !== `src/${to}/index.ts`) {
        problems.push(`${file} imports ${target}: a feature only through src/${to}/index.ts`);
      }
    }
  }
  return problems;
}

/**
 * The files allowed to open an invocation's store (`openStore`): the Worker's entry points (fetch,
 * scheduled, queue) and
 * the two jobs that can also run on their own (tests, the reconcile API); everything else gets
 * the store it works with from them.
 */
const STORE_OPENERS = [
  "src/app.ts",
  "src/scheduled.ts",
  "src/queues.ts",
  "src/reconcile/run.ts",
  "src/retention/purge.ts",
];

/** A storage binding read from `env` directly: `env.LINKS`, `env.DB`, `env[shardBinding(…)]`. */
const RAW_BINDING = /\.(?:LINKS|DB(?:_\d+)?)\b|\[shardBinding\(/;

/**
 * Ways around the invocation's limits: storage bindings read outside src/store/ (and the config
 * checks that they exist), or a store opened by a module that should be handed one.
 */
export function storageBypasses(graph: SourceFile[], text: (file: string) => string): string[] {
  const problems: string[] = [];
  for (const { file, importedNames } of graph) {
    const unit = unitOf(file);
    if (unit !== "store" && unit !== "config" && RAW_BINDING.test(text(file))) {
      problems.push(`${file} reads a storage binding: only src/store/ may (through openStore)`);
    }
    const opens = importedNames.get("src/store/store.ts")?.includes("openStore") ?? false;
    if (opens && !STORE_OPENERS.includes(file)) {
      problems.push(`${file} opens a store: it should be handed its invocation's store`);
    }
  }
  return problems;
}

/** Folder cycles: each strongly connected set of more than one folder. */
export function folderCycles(graph: SourceFile[]): string[][] {
  const edges = new Map<string, Set<string>>();
  for (const { file, imports } of graph) {
    const from = unitOf(file);
    const targets = edges.get(from) ?? new Set<string>();
    for (const target of imports) if (unitOf(target) !== from) targets.add(unitOf(target));
    edges.set(from, targets);
  }
  // Tarjan's strongly connected components.
  let index = 0;
  const indexes = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indexes.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!indexes.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, indexes.get(next) ?? 0));
      }
    }
    if (low.get(node) === indexes.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!indexes.has(node)) visit(node);
  return cycles;
}
