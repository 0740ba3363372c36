/**
 * The field tables of config/README.md, built from the format's one definition
 * (route-file-format.ts). Each table sits between two marker comments,
 * `<!-- route-file-format:<object>:start -->` and `…:end -->`; the prose around them is written
 * by hand.
 */
import { fileURLToPath } from "node:url";
import { ROUTE_FILE_FORMAT, defaultInWords, type AnyObjectFormat, type RouteFileObject } from "./route-file-format.ts";

export const CONFIG_README_FILE = fileURLToPath(new URL("../README.md", import.meta.url));

/** One object's table: field, default, meaning. */
export function renderFieldTable(object: RouteFileObject): string {
  const format: AnyObjectFormat = ROUTE_FILE_FORMAT[object];
  const rows = Object.entries(format.fields).map(([name, field]) =>
    `| \`${name}\` | ${cell(defaultInWords(field))} | ${cell(field.meaning)} |`);
  return ["| field | default | meaning |", "|---|---|---|", ...rows].join("\n");
}

/** The README with every marked table regenerated; throws when a marker pair is missing. */
export function updateReadmeTables(readme: string): string {
  let text = readme;
  for (const object of Object.keys(ROUTE_FILE_FORMAT) as RouteFileObject[]) {
    const start = `<!-- route-file-format:${object}:start -->`;
    const end = `<!-- route-file-format:${object}:end -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from === -1 || to < from) throw new Error(`README: the markers ${start} … ${end} are missing`);
    text = `${text.slice(0, from + start.length)}\n${renderFieldTable(object)}\n${text.slice(to)}`;
  }
  return text;
}

// A "|" would end the cell early.
function cell(markdown: string): string {
  return markdown.replaceAll("|", "\\|");
}
