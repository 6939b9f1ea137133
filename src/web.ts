// The demo page (web/): a small reference client of the API, served by the API server at `/`.
//   /         web/index.html
//   /app.css  web/styles.css
//   /app.js   web/main.ts and its imports, bundled by esbuild in memory on first request
// Every other request goes to `next` (Yoga: /graphql, GraphiQL, SSE, 404s).
//
// No build step: `npm start` serves a working page. The bundle is rebuilt when a file it was
// built from has changed since (edit web/*.ts, reload the browser). esbuild is a devDependency:
// an install without dev dependencies answers /app.js with 503 and the API works as before.
import fs from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from './logger.ts';

const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

const HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  // The page loads only its own script and styles and talks only to its own origin (HTTP and WebSocket).
  'content-security-policy': "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
};

/** The page cannot be built on this install (503, not a server error). */
class WebPageUnavailable extends Error {}

interface Asset {
  type: string;
  body: () => Promise<string | Uint8Array>;
}

interface Bundle {
  code: Uint8Array;
  inputs: string[];
  builtAt: number;
}

/** Builds web/main.ts into one ES module; the result remembers which files it came from. */
async function buildBundle(webDir: string): Promise<Bundle> {
  const builtAt = Date.now();
  const esbuild = await import('esbuild').catch(() => {
    throw new WebPageUnavailable('The demo page needs esbuild (a devDependency): run `npm install`.');
  });
  const result = await esbuild.build({
    entryPoints: [path.join(webDir, 'main.ts')],
    absWorkingDir: webDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // Readable output with the TypeScript sources inline: this page is meant to be read.
    sourcemap: 'inline',
    write: false,
    outfile: 'app.js',
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.contents;
  if (!code) throw new Error('esbuild produced no output');
  return { code, inputs: Object.keys(result.metafile.inputs).map((input) => path.resolve(webDir, input)), builtAt };
}

async function changedSince(bundle: Bundle): Promise<boolean> {
  const stats = await Promise.all(bundle.inputs.map((input) => fs.stat(input).catch(() => null)));
  return stats.some((stat) => !stat || stat.mtimeMs > bundle.builtAt);
}

/** Wraps the API's request listener so that the page and its assets are answered first. */
export function withDemoPage(next: http.RequestListener, logger: Logger, webDir = WEB_DIR): http.RequestListener {
  let bundle: Promise<Bundle> | null = null;

  async function currentBundle(): Promise<Bundle> {
    if (bundle) {
      const built = await bundle.catch(() => null);
      if (built && !(await changedSince(built))) return built;
    }
    const started = Date.now();
    bundle = buildBundle(webDir);
    const built = await bundle;
    logger.info({ ms: Date.now() - started, bytes: built.code.byteLength }, 'demo page bundled');
    return built;
  }

  const assets: Record<string, Asset> = {
    '/': { type: 'text/html; charset=utf-8', body: () => fs.readFile(path.join(webDir, 'index.html'), 'utf8') },
    '/app.css': { type: 'text/css; charset=utf-8', body: () => fs.readFile(path.join(webDir, 'styles.css'), 'utf8') },
    '/app.js': { type: 'text/javascript; charset=utf-8', body: async () => (await currentBundle()).code },
  };

  async function serve(asset: Asset, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const body = await asset.body();
      res.writeHead(200, { ...HEADERS, 'content-type': asset.type, 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      const unavailable = error instanceof WebPageUnavailable;
      if (!unavailable) logger.error({ err: error, path: req.url }, 'demo page: cannot serve');
      res.writeHead(unavailable ? 503 : 500, { ...HEADERS, 'content-type': 'text/plain; charset=utf-8' });
      res.end(unavailable ? error.message : `The demo page could not be served: ${(error as Error).message}`);
    }
  }

  return (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    const asset = assets[pathname === '/index.html' ? '/' : pathname];
    if (asset && (req.method === 'GET' || req.method === 'HEAD')) void serve(asset, req, res);
    else next(req, res);
  };
}
