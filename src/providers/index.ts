// Chooses the providers from configuration: Gemini when an API key is set, else the embedded models.
import type { ChatModel } from './chat-model.ts';
import type { Embedder } from './embedder.ts';
import { createExtractiveChatModel } from './extractive-chat.ts';
import { createGeminiChatModel } from './gemini-chat.ts';
import { createGeminiEmbedder } from './gemini-embedder.ts';
import { createLocalEmbedder } from './local-embedder.ts';

export { ChatModelError, type ChatEvent, type ChatModel, type ChatRequest, type ChatTurn, type Source } from './chat-model.ts';
export { EMBEDDING_COLUMN_DIMENSIONS, EmbedderError, toStoredVector, type Embedder } from './embedder.ts';

export function createEmbedder(options: {
  geminiApiKey?: string;
  geminiBaseUrl?: string;
  geminiEmbeddingModel?: string;
}): Embedder {
  if (!options.geminiApiKey) return createLocalEmbedder();
  return createGeminiEmbedder({
    apiKey: options.geminiApiKey,
    baseUrl: options.geminiBaseUrl,
    model: options.geminiEmbeddingModel,
  });
}

export function createChatModel(options: { geminiApiKey?: string; geminiBaseUrl?: string; geminiChatModel?: string }): ChatModel {
  if (!options.geminiApiKey) return createExtractiveChatModel();
  return createGeminiChatModel({ apiKey: options.geminiApiKey, baseUrl: options.geminiBaseUrl, model: options.geminiChatModel });
}
