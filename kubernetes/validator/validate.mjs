#!/usr/bin/env node
// Offline validation of Kubernetes objects against the Kubernetes API schemas.
//
//   kubectl kustomize kubernetes/overlays/development | node kubernetes/validator/validate.mjs
//   node kubernetes/validator/validate.mjs rendered.yaml [more.yaml ...]
//
// Every object must have a schema (an unknown apiVersion/kind is an error, never a skip), and must pass two checks:
//  1. schema: kubernetes-models' validate(), the JSON Schema generated from the Kubernetes OpenAPI spec and compiled
//     with ajv (types, required fields, enums, formats such as quantity and int-or-string);
//  2. strict: no field that the API does not define. kubernetes-models' JSON Schemas allow unknown properties (as the
//     API server's default does), so a misspelt `readinesProbe` would pass check 1. The same package ships TypeScript
//     interfaces generated from the same spec: each object becomes a literal of its interface in an in-memory
//     TypeScript program; every field of every nested object literal is looked up in the type the API expects there
//     (unknown field: error, what `kubectl --validate=strict` and `kubeconform -strict` do); TypeScript's type
//     check also reports wrong types, missing required fields and values outside an enum, with the line.
// Exit code 0: all valid; 1: some object invalid (each error printed as "<kind>/<name>: <message>"); 2: usage or
// environment error.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import ts from "typescript";

const here = path.dirname(fileURLToPath(import.meta.url));

function readInputs(args) {
  if (args.length === 0) {
    return [{ source: "<stdin>", text: readFileSync(0, "utf8") }];
  }
  return args.map((file) => ({ source: file, text: readFileSync(file, "utf8") }));
}

function parseObjects(inputs, errors) {
  const objects = [];
  for (const { source, text } of inputs) {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) {
        errors.push(`${source}: YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
        continue;
      }
      const value = doc.toJS();
      if (value === null || value === undefined) {
        continue;
      }
      if (Array.isArray(value) || typeof value !== "object") {
        errors.push(`${source}: a document is not a Kubernetes object (not a mapping)`);
        continue;
      }
      objects.push({ source, value });
    }
  }
  return objects;
}

function label(obj) {
  const name = obj.metadata && typeof obj.metadata.name === "string" ? obj.metadata.name : "<no name>";
  return `${obj.kind ?? "<no kind>"}/${name}`;
}

// apiVersion "v1" -> kubernetes-models/v1/<Kind>; "apps/v1" -> kubernetes-models/apps/v1/<Kind>
function modelSpecifier(obj) {
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== "string" || typeof kind !== "string" || !/^[A-Za-z0-9]+$/.test(kind)
      || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) {
    return null;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function schemaCheck(objects, errors) {
  const typed = [];
  for (const { value } of objects) {
    const specifier = modelSpecifier(value);
    if (specifier === null) {
      errors.push(`${label(value)}: missing or malformed apiVersion/kind`);
      continue;
    }
    let Model;
    try {
      Model = (await import(specifier))[value.kind];
    } catch (e) {
      Model = undefined;
    }
    if (typeof Model !== "function") {
      errors.push(`${label(value)}: no schema for ${value.apiVersion} ${value.kind} (not a Kubernetes API type)`);
      continue;
    }
    try {
      new Model(value).validate();
    } catch (e) {
      errors.push(`${label(value)}: schema: ${e.message}`);
    }
    typed.push({ value, specifier });
  }
  return typed;
}

// Type-checks every object as a literal of its generated interface (I<Kind>) in one in-memory TypeScript program
// whose only source file sits in this directory, so that "kubernetes-models/..." resolves to our node_modules.
function strictCheck(typed, errors) {
  if (typed.length === 0) {
    return;
  }
  const fileName = path.join(here, "__manifests_under_check__.ts");
  const lines = [];
  const owners = []; // line index -> object
  typed.forEach(({ value, specifier }, i) => {
    lines.push(`import type { I${value.kind} as T${i} } from ${JSON.stringify(specifier)};`);
    owners.push(null);
  });
  typed.forEach(({ value }, i) => {
    const body = JSON.stringify(value, null, 1).split("\n");
    body[0] = `export const o${i}: T${i} = ${body[0]}`;
    body[body.length - 1] += ";";
    for (const line of body) {
      lines.push(line);
      owners.push(value);
    }
  });
  const text = lines.join("\n");
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
    lib: ["lib.es2022.d.ts"],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    path.resolve(name) === fileName
      ? ts.createSourceFile(fileName, text, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const where = (node) => {
    const { line } = sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile));
    return { owner: owners[line], at: lines[line].trim().replace(/[,{[]$/, "") };
  };
  const sourceFile = program.getSourceFile(fileName);
  const checker = program.getTypeChecker();

  // Unknown fields, found by walking every object literal against its contextual (expected) type. Done apart from
  // TypeScript's own excess-property errors, which it drops when the same literal also has a type error.
  const knows = (type, name) => {
    let sawObject = false;
    for (const t of type.isUnion() ? type.types : [type]) {
      if (t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) {
        continue;
      }
      if (!(t.flags & ts.TypeFlags.Object) && !t.isIntersection()) {
        return true; // any, unknown or a primitive: nothing to say about fields
      }
      sawObject = true;
      if (checker.getPropertyOfType(t, name) || checker.getIndexInfosOfType(t).length > 0) {
        return true;
      }
    }
    return !sawObject;
  };
  const visit = (node) => {
    if (ts.isObjectLiteralExpression(node)) {
      const expected = checker.getContextualType(node);
      if (expected) {
        for (const prop of node.properties) {
          if (ts.isPropertyAssignment(prop) && ts.isStringLiteral(prop.name) && !knows(expected, prop.name.text)) {
            const { owner, at } = where(prop);
            const typeName = checker.typeToString(checker.getNonNullableType(expected));
            errors.push(`${owner ? label(owner) : "?"}: strict: unknown field "${prop.name.text}" in ${typeName} `
                + `(at ${at})`);
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);

  // Type errors (wrong types, missing required fields, values outside an enum). 2353 and 2561 are TypeScript's
  // excess-property errors, already reported above.
  for (const d of ts.getPreEmitDiagnostics(program)) {
    if (d.code === 2353 || d.code === 2561) {
      continue;
    }
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n").split("\n").pop().trim();
    if (d.file && path.resolve(d.file.fileName) === fileName && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      const owner = owners[line];
      const at = lines[line].trim().replace(/[,{[]$/, "");
      errors.push(`${owner ? label(owner) : "import"}: types: ${message} (at ${at})`);
    } else {
      errors.push(`typescript: ${message}`);
    }
  }
}

async function main() {
  const errors = [];
  let objects;
  try {
    objects = parseObjects(readInputs(process.argv.slice(2)), errors);
  } catch (e) {
    console.error(`validate: ${e.message}`);
    process.exit(2);
  }
  if (objects.length === 0 && errors.length === 0) {
    console.error("validate: no Kubernetes objects in the input");
    process.exit(2);
  }
  const typed = await schemaCheck(objects, errors);
  strictCheck(typed, errors);
  for (const e of errors) {
    console.log(`INVALID ${e}`);
  }
  console.log(`${objects.length} objects checked, ${errors.length} errors `
      + `(kubernetes-models ${version("kubernetes-models")}, typescript ${ts.version})`);
  process.exit(errors.length === 0 ? 0 : 1);
}

function version(pkg) {
  try {
    return JSON.parse(readFileSync(path.join(here, "node_modules", pkg, "package.json"), "utf8")).version;
  } catch (e) {
    return "?";
  }
}

await main();
