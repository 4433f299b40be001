/**
 * Chat templates: an instruction-tuned checkpoint's `chat_template` (tokenizer_config.json), a
 * Jinja program rendered with @huggingface/jinja exactly as transformers'
 * `apply_chat_template` renders it (messages, bos_token, eos_token, add_generation_prompt).
 *
 * UDPL does not send whole conversations: it forces zone texts and lets the model generate in
 * between. So besides `render`, `roleMarkers()` reads off the template the fixed strings it
 * puts around a message — the conversation's start (BOS, a default system turn), the opening
 * of a user or assistant turn and the close of any turn — by rendering sentinel messages and
 * cutting the output at them. LZCP wraps each zone in those markers (`[config] chat_roles`,
 * docs/language.md). A template whose turns are not "close + open" around the content (one that
 * rewrites the content, or closes a user turn differently from an assistant turn) is refused
 * with a TokenizerError naming the file, rather than wrapped wrongly.
 */
import { Template } from "@huggingface/jinja";
import { TokenizerError } from "./errors.js";
import type { TokenizerConfigJson } from "./tokenizer-json.js";
import type { ForgeTokenizer } from "./types.js";

/** Longest chat_template accepted (the largest common ones, Llama 3.x with tools, are ≈ 5 KB). */
export const MAX_CHAT_TEMPLATE_CHARS = 256 * 1024;
/** Longest rendered output accepted (a template could loop); far above any role marker. */
export const MAX_RENDERED_CHARS = 1024 * 1024;

/** The roles a zone may take (the ones every chat template renders the same way). */
export const CHAT_ROLES = ["user", "assistant"] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export interface ChatMessage {
  role: string;
  content: string;
}

/** The fixed strings a template puts around turns (roleMarkers). */
export interface ChatRoleMarkers {
  /** Before the first turn's opening: BOS, a default system turn, a date header. */
  start: string;
  /** Opening of a turn, by role: e.g. "<|im_start|>user\n". */
  open: Record<ChatRole, string>;
  /** After a turn's content: e.g. "<|im_end|>\n", "<|eot_id|>". */
  close: string;
}

export interface RenderOptions {
  addGenerationPrompt?: boolean;
  /** Further template variables (e.g. date_string). */
  extra?: Record<string, unknown>;
}

export class ChatTemplate {
  private readonly template: Template;
  private markers: ChatRoleMarkers | undefined;

  /**
   * @param source the Jinja text; @param file how errors name its origin
   * (".../tokenizer_config.json"); bos/eos: the special tokens' text.
   */
  constructor(
    readonly source: string,
    readonly file: string,
    readonly bosToken: string,
    readonly eosToken: string,
  ) {
    if (source.length > MAX_CHAT_TEMPLATE_CHARS)
      throw new TokenizerError(file, `chat_template is ${source.length} characters; at most ${MAX_CHAT_TEMPLATE_CHARS} are accepted`, "chat_template");
    try {
      this.template = new Template(source);
    } catch (error) {
      throw new TokenizerError(file, `chat_template is not a template @huggingface/jinja can parse: ${(error as Error).message}`, "chat_template");
    }
  }

  /** The conversation as the model was trained to read it (transformers' apply_chat_template, tokenize=False). */
  render(messages: readonly ChatMessage[], options: RenderOptions = {}): string {
    let out: string;
    try {
      out = this.template.render({
        ...options.extra,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        bos_token: this.bosToken,
        eos_token: this.eosToken,
        add_generation_prompt: options.addGenerationPrompt ?? false,
      });
    } catch (error) {
      throw new TokenizerError(this.file, `chat_template failed to render: ${(error as Error).message}`, "chat_template");
    }
    if (out.length > MAX_RENDERED_CHARS)
      throw new TokenizerError(this.file, `chat_template rendered ${out.length} characters (at most ${MAX_RENDERED_CHARS})`, "chat_template");
    return out;
  }

  /** The start, per-role openings and the close of a turn (see the file comment); computed once. */
  roleMarkers(): ChatRoleMarkers {
    this.markers ??= deriveMarkers(this);
    return this.markers;
  }
}

// Private-use code points: no template trims, escapes or matches them.
const S = (label: string) => `\uE000${label}\uE001`;

