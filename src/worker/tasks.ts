// The task list: every file in jobs/ is a task whose identifier is its file name and whose
// default export builds the task from the shared dependencies.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Task, TaskList } from 'graphile-worker';
import type { IngestDeps } from '../ingest/pipeline.ts';

const JOBS_DIR = fileURLToPath(new URL('../../jobs/', import.meta.url));

export type JobDeps = IngestDeps;

export async function loadTaskList(deps: JobDeps): Promise<TaskList> {
  const taskList: TaskList = {};
  for (const file of fs.readdirSync(JOBS_DIR).filter((f) => f.endsWith('.ts')).sort()) {
    const module = (await import(path.join(JOBS_DIR, file))) as { default: (deps: JobDeps) => Task };
    taskList[path.basename(file, '.ts')] = module.default(deps);
  }
  return taskList;
}
