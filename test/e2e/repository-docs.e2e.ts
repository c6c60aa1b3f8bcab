/**
 * The documentation keeps its promises about itself: every test docs/security.md cites exists
 * with its exact title, and no file links outside the repository (a clone has nothing else).
 * Node-side and fast: it reads files, starts nothing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./harness";

const trackedFiles = (pattern?: string): string[] =>
  spawnSync("git", ["ls-files", ...(pattern ? [pattern] : [])], { cwd: ROOT, encoding: "utf8" })
    .stdout.split("\n")
    .filter(Boolean);

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** Markdown without its fenced code blocks (their `#` lines and brackets are not headings or links). */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's anchors for a page's headings (lowercase, punctuation dropped, spaces to hyphens). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading = ""] of prose(markdown).matchAll(/^#{1,6} +(.+)$/gm)) {
    const slug = heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

describe("docs/security.md", () => {
  it("every test security.md cites exists, with its exact title", () => {
    const text = read("docs/security.md");
    const claims = text.split(/Proved by:/).slice(1);
    expect(claims.length).toBeGreaterThan(40);
    let cited = 0;
    for (const claim of claims) {
      // A citation: `test/…` then › and one or more “titles”, up to the next file or bullet.
      const paragraph = claim.split(/\n(?:- |\n|#)/)[0] ?? "";
      const citations = [...paragraph.matchAll(/`(test\/[^`]+)` ›([^`]+)/g)];
      expect(citations.length, `no test cited in: ${paragraph.slice(0, 80)}`).toBeGreaterThan(0);
      for (const [, file = "", titles = ""] of citations) {
        expect(existsSync(join(ROOT, file)), file).toBe(true);
        const source = read(file);
        for (const [, quoted = ""] of titles.matchAll(/“([^”]+)”/g)) {
          const title = quoted.replace(/\s+/g, " ");
          const asTitle = ['"', "'", "`"].some((q) => source.includes(`${q}${title}${q}`));
          expect(asTitle, `${file} has no test titled “${title}”`).toBe(true);
          cited += 1;
        }
      }
    }
    expect(cited).toBeGreaterThan(100);
  });
});

describe("links", () => {
  it("no document links outside the repository", () => {
    const problems: string[] = [];
    // Nothing names a file of this machine or notes that live outside the repository.
    const outside =
      /\.\.\/shared|\/work\/|\/home\/|\/Users\/|file:\/\/|\b(?:DESIGN|STYLE|qualtrics-api)\.md\b/;
    for (const file of trackedFiles()) {
      if (file === "package-lock.json" || file === "test/e2e/repository-docs.e2e.ts") continue;
      const text = read(file);
      if (text.includes("\0")) continue;
      text.split("\n").forEach((line, i) => {
        if (outside.test(line)) problems.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    // Every relative Markdown link resolves to a file of the repository, and its #anchor to a heading.
    for (const file of trackedFiles("*.md")) {
      for (const [, target = ""] of prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(?:https?:|mailto:)/.test(target)) continue;
        const [path = "", anchor] = target.split("#");
        const resolved = path ? resolve(ROOT, dirname(file), path) : join(ROOT, file);
        const inRepo = relative(ROOT, resolved);
        if (inRepo.startsWith("..")) {
          problems.push(`${file}: ${target} leaves the repository`);
        } else if (!existsSync(resolved)) {
          problems.push(`${file}: ${target} does not exist`);
        } else if (anchor && resolved.endsWith(".md") && !anchors(read(inRepo)).has(anchor)) {
          problems.push(`${file}: ${target} names no heading of ${inRepo}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
