/**
 * Temporary models folders as an operator would have them: every shipped model, plus copies of
 * a model folder with an edited card (another version, another deployment state, a team's new
 * model). Cards are copied and weights linked, so a folder costs kilobytes whatever the graphs weigh.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../config.ts';

export const shippedModels = path.join(repoRoot, 'models');

/** A folder to add: the card and weights of `from` (a model folder) under the name `folder`, the card edited. */
export interface ModelCopy {
  from: string;
  folder: string;
  edit?: (card: Record<string, any>) => void;
}

const cardFile = (dir: string) => path.join(dir, 'model.json');

/** Reads a folder's card, lets `edit` change it, writes it back (e.g. a state change before a restart). */
export function editCard(dir: string, edit: (card: Record<string, any>) => void): void {
  const card = JSON.parse(fs.readFileSync(cardFile(dir), 'utf8'));
  edit(card);
  fs.writeFileSync(cardFile(dir), JSON.stringify(card, null, 2));
}

function copyModel(from: string, to: string, edit?: (card: Record<string, any>) => void): void {
  fs.mkdirSync(to);
  fs.copyFileSync(cardFile(from), cardFile(to));
  const weights: string | undefined = JSON.parse(fs.readFileSync(cardFile(from), 'utf8')).weights?.file;
  if (weights) fs.symlinkSync(path.join(from, weights), path.join(to, weights));
  if (edit) editCard(to, edit);
}

/** A new temporary folder with every shipped model and the copies (a copy named as a shipped folder takes its place); the caller removes it. */
export function shippedModelsWith(copies: ModelCopy[] = []): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-models-'));
  const replaced = new Set(copies.map((copy) => copy.folder));
  for (const entry of fs.readdirSync(shippedModels, { withFileTypes: true })) {
    const dir = path.join(shippedModels, entry.name);
    if (entry.isDirectory() && !replaced.has(entry.name) && fs.existsSync(cardFile(dir))) copyModel(dir, path.join(root, entry.name));
  }
  for (const { from, folder, edit } of copies) copyModel(from, path.join(root, folder), edit);
  return root;
}