function deriveMarkers(t: ChatTemplate): ChatRoleMarkers {
  const u1 = S("u1"), a1 = S("a1"), u2 = S("u2"), a2 = S("a2");
  const refuse = (why: string): never => {
    throw new TokenizerError(t.file, `chat_template cannot wrap UDPL zones: ${why}`, "chat_template");
  };
  const conversation = t.render([
    { role: "user", content: u1 },
    { role: "assistant", content: a1 },
    { role: "user", content: u2 },
    { role: "assistant", content: a2 },
  ]);
  const cut: string[] = [];
  let from = 0;
  for (const s of [u1, a1, u2, a2]) {
    const at = conversation.indexOf(s, from);
    if (at < 0 || conversation.indexOf(s, at + s.length) >= 0) refuse("a message's content does not appear exactly once, unchanged, in the rendered conversation");
    cut.push(conversation.slice(from, at));
    from = at + s.length;
  }
  cut.push(conversation.slice(from));
  const [beforeU1, u1ToA1, a1ToU2, u2ToA2, afterA2] = cut as [string, string, string, string, string];
  if (u1ToA1 !== u2ToA2) refuse("the first and second user → assistant transitions differ");
  // The close is what follows the last turn — unless the template always appends a generation
  // prompt (Meta-Llama-3-Instruct's does); then it is the common head of the two transitions.
  // Either way close + open(role) is exactly the text between two turns, which is what LZCP uses.
  const close = u1ToA1.startsWith(afterA2) && a1ToU2.startsWith(afterA2) ? afterA2 : commonPrefix(u1ToA1, a1ToU2);
  if (close === "") refuse("a user turn and an assistant turn share no closing text");
  const open: Record<ChatRole, string> = { user: a1ToU2.slice(close.length), assistant: u1ToA1.slice(close.length) };
  if (!beforeU1.endsWith(open.user)) refuse("the first user turn does not open as later ones do");
  // The generation prompt must be the assistant opening, or a generated answer would start elsewhere.
  const prompt = t.render([{ role: "user", content: u1 }], { addGenerationPrompt: true });
  const promptTail = prompt.slice(prompt.indexOf(u1) + u1.length);
  if (promptTail !== close + open.assistant) refuse("add_generation_prompt does not open an assistant turn as a conversation does");
  return { start: beforeU1.slice(0, beforeU1.length - open.user.length), open, close };
}

function commonPrefix(a: string, b: string): string {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return a.slice(0, n);
}

/** Text of a special-token field (a string, or an AddedToken object with `content`). */
function tokenText(field: unknown): string {
  if (typeof field === "string") return field;
  if (typeof field === "object" && field !== null && typeof (field as { content?: unknown }).content === "string") return (field as { content: string }).content;
  return "";
}

/**
 * The chat template of a tokenizer_config.json: `chat_template` as a string, or a list of
 * `{ name, template }` (the one named `name`, default "default"). Null when there is none.
 */
export function chatTemplateFromConfig(config: TokenizerConfigJson, file: string, name = "default"): ChatTemplate | null {
  const raw = config["chat_template"];
  if (raw === undefined || raw === null) return null;
  let source: string;
  if (typeof raw === "string") source = raw;
  else if (Array.isArray(raw)) {
    const names: string[] = [];
    let found: string | undefined;
    raw.forEach((entry, i) => {
      const e = entry as { name?: unknown; template?: unknown };
      if (typeof entry !== "object" || entry === null || typeof e.name !== "string" || typeof e.template !== "string")
        throw new TokenizerError(file, "expected { name: string, template: string }", `chat_template[${i}]`);
      names.push(e.name);
      if (e.name === name) found = e.template;
    });
    if (found === undefined) throw new TokenizerError(file, `no template named ${JSON.stringify(name)} (the file has ${JSON.stringify(names)})`, "chat_template");
    source = found;
  } else throw new TokenizerError(file, `expected a string or a list of { name, template }, got ${typeof raw}`, "chat_template");
  return new ChatTemplate(source, file, tokenText(config.bos_token), tokenText(config.eos_token));
}

/**
 * The chat template of a loaded tokenizer (an HfTokenizer from a model folder carries its
 * tokenizer_config.json), or null when it has none.
 */
export function chatTemplateOf(tokenizer: ForgeTokenizer, name = "default"): ChatTemplate | null {
  const t = tokenizer as ForgeTokenizer & { config?: TokenizerConfigJson; options?: { configFile?: string } };
  const cached = templates.get(tokenizer);
  if (cached !== undefined && name === "default") return cached;
  if (t.config === undefined) return null;
  // HfTokenizer keeps the path it read the config from in its options (loadTokenizer).
  const file = t.options?.configFile ?? "tokenizer_config.json";
  const template = chatTemplateFromConfig(t.config, file, name);
  if (name === "default") templates.set(tokenizer, template);
  return template;
}

const templates = new WeakMap<ForgeTokenizer, ChatTemplate | null>();
