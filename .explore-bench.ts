import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PDFParse } from 'pdf-parse';
import { extractPages } from './src/ingest/extract.ts';
import { cleanText } from './src/ingest/clean.ts';
import { chunkPages } from './src/ingest/chunk.ts';
const pdfjsDir = dirname(createRequire(createRequire(import.meta.url).resolve('pdf-parse')).resolve('pdfjs-dist/package.json'));
const res = { cMapUrl: `${join(pdfjsDir, 'cmaps')}/`, cMapPacked: true, standardFontDataUrl: `${join(pdfjsDir, 'standard_fonts')}/` };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ROUNDS = 7;
for (const f of process.argv.slice(2)) {
  const bytes = new Uint8Array(readFileSync('/work/shared/datasets/pdfs/' + f));
  const t = { raw: [] as number[], rawCmap: [] as number[], extract: [] as number[], clean: [] as number[], chunk: [] as number[] };
  let pages = 0, chunks = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let s = performance.now();
    let p = new PDFParse({ data: new Uint8Array(bytes) }); await p.getText(); await p.destroy();
    t.raw.push(performance.now() - s);
    s = performance.now();
    p = new PDFParse({ data: new Uint8Array(bytes), ...res }); await p.getText(); await p.destroy();
    t.rawCmap.push(performance.now() - s);
    s = performance.now();
    const ex = await extractPages(bytes, 'application/pdf');
    t.extract.push(performance.now() - s);
    s = performance.now();
    const cleaned = ex.pages.map((pg) => ({ pageNumber: pg.pageNumber, text: cleanText(pg.text) }));
    t.clean.push(performance.now() - s);
    s = performance.now();
    chunks = chunkPages(cleaned).length;
    t.chunk.push(performance.now() - s);
    pages = ex.pageCount;
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(median(v))]));
  const pipeline = m.extract + m.clean + m.chunk;
  console.log(JSON.stringify({ file: f, pages, chunks, medianMs: m, pipelineMs: pipeline,
    pagesPerSec: { raw: +(pages / m.raw * 1000).toFixed(1), pipeline: +(pages / pipeline * 1000).toFixed(1) },
    ratioPipelineVsRaw: +(m.raw / pipeline).toFixed(3), ratioPipelineVsRawWithCmaps: +(m.rawCmap / pipeline).toFixed(3) }));
}
