/**
 * The measure of the shape tests (the developer guide: a file holds one concept and stays under ~400 lines, a
 * function fits a screen): lines of a file, and every function-like node with a body (function, method,
 * constructor, accessor, arrow function) measured on the TypeScript compiler's own syntax tree, from the
 * declaration to its closing brace, the doc comment not counted.
 */
import ts from "typescript";

/** The most lines a module may have. */
export const MAX_FILE_LINES = 400;
/** The most lines a function may have: a screen. */
export const MAX_FUNCTION_LINES = 60;

/** A function-like node's name as a reader finds it (`Class.method`, the variable an arrow is assigned to). */
function nameOf(node: ts.FunctionLikeDeclaration, sf: ts.SourceFile): string {
  const own = node.name?.getText(sf) ??
    (ts.isConstructorDeclaration(node) ? "constructor" : undefined) ??
    (ts.isVariableDeclaration(node.parent) || ts.isPropertyAssignment(node.parent) ||
        ts.isPropertyDeclaration(node.parent)
      ? node.parent.name.getText(sf)
      : "(anonymous)");
  let scope: ts.Node | undefined = node.parent;
  while (scope && !ts.isClassLike(scope)) scope = scope.parent;
  return scope?.name ? `${scope.name.text}.${own}` : own;
}

/** Every function-like node with a body: its name and its length in lines. */
export function functionsOf(path: string, text: string): { name: string; lines: number }[] {
  const kind = path.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, kind);
  const found: { name: string; lines: number }[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      found.push({ name: nameOf(node as ts.FunctionLikeDeclaration, sf), lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The lines of a file's text (a final newline does not start another line). */
export function lineCount(text: string): number {
  return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
}
