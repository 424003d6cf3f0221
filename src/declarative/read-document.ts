import { assertNever } from "../assert-never.ts";
import { FieldReader } from "./document-fields.ts";
import { type DesiredState, SECTIONS } from "./gateway-state.ts";
import { DocumentInvalidError, type Problem } from "./problems.ts";
import { readBackends } from "./read-backends.ts";
import { readLimits } from "./read-limits.ts";
import { type RoleReference, readBindings, readRoles } from "./read-roles.ts";
import { parseYamlSource } from "./yaml-source.ts";

/** The versions of the document format this build reads. */
export const DOCUMENT_VERSION = 1;
const TOP_FIELDS = ["version", ...SECTIONS] as const;

/** A document that passed every check that needs only the document itself. */
export interface DeclarativeDocument {
  /** The file name as given, for messages. */
  file: string;
  desired: DesiredState;
  /** Where each binding names its role: checked against the roles the apply leaves (see checkReferences). */
  roleReferences: RoleReference[];
  /** An error listing these problems at their lines in the file. */
  invalid(problems: Problem[]): DocumentInvalidError;
}

/**
 * Reads and checks a declarative document: YAML syntax, then every field with the validators the
 * CLI commands use. Throws one DocumentInvalidError listing every problem (at its line) when any.
 */
export function readDocument(text: string, file: string, now: number = Date.now()): DeclarativeDocument {
  const source = parseYamlSource(text);
  const invalid = (problems: Problem[]) =>
    new DocumentInvalidError(
      file,
      problems.map((problem) => (problem.position || !problem.path ? problem : { ...problem, ...positionOf(source.locate(problem.path, problem.at)) })),
    );
  if (source.syntaxProblems.length > 0) throw invalid(source.syntaxProblems);

  const reader = new FieldReader();
  if (source.value === undefined || source.value === null) {
    throw invalid([
      {
        path: [],
        message: "the document is empty",
        hint: `start it with version: ${DOCUMENT_VERSION} and the sections to manage (roles, bindings, backends, limits); mcpgw export prints a complete one`,
      },
    ]);
  }
  const top = reader.map(source.value, [], "the document", TOP_FIELDS);
  if (!top) throw invalid(reader.problems);
  if (top.version === undefined) reader.report([], "version is missing", `start the document with version: ${DOCUMENT_VERSION}`);
  else if (top.version !== DOCUMENT_VERSION)
    reader.report(
      ["version"],
      `version ${JSON.stringify(top.version)} is not one this mcpgw reads`,
      `this mcpgw reads version: ${DOCUMENT_VERSION}; a newer mcpgw may read this file`,
    );
  if (!SECTIONS.some((section) => section in top)) {
    reader.report(
      [],
      "the document has no section to apply",
      "add one or more of roles:, bindings:, backends:, limits: (each present section is made to match exactly; absent ones are left alone)",
    );
  }

  const desired: DesiredState = {};
  let roleReferences: RoleReference[] = [];
  for (const section of SECTIONS) {
    if (!(section in top)) continue;
    if (top[section] === null) {
      reader.report(
        [section],
        `${section} is empty`,
        `write ${section}: [] to delete every one of them, or remove the ${section} key to leave them as they are`,
        "key",
      );
      continue;
    }
    const items = reader.list(top[section], [section], section);
    if (!items) continue;
    switch (section) {
      case "roles":
        desired.roles = readRoles(reader, items);
        break;
      case "bindings":
        ({ bindings: desired.bindings, references: roleReferences } = readBindings(reader, items));
        break;
      case "backends":
        desired.backends = readBackends(reader, items, now);
        break;
      case "limits":
        desired.limits = readLimits(reader, items);
        break;
      default:
        assertNever(section);
    }
  }
  if (reader.problems.length > 0) throw invalid(reader.problems);
  return { file, desired, roleReferences, invalid };
}

function positionOf(position: Problem["position"]): Pick<Problem, "position"> {
  return position ? { position } : {};
}
