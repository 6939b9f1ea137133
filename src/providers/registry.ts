// Which models this deployment can run, by name. A tenant picks its chat and embedding model
// from these (null → the deployment's default); ingestion, retrieval and answers ask the
// registry for the tenant's model instead of using one process-wide instance. Instances are
// created on first use and reused (a Gemini client per model name; the local models are
// process-wide anyway).
import type { ChatModel } from './chat-model.ts';
import type { Embedder } from './embedder.ts';
import { createExtractiveChatModel } from './extractive-chat.ts';
import { createGeminiChatModel } from './gemini-chat.ts';
import { createGeminiEmbedder } from './gemini-embedder.ts';
import { createLocalEmbedder } from './local-embedder.ts';

export type ModelProvider = 'local' | 'gemini';

/** Models the code knows how to run. Gemini names change over time: keep this list current. */
export const KNOWN_EMBEDDING_MODELS: Readonly<Record<string, ModelProvider>> = {
  'local/use-lite': 'local',
  'gemini-embedding-001': 'gemini',
};
export const KNOWN_CHAT_MODELS: Readonly<Record<string, ModelProvider>> = {
  'local/extractive': 'local',
  'gemini-flash-latest': 'gemini',
  'gemini-flash-lite-latest': 'gemini',
  'gemini-pro-latest': 'gemini',
  'gemini-2.5-flash': 'gemini',
  'gemini-2.5-flash-lite': 'gemini',
  'gemini-2.5-pro': 'gemini',
};

/** Why a model name cannot be used here: unknown, or a Gemini model without GEMINI_API_KEY. */
export type Unavailable = 'UNKNOWN_MODEL' | 'GEMINI_NOT_CONFIGURED';

export class ModelUnavailableError extends Error {
  readonly reason: Unavailable;
  constructor(kind: string, name: string, reason: Unavailable) {
    super(
      reason === 'UNKNOWN_MODEL'
        ? `${kind} model "${name}" is not known to this server`
        : `${kind} model "${name}" needs Gemini, and this server has no GEMINI_API_KEY`,
    );
    this.name = 'ModelUnavailableError';
    this.reason = reason;
  }
}

export interface ModelRegistry<T> {
  /** The model of tenants that chose none. */
  readonly defaultModel: string;
  /** Names a tenant may choose on this deployment. */
  available(): string[];
  /** null when usable, else why not. */
  check(name: string): Unavailable | null;
  /** The instance for a usable name; throws ModelUnavailableError otherwise. */
  get(name: string): T;
}

function createRegistry<T extends { model: string }>(
  kind: string,
  known: Record<string, ModelProvider>,
  geminiConfigured: boolean,
  create: (name: string, provider: ModelProvider) => T,
  defaultName: string,
  given: T | undefined,
): ModelRegistry<T> {
  const instances = new Map<string, T>();
  // An instance handed in (tests, benchmarks) is usable under its own name and is the default.
  if (given) instances.set(given.model, given);
  const check = (name: string): Unavailable | null => {
    if (instances.has(name)) return null;
    const provider = known[name];
    if (!provider) return 'UNKNOWN_MODEL';
    if (provider === 'gemini' && !geminiConfigured) return 'GEMINI_NOT_CONFIGURED';
    return null;
  };
  return {
    defaultModel: given?.model ?? defaultName,
    available: () =>
      [...new Set([...instances.keys(), ...Object.keys(known)])].filter((name) => check(name) === null).sort(),
    check,
    get(name) {
      const existing = instances.get(name);
      if (existing) return existing;
      const problem = check(name);
      if (problem) throw new ModelUnavailableError(kind, name, problem);
      const created = create(name, known[name]!);
      instances.set(name, created);
      return created;
    },
  };
}

export interface RegistryOptions {
  geminiApiKey?: string | undefined;
  geminiBaseUrl?: string | undefined;
  /** The default when Gemini is configured. */
  geminiEmbeddingModel?: string | undefined;
  geminiChatModel?: string | undefined;
  /** Instances that replace the defaults (tests, benchmarks). */
  embedder?: Embedder | undefined;
  chatModel?: ChatModel | undefined;
}

export interface Models {
  embedders: ModelRegistry<Embedder>;
  chatModels: ModelRegistry<ChatModel>;
}

export function createModels(options: RegistryOptions): Models {
  const apiKey = options.geminiApiKey;
  const gemini = Boolean(apiKey);
  const geminiEmbedding = options.geminiEmbeddingModel ?? 'gemini-embedding-001';
  const geminiChat = options.geminiChatModel ?? 'gemini-flash-latest';
  // A configured Gemini model name is runnable even if this list does not know it yet.
  const embeddingNames = { ...KNOWN_EMBEDDING_MODELS, [geminiEmbedding]: 'gemini' as const };
  const chatNames = { ...KNOWN_CHAT_MODELS, [geminiChat]: 'gemini' as const };
  return {
    embedders: createRegistry<Embedder>(
      'Embedding',
      embeddingNames,
      gemini,
      (name, provider) =>
        provider === 'local' ? createLocalEmbedder() : createGeminiEmbedder({ apiKey: apiKey!, baseUrl: options.geminiBaseUrl, model: name }),
      gemini ? geminiEmbedding : 'local/use-lite',
      options.embedder,
    ),
    chatModels: createRegistry<ChatModel>(
      'Chat',
      chatNames,
      gemini,
      (name, provider) =>
        provider === 'local'
          ? createExtractiveChatModel()
          : createGeminiChatModel({ apiKey: apiKey!, baseUrl: options.geminiBaseUrl, model: name }),
      gemini ? geminiChat : 'local/extractive',
      options.chatModel,
    ),
  };
}

/** A registry of exactly one embedder (benchmarks that drive the pipeline directly). */
export function singleEmbedder(embedder: Embedder): ModelRegistry<Embedder> {
  return createRegistry('Embedding', {}, false, () => embedder, embedder.model, embedder);
}

/** A tenant's own choices; null → the deployment's default. */
export interface TenantChoices {
  chatModel: string | null;
  embeddingModel: string | null;
  ftsConfig: string | null;
}

export interface EffectiveChoices {
  chatModel: string;
  embeddingModel: string;
  /** PostgreSQL text-search configuration of the tenant's chunks. */
  ftsConfig: string;
}

export function effectiveChoices(tenant: TenantChoices, models: Models, defaultFtsConfig: string): EffectiveChoices {
  return {
    chatModel: tenant.chatModel ?? models.chatModels.defaultModel,
    embeddingModel: tenant.embeddingModel ?? models.embedders.defaultModel,
    ftsConfig: tenant.ftsConfig ?? defaultFtsConfig,
  };
}
