/**
 * Every page of docs/ ends with "Where it lives": links to the source files that implement what
 * the page describes, each link's text the repository-relative path it points to, every one an
 * existing file (or folder, written with a trailing `/`). docs/README.md is the index of the
 * pages, not a page about the code, and is exempt.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./source-graph";

const HEADING = "## Where it lives";
/** `- [`path`](../path)` and, optionally, what that file does there. */
const ITEM = /^- \[`([^`]+)`\]\(([^)\s]+)\)(?::\s+\S.*)?$/;

/** What is wrong with the end of one page (named `docs/<name>`); `exists` takes a repository path. */
function whereItLivesProblems(
  page: string,
  markdown: string,
  exists: (repoPath: string) => boolean,
): string[] {
  // Fenced code holds `#` lines that are not headings.
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, "");
  const headings = [...prose.matchAll(/^#{1,6} .*$/gm)].map((m) => m[0].trim());
  if (!headings.includes(HEADING)) return [`${page}: no "${HEADING}" section`];
  if (headings.at(-1) !== HEADING) return [`${page}: "${HEADING}" is not its last section`];
  const section = prose.slice(prose.lastIndexOf(HEADING) + HEADING.length);
  const lines = section.split("\n").filter((line) => line.trim() !== "");
  if (lines.length === 0) return [`${page}: "${HEADING}" lists no file`];
  const problems: string[] = [];
  for (const line of lines) {
    const [, text = "", target = ""] = ITEM.exec(line) ?? [];
    if (!target) {
      problems.push(`${page}: not a link to a file: ${line}`);
      continue;
    }
    const repoPath = path.posix
      .normalize(path.posix.join(path.posix.dirname(page), target))
      .replace(/\/$/, "");
    const named = text.endsWith("/") ? `${repoPath}/` : repoPath;
    if (named !== text) problems.push(`${page}: ${text} links to ${repoPath}`);
    else if (repoPath.startsWith("..") || !exists(repoPath)) {
      problems.push(`${page}: ${text} does not exist`);
    }
  }
  return problems;
}

const pages = readdirSync(path.join(ROOT, "docs"))
  .filter((name) => name.endsWith(".md") && name !== "README.md")
  .map((name) => `docs/${name}`);
const inRepository = (repoPath: string) => existsSync(path.join(ROOT, repoPath));

describe('"Where it lives" on every page of docs/', () => {
  it("each page ends with the source files that implement it, and each file exists", () => {
    expect(pages.length).toBeGreaterThan(10);
    const problems = pages.flatMap((page) =>
      whereItLivesProblems(page, readFileSync(path.join(ROOT, page), "utf8"), inRepository),
    );
    expect(problems).toEqual([]);
  });

  it("the check catches a missing section, one that is not last, a wrong path and a stray line", () => {
    const known = new Set(["src/tap/tap.ts", "src/tap"]);
    const exists = (repoPath: string) => known.has(repoPath);
    const section = (...items: string[]) => `# Page\n\ntext\n\n${HEADING}\n\n${items.join("\n")}\n`;
    const good = section(
      "- [`src/tap/tap.ts`](../src/tap/tap.ts): the tap",
      "- [`src/tap/`](../src/tap/)",
    );
    expect(whereItLivesProblems("docs/a.md", good, exists)).toEqual([]);
    expect(whereItLivesProblems("docs/a.md", "# Page\n\ntext\n", exists)).toEqual([
      `docs/a.md: no "${HEADING}" section`,
    ]);
    expect(whereItLivesProblems("docs/a.md", `${good}\n## Later\n`, exists)).toEqual([
      `docs/a.md: "${HEADING}" is not its last section`,
    ]);
    expect(whereItLivesProblems("docs/a.md", section(), exists)).toEqual([
      `docs/a.md: "${HEADING}" lists no file`,
    ]);
    const bad = section(
      "- [`src/tap/gone.ts`](../src/tap/gone.ts)",
      "- [`src/tap/tap.ts`](../src/tap/pages.ts)",
      "- [`../outside.ts`](../../outside.ts)",
      "See also the tap.",
    );
    expect(whereItLivesProblems("docs/a.md", bad, exists)).toEqual([
      "docs/a.md: src/tap/gone.ts does not exist",
      "docs/a.md: src/tap/tap.ts links to src/tap/pages.ts",
      "docs/a.md: ../outside.ts does not exist",
      "docs/a.md: not a link to a file: See also the tap.",
    ]);
  });
});
