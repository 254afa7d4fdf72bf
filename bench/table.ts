/**
 * The table `bun bench` prints: a Markdown pipe table, aligned, so the same text reads well
 * in a terminal and pastes into the README.
 */
import { type Row, ratioOf } from "./harness.ts";
import type { Verdict } from "./regression.ts";
import { judgeTarget } from "./verdict.ts";

/** Formats `rows`; with `verdicts` (from `--check`), adds the change against baseline.json. */
export function formatTable(rows: readonly Row[], verdicts?: readonly Verdict[]): string {
  const header = ["operation", "ours", "baseline", "ratio", "unit", "target"];
  if (verdicts !== undefined) header.push("vs baseline.json");
  const body = rows.map((row) => {
    const cells = [
      row.operation,
      formatFigure(row.ours),
      formatFigure(row.baseline),
      `${ratioOf(row).toFixed(2)}×`,
      row.unit,
      formatTarget(row),
    ];
    if (verdicts !== undefined) {
      cells.push(formatVerdict(verdicts.find((v) => v.operation === row.operation)));
    }
    return cells;
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...body.map((cells) => (cells[column] as string).length)),
  );
  // Numbers read best right-aligned; Markdown gets the same through the separator row.
  const numeric = header.map((title) => ["ours", "baseline", "ratio"].includes(title));
  const line = (cells: string[]) =>
    `| ${cells
      .map((cell, column) => {
        const width = widths[column] as number;
        return numeric[column] ? cell.padStart(width) : cell.padEnd(width);
      })
      .join(" | ")} |`;
  const separator = `| ${widths
    .map((width, column) => (numeric[column] ? `${"-".repeat(width - 1)}:` : "-".repeat(width)))
    .join(" | ")} |`;
  return [line(header), separator, ...body.map(line)].join("\n");
}

/** Three significant digits at most, thousands separated: 491, 12.3, 0.812, 12,345. */
export function formatFigure(value: number): string {
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** The target and its verdict (see verdict.ts): "≤ 2× met", "≤ 1.08× within noise". */
function formatTarget(row: Row): string {
  const target = row.target;
  if (target === undefined) return "";
  const parts: string[] = [];
  if (target.ratio !== undefined) parts.push(`≤ ${target.ratio}×`);
  if (target.ours !== undefined) parts.push(`≤ ${formatFigure(target.ours)} ${row.unit}`);
  return `${parts.join(", ")} ${judgeTarget(row)}`;
}

function formatVerdict(verdict: Verdict | undefined): string {
  if (verdict === undefined || verdict.status === "new") return "new";
  const change = `${verdict.change >= 0 ? "+" : ""}${(verdict.change * 100).toFixed(0)}%`;
  return verdict.status === "ok" ? change : `${change} ${verdict.status.toUpperCase()}`;
}
