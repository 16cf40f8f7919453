import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { MODEL_EXTENSIONS } from './registry';

/**
 * The models a user means by a list of paths: files as given, folders expanded to the model files and
 * diffusers folders directly inside them, sorted by name (the notebook's matrix order).
 */
export async function findModels(inputs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    let st;
    try {
      st = await stat(input);
    } catch {
      out.push(input); // reported as an error with its reason when opened
      continue;
    }
    if (!st.isDirectory() || isDiffusersFolder(input)) {
      out.push(input);
      continue;
    }
    let names: string[];
    try {
      names = (await readdir(input)).sort();
    } catch {
      out.push(input); // an unreadable folder: listed among the errors with its reason when opened, the rest go on
      continue;
    }
    for (const name of names) {
      const p = join(input, name);
      if (MODEL_EXTENSIONS.includes(extname(name).toLowerCase())) out.push(p);
      else if (isDiffusersFolder(p)) out.push(p);
    }
  }
  return [...new Set(out)];
}

export function isDiffusersFolder(path: string): boolean {
  return existsSync(join(path, 'model_index.json'));
}
