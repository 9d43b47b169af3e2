/**
 * Reading what the user dropped or picked (File API only: the renderer never sees a path). A dropped
 * folder is read one level deep; only the files a TensorFlow.js layers model consists of (.json
 * and .bin) travel to the host, as base64.
 */

export interface DroppedFile {
  name: string;
  base64: string;
}

/** Files that can belong to a model: model.json / manifest.json / any .json, weight shards (.bin). */
export function isModelFile(name: string): boolean {
  return !name.startsWith('.') && /\.(json|bin)$/i.test(name);
}

/** Base64 of a file's bytes (in chunks: String.fromCharCode cannot take millions of arguments). */
export async function readAsBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const CHUNK = 0x8000;
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  return btoa(binary);
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** All entries of a directory (readEntries answers in batches). */
async function directoryFiles(dir: FileSystemDirectoryEntry): Promise<File[]> {
  const reader = dir.createReader();
  const files: File[] = [];
  for (;;) {
    const batch = await readEntries(reader);
    if (!batch.length) return files;
    for (const entry of batch) if (entry.isFile) files.push(await entryFile(entry as FileSystemFileEntry));
  }
}

/**
 * The files of a drop: dropped files as they are, a dropped folder's files (one level). Falls back
 * to `dataTransfer.files` where entries are unavailable (synthetic drops, older engines).
 */
export async function filesFromDataTransfer(dt: DataTransfer): Promise<File[]> {
  const items = Array.from(dt.items ?? []).filter((item) => item.kind === 'file');
  const entries = items.map((item) => (typeof item.webkitGetAsEntry === 'function' ? item.webkitGetAsEntry() : null));
  if (entries.length && entries.every((e) => e !== null)) {
    const files: File[] = [];
    for (const entry of entries as FileSystemEntry[]) {
      if (entry.isDirectory) files.push(...(await directoryFiles(entry as FileSystemDirectoryEntry)));
      else files.push(await entryFile(entry as FileSystemFileEntry));
    }
    return files;
  }
  return Array.from(dt.files ?? []);
}

/** What is sent to importTeacher, and what was left out (other file types). */
export async function toDroppedFiles(files: readonly File[]): Promise<{ files: DroppedFile[]; skipped: string[] }> {
  const kept = files.filter((f) => isModelFile(f.name));
  const skipped = files.filter((f) => !isModelFile(f.name)).map((f) => f.name);
  return { files: await Promise.all(kept.map(async (f) => ({ name: f.name, base64: await readAsBase64(f) }))), skipped };
}
