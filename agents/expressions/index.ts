/** Templates and conditions: parsed with jsep, evaluated by walking the AST (never eval). */
export {
  parseExpression,
  parseTemplate,
  parseCondition,
  hasHoles,
  rootNames,
  templateRootNames,
  FILTERS,
  type Expression,
  type Template,
  type Filter,
} from "./parse.js";
export { evaluateExpression, renderTemplate, objectScope, MISSING, type Scope } from "./evaluate.js";
