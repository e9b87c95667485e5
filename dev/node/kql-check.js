// Checks KQL queries with Microsoft's Kusto language service (@kusto/language-service-next),
// all of them in one process: dev/kql.py writes the tables' schemas and the queries as JSON
// on stdin and reads one JSON answer per query on stdout.
//
// For each query: the language service's diagnostics (syntax and semantics, against the
// tables given and the query's declared parameters), the names it reads off the
// `Properties` column (`Properties.x`, `Properties["x"]`), the member names it reads off
// any other dynamic value (`caller.appId`), the literals it compares `Properties.logger`
// and `Properties.event` with, and how often a `where` reads the `Message` column.
"use strict";

const fs = require("fs");
const path = require("path");

const SERVICE = path.join(__dirname, "node_modules", "@kusto", "language-service-next");
// Bridge.NET's runtime, then the compiled Kusto.Language: both set globals.
global.Bridge = require(path.join(SERVICE, "bridge.min.js"));
require(path.join(SERVICE, "Kusto.Language.Bridge.min.js"));

const Language = global.Kusto.Language;
const Symbols = Language.Symbols;
const Syntax = Language.Syntax;
const Kind = Syntax.SyntaxKind;

const SCALAR_TYPES = {
  bool: Symbols.ScalarTypes.Bool,
  datetime: Symbols.ScalarTypes.DateTime,
  dynamic: Symbols.ScalarTypes.Dynamic,
  int: Symbols.ScalarTypes.Int,
  long: Symbols.ScalarTypes.Long,
  real: Symbols.ScalarTypes.Real,
  string: Symbols.ScalarTypes.String,
  timespan: Symbols.ScalarTypes.TimeSpan,
};
const SELECTORS = new Set(["logger", "event"]);
const DYNAMIC = "dynamic";

function list(items) {
  const out = [];
  for (let i = 0; i < items.Count; i++) out.push(items.getItem(i));
  return out;
}

function children(node) {
  const out = [];
  for (let i = 0; i < node.ChildCount; i++) {
    const child = node.GetChild(i);
    if (child && Bridge.is(child, Syntax.SyntaxNode)) out.push(child);
  }
  return out;
}

function walk(node, visit) {
  visit(node);
  for (const child of children(node)) walk(child, visit);
}

function globalsFor(tables, parameters) {
  const symbols = Object.entries(tables).map(
    ([name, schema]) => new Symbols.TableSymbol.$ctor7(name, schema, null),
  );
  const database = new Symbols.DatabaseSymbol.$ctor1("workspace", symbols, false);
  let globals = Language.GlobalState.Default.WithDatabase(database);
  const declared = Object.entries(parameters).map(([name, type]) => {
    if (!(type in SCALAR_TYPES)) throw new Error(`parameter ${name}: unknown type ${type}`);
    return new Symbols.ParameterSymbol(name, SCALAR_TYPES[type], null);
  });
  if (declared.length) {
    globals = globals.WithParameters(declared);
  }
  return globals;
}

// The table column a name refers to (`Properties`, `Message`), or null.
function tableColumn(node, tableColumns) {
  if (!Bridge.is(node, Syntax.NameReference)) return null;
  const symbol = node.ReferencedSymbol;
  if (!symbol || !Bridge.is(symbol, Symbols.ColumnSymbol)) return null;
  return tableColumns.has(symbol) ? symbol.Name : null;
}

function isDynamic(expression) {
  const type = expression.ResultType;
  return Boolean(type) && type.Name === DYNAMIC;
}

// `Properties.x`, `Properties["x"]` or `tostring(...)` around either: the name x, or null.
function propertyName(node, tableColumns) {
  if (Bridge.is(node, Syntax.FunctionCallExpression) && node.ArgumentList) {
    const args = list(node.ArgumentList.Expressions);
    return args.length === 1 ? propertyName(args[0].Element, tableColumns) : null;
  }
  if (Bridge.is(node, Syntax.PathExpression)) {
    if (tableColumn(node.Expression, tableColumns) !== "Properties") return null;
    return Bridge.is(node.Selector, Syntax.NameReference) ? node.Selector.SimpleName : null;
  }
  if (Bridge.is(node, Syntax.ElementExpression)) {
    if (tableColumn(node.Expression, tableColumns) !== "Properties") return null;
    const inner = node.Selector.Expression;
    return Bridge.is(inner, Syntax.LiteralExpression) ? String(inner.LiteralValue) : null;
  }
  return null;
}

function check(query, tables) {
  const globals = globalsFor(tables, query.parameters || {});
  const code = Language.KustoCode.ParseAndAnalyze(query.text, globals);
  const diagnostics = list(code.GetDiagnostics()).map((d) => {
    const line = { v: 0 };
    const column = { v: 0 };
    code.TryGetLineAndOffset(d.Start, line, column);
    return { severity: d.Severity, code: d.Code, message: d.Message, line: line.v, column: column.v };
  });

  const tableColumns = new Set();
  const tablesRead = new Set();
  walk(code.Syntax, (node) => {
    if (!Bridge.is(node, Syntax.NameReference)) return;
    const symbol = node.ReferencedSymbol;
    if (symbol && Bridge.is(symbol, Symbols.TableSymbol) && symbol.Name in tables) {
      tablesRead.add(symbol.Name);
      list(symbol.Columns).forEach((column) => tableColumns.add(column));
    }
  });

  const properties = new Set();
  const members = new Set();
  const selectors = [];
  let messageInFilters = 0;
  walk(code.Syntax, (node) => {
    if (Bridge.is(node, Syntax.PathExpression) || Bridge.is(node, Syntax.ElementExpression)) {
      const name = propertyName(node, tableColumns);
      if (name !== null) {
        properties.add(name);
      } else if (Bridge.is(node, Syntax.PathExpression) && isDynamic(node.Expression)) {
        if (Bridge.is(node.Selector, Syntax.NameReference)) members.add(node.Selector.SimpleName);
      }
    }
    if (node.Kind === Kind.EqualExpression) {
      const sides = [node.Left, node.Right];
      for (const [field, other] of [sides, sides.slice().reverse()]) {
        const name = propertyName(field, tableColumns);
        if (SELECTORS.has(name) && Bridge.is(other, Syntax.LiteralExpression)) {
          selectors.push({ field: name, value: String(other.LiteralValue) });
        }
      }
    }
    if (Bridge.is(node, Syntax.FilterOperator)) {
      walk(node, (inner) => {
        if (tableColumn(inner, tableColumns) === "Message") messageInFilters += 1;
      });
    }
  });

  return {
    name: query.name,
    diagnostics,
    tables: [...tablesRead].sort(),
    properties: [...properties].sort(),
    members: [...members].sort(),
    selectors,
    messageInFilters,
  };
}

function main() {
  const request = JSON.parse(fs.readFileSync(0, "utf8"));
  const answers = request.queries.map((query) => check(query, request.tables));
  process.stdout.write(JSON.stringify(answers));
}

main();
