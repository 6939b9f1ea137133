// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_CPU_PROF=<dir> npm run bench:graphql):
// self time by package/file and by function, and inclusive ("total") time by function.
//   node bench/cpuprofile-top.ts <file.cpuprofile> [rows=25] [filter-substring]
// With a filter, inclusive times count only samples whose stack contains a frame matching it.
import fs from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, rowsArg, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpuprofile-top.ts <file.cpuprofile> [rows] [filter]');
  process.exit(1);
}
const rows = Number(rowsArg ?? 25);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

/** node_modules/<package>, src/<file>, node:<internal>, or the V8 pseudo-frame. */
function place(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return `(${frame.functionName || 'native'})`;
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  const local = /\/work\/[^/]+\/(.+)$/.exec(url) ?? /\/((?:src|bench|tests|jobs)\/.+)$/.exec(url);
  if (local) return local[1]!;
  if (url.startsWith('node:')) return url;
  return url;
}
const functionKey = (frame: CallFrame) =>
  `${frame.functionName || '(anonymous)'}  ${place(frame)}:${frame.lineNumber + 1}`;

const selfByPlace = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const totalByFunction = new Map<string, number>();
let total = 0;
let filtered = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const delta = profile.timeDeltas[i] ?? 0;
  const leaf = byId.get(profile.samples[i]!)!;
  total += delta;
  const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + delta);
  add(selfByPlace, place(leaf.callFrame));
  add(selfByFunction, functionKey(leaf.callFrame));
  const stack: CallFrame[] = [];
  for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) stack.push(byId.get(id)!.callFrame);
  if (filter && !stack.some((f) => functionKey(f).includes(filter))) continue;
  filtered += delta;
  for (const key of new Set(stack.map(functionKey))) add(totalByFunction, key);
}

const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%`;
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${ms(us)}  ${key}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
print('self time by package / file', selfByPlace);
print('self time by function', selfByFunction);
print(`total (inclusive) time by function${filter ? ` in stacks containing "${filter}" (${ms(filtered)})` : ''}`, totalByFunction);
